/**
 * WebSocket frames (DESIGN.md section 3, the public contract). Every frame is one JSON object with
 * a `type`. This module holds the schemas and builders; it grows with the protocol (subscribe,
 * data, reset, ...), so far it has what the `$default` route needs.
 */
import { z } from 'zod';
import { AppError } from '../errors';

/** API Gateway's WebSocket frame limit; bigger messages are rejected with an error frame. */
export const MAX_FRAME_BYTES = 32 * 1024;

/** Longest client-chosen string (subscription id, unknown type) we echo back in a frame. */
export const MAX_ECHO_LENGTH = 64;

export const FRAME_ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'unknown_type',
  'too_many_subscriptions',
  'rate_limited',
  'internal',
] as const;

export type FrameErrorCode = (typeof FRAME_ERROR_CODES)[number];

export const errorFrameSchema = z.strictObject({
  type: z.literal('error'),
  /** The client's subscription id, when the error concerns one. */
  id: z.string().optional(),
  code: z.enum(FRAME_ERROR_CODES),
  message: z.string(),
});

export type ErrorFrame = z.infer<typeof errorFrameSchema>;

/** Every frame the server sends; a discriminated union on `type` as the protocol grows. */
export const serverFrameSchema = z.discriminatedUnion('type', [errorFrameSchema]);

export type ServerFrame = z.infer<typeof serverFrameSchema>;

/**
 * What every client frame has in common. Only `type` is required here; each route validates the
 * rest of its own frame. Extra fields are allowed because this schema only routes.
 */
export const clientFrameEnvelopeSchema = z.looseObject({
  type: z.string().min(1),
  id: z.unknown().optional(),
});

export type ClientFrameEnvelope = z.infer<typeof clientFrameEnvelopeSchema>;

export function errorFrame(code: FrameErrorCode, message: string, id?: string): ErrorFrame {
  return id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message };
}

export function serializeFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/**
 * Maps anything thrown while handling a frame to an error frame: the frame-side twin of
 * `toErrorResponse`. Codes without a frame equivalent become `bad_request`; unknown errors become
 * `internal` with a generic message, never their own.
 */
export function toErrorFrame(error: unknown, id?: string): ErrorFrame {
  if (!(error instanceof AppError)) {
    return errorFrame('internal', 'Internal server error', id);
  }
  const code = (FRAME_ERROR_CODES as readonly string[]).includes(error.code)
    ? (error.code as FrameErrorCode)
    : 'bad_request';
  return errorFrame(code, error.message, id);
}

/** Clips a client-chosen string before echoing it, so a frame cannot make us send it back whole. */
export function clip(value: string, max = MAX_ECHO_LENGTH): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
