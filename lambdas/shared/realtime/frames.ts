/**
 * WebSocket frames (DESIGN.md section 3, the public contract; docs/protocol.md). Every frame is one
 * JSON object with a `type`. This module holds the schemas of both directions, the builders of
 * server frames, and `parseClientFrame`, the one way a route turns a frame into typed input.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { describeIssues } from '../validation';
import { eventIdOf, topicSchema } from './topics';

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

/** A client's name for one subscription on its connection; data frames carry it back. */
export const subscriptionIdSchema = z
  .string()
  .min(1)
  .max(MAX_ECHO_LENGTH)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'Use letters, digits, "_", ".", ":" or "-"');

export const subscribeFrameSchema = z.strictObject({
  type: z.literal('subscribe'),
  id: subscriptionIdSchema,
  topic: topicSchema,
  /** `topic:seq` of the last event the client has; the server replays what came after. */
  lastEventId: z.string().min(1).max(256).optional(),
});
export type SubscribeFrame = z.infer<typeof subscribeFrameSchema>;

export const unsubscribeFrameSchema = z.strictObject({
  type: z.literal('unsubscribe'),
  id: subscriptionIdSchema,
});
export type UnsubscribeFrame = z.infer<typeof unsubscribeFrameSchema>;

export const pingFrameSchema = z.strictObject({ type: z.literal('ping') });
export type PingFrame = z.infer<typeof pingFrameSchema>;

export const subscribedFrameSchema = z.strictObject({
  type: z.literal('subscribed'),
  id: z.string(),
  topic: z.string(),
});

export const dataFrameSchema = z.strictObject({
  type: z.literal('data'),
  id: z.string(),
  topic: z.string(),
  eventId: z.string(),
  seq: z.number().int().positive(),
  event: z.string(),
  payload: z.record(z.string(), z.unknown()),
  ts: z.string(),
});

export const unsubscribedFrameSchema = z.strictObject({ type: z.literal('unsubscribed'), id: z.string() });
export const pongFrameSchema = z.strictObject({ type: z.literal('pong') });

export const RESET_REASONS = ['replay_window_exceeded', 'replay_unavailable'] as const;
export const resetFrameSchema = z.strictObject({
  type: z.literal('reset'),
  id: z.string(),
  topic: z.string(),
  reason: z.enum(RESET_REASONS),
});

/** Every frame the server sends, a discriminated union on `type`. */
export const serverFrameSchema = z.discriminatedUnion('type', [
  subscribedFrameSchema,
  dataFrameSchema,
  unsubscribedFrameSchema,
  pongFrameSchema,
  resetFrameSchema,
  errorFrameSchema,
]);

export type SubscribedFrame = z.infer<typeof subscribedFrameSchema>;
export type DataFrame = z.infer<typeof dataFrameSchema>;
export type UnsubscribedFrame = z.infer<typeof unsubscribedFrameSchema>;
export type PongFrame = z.infer<typeof pongFrameSchema>;
export type ResetFrame = z.infer<typeof resetFrameSchema>;
export type ResetReason = (typeof RESET_REASONS)[number];

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

export type ParsedFrame<T> = { readonly ok: true; readonly frame: T } | { readonly ok: false; readonly error: ErrorFrame };

/**
 * Turns a route's raw body into its frame, or into the `bad_request` error frame that names what
 * is wrong (size, JSON, each bad or unknown field). The error echoes the frame's `id` when it is a
 * usable subscription id, so the client can tell which subscription failed.
 */
export function parseClientFrame<S extends z.ZodType>(body: string | undefined, schema: S): ParsedFrame<z.infer<S>> {
  if (body === undefined || body.length === 0) {
    return { ok: false, error: errorFrame('bad_request', 'Frame is empty: send a JSON object with a string "type"') };
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_FRAME_BYTES) {
    return { ok: false, error: errorFrame('bad_request', `Frame exceeds ${MAX_FRAME_BYTES} bytes`) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { ok: false, error: errorFrame('bad_request', 'Frame is not valid JSON') };
  }
  const result = schema.safeParse(parsed);
  if (result.success) return { ok: true, frame: result.data };
  const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
  const echoed = subscriptionIdSchema.safeParse(id);
  return {
    ok: false,
    error: errorFrame('bad_request', `Invalid frame: ${clip(describeIssues(result.error), 512)}`, echoed.success ? echoed.data : undefined),
  };
}

/**
 * Maps anything thrown while handling a frame to an error frame: the frame-side twin of
 * `toErrorResponse`. Codes without a frame equivalent become `bad_request`; unknown errors and
 * `internal` ones become `internal` with a generic message, never their own.
 */
export function toErrorFrame(error: unknown, id?: string): ErrorFrame {
  if (!(error instanceof AppError) || error.code === 'internal') {
    return errorFrame('internal', 'Internal server error', id);
  }
  const code = (FRAME_ERROR_CODES as readonly string[]).includes(error.code) ? (error.code as FrameErrorCode) : 'bad_request';
  return errorFrame(code, error.message, id);
}

/** Clips a client-chosen string before echoing it, so a frame cannot make us send it back whole. */
export function clip(value: string, max = MAX_ECHO_LENGTH): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}

/** What a data frame carries about one numbered event of a topic (a replay-log entry). */
export interface NumberedEvent {
  readonly topic: string;
  readonly seq: number;
  readonly event: string;
  readonly payload: Record<string, unknown>;
  readonly ts: string;
}

/** The data frame of subscription `subId` for one numbered event. */
export function dataFrame(subId: string, entry: NumberedEvent): DataFrame {
  return {
    type: 'data',
    id: subId,
    topic: entry.topic,
    eventId: eventIdOf(entry.topic, entry.seq),
    seq: entry.seq,
    event: entry.event,
    payload: entry.payload,
    ts: entry.ts,
  };
}
