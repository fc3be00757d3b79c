/**
 * DynamoDB stream records as a Lambda event-source mapping delivers them, validated with zod
 * (STYLE 7) and turned into transport-neutral {@link DomainChange}s with unmarshalled images.
 * Only the fields the consumers use are checked; Lambda's other fields are let through.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { z } from 'zod';
import { describeIssues } from '../validation';
import { CHANGE_TYPES, type DomainChange } from './change';

/** An image in DynamoDB JSON: attribute name → `{"S": "..."}`, `{"N": "..."}`, ... */
const imageSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

export const streamRecordSchema = z.object({
  eventID: z.string().min(1),
  eventName: z.enum(CHANGE_TYPES),
  dynamodb: z.object({
    /** Epoch seconds. */
    ApproximateCreationDateTime: z.number().nonnegative(),
    /** What a partial batch response names to have the record (and those after it) retried. */
    SequenceNumber: z.string().min(1),
    NewImage: imageSchema.optional(),
    OldImage: imageSchema.optional(),
  }),
});

export type ParsedStreamRecord =
  | { readonly ok: true; readonly sequenceNumber: string; readonly change: DomainChange }
  | {
      readonly ok: false;
      /** Absent when the record is too broken to name itself. */
      readonly sequenceNumber?: string;
      readonly eventId?: string;
      /** Field paths and zod messages only, never attribute values (they may be personal data). */
      readonly reason: string;
    };

/** Validates one record of a stream batch and unmarshalls its images. Never throws. */
export function parseStreamRecord(record: unknown): ParsedStreamRecord {
  const parsed = streamRecordSchema.safeParse(record);
  if (!parsed.success) {
    const loose = record as { eventID?: unknown; dynamodb?: { SequenceNumber?: unknown } } | null | undefined;
    return {
      ok: false,
      ...(typeof loose?.dynamodb?.SequenceNumber === 'string' ? { sequenceNumber: loose.dynamodb.SequenceNumber } : {}),
      ...(typeof loose?.eventID === 'string' ? { eventId: loose.eventID } : {}),
      reason: describeIssues(parsed.error),
    };
  }
  const { eventID, eventName, dynamodb } = parsed.data;
  try {
    return {
      ok: true,
      sequenceNumber: dynamodb.SequenceNumber,
      change: {
        id: eventID,
        type: eventName,
        occurredAt: new Date(dynamodb.ApproximateCreationDateTime * 1000).toISOString(),
        ...(dynamodb.NewImage ? { newImage: toItem(dynamodb.NewImage) } : {}),
        ...(dynamodb.OldImage ? { oldImage: toItem(dynamodb.OldImage) } : {}),
      },
    };
  } catch (error) {
    // unmarshall rejects unknown type descriptors and numbers it cannot represent exactly.
    return { ok: false, sequenceNumber: dynamodb.SequenceNumber, eventId: eventID, reason: `image: ${(error as Error).message}` };
  }
}

function toItem(image: z.infer<typeof imageSchema>): Record<string, unknown> {
  // The schema checks the shape (name → one descriptor object); unmarshall checks the descriptors
  // themselves and throws on an unknown one, so the cast hides nothing unchecked.
  return unmarshall(image as unknown as Record<string, AttributeValue>);
}
