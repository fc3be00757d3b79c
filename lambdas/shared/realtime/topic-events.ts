/**
 * Server-side producers (`POST /api/v1/topics/{topic}/events`, admin only): what they send and
 * what they are answered. The event is written to the domain table by `TopicEventStore`
 * (dynamo-topic-events.ts) and delivered by fan-out from the stream.
 */
import { z } from 'zod';

/** A payload must leave room in the 32 KB data frame for the envelope. */
export const MAX_PAYLOAD_BYTES = 16 * 1024;

export const publishBodySchema = z.strictObject({
  event: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z][a-z0-9_.-]*$/, 'Lower-case letters, digits, "_", "." or "-", starting with a letter'),
  payload: z
    .record(z.string(), z.unknown())
    .refine((p) => Buffer.byteLength(JSON.stringify(p), 'utf8') <= MAX_PAYLOAD_BYTES, `At most ${MAX_PAYLOAD_BYTES} bytes as JSON`),
  /** Counter-style: within one fan-out batch only the latest event of this name is delivered. */
  coalesce: z.boolean().optional(),
});
export type PublishBody = z.infer<typeof publishBodySchema>;

export interface AcceptedEvent {
  readonly topic: string;
  readonly event: string;
  readonly acceptedAt: string;
}
