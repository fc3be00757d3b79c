/**
 * DynamoDB Streams records as Lambda delivers them to a function.
 *
 * The Streams SDK client decodes the wire format (binary attributes become `Uint8Array`, the
 * creation time a `Date`, the user identity gets capitalised keys); Lambda passes the records on
 * in the service's JSON form instead, so everything is turned back into it here: attribute values
 * in DynamoDB JSON with base64 binaries, `ApproximateCreationDateTime` in epoch seconds, keys in
 * the order Lambda sends them.
 *
 * Time to Live deletions are made REMOVE records with AWS's TTL `userIdentity`
 * (`{type: "Service", principalId: "dynamodb.amazonaws.com"}`), whoever made them:
 * - DynamoDB Local's own TTL job (it has one, on the *wall clock*) writes its deletions with the
 *   event name `UNKNOWN_TO_SDK_VERSION` (an operation type its SDK has no name for) and no
 *   identity: the name would break every consumer that expects INSERT, MODIFY or REMOVE;
 * - the local cloud's sweeper (`../dynamodb/ttl-sweeper.ts`, on the *virtual* clock) makes
 *   ordinary deletes, recognised through `./ttl-deletions.ts`.
 */
import type { _Record as SdkRecord } from '@aws-sdk/client-dynamodb-streams';
import { toImage, type ImageJson } from './dynamodb-json';
import { TTL_USER_IDENTITY, ttlDeletions } from './ttl-deletions';

/** The event name DynamoDB Local gives the stream records of its own TTL deletions. */
const DYNAMODB_LOCAL_TTL_EVENT_NAME = 'UNKNOWN_TO_SDK_VERSION';

/** A record of the `Records` array of a DynamoDB Streams event, as a Lambda function receives it. */
export interface DynamoDBStreamEventRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: string;
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: ImageJson;
    readonly NewImage?: ImageJson;
    readonly OldImage?: ImageJson;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: string;
  };
  readonly eventSourceARN: string;
  /** Only on deletions made by the service itself (Time to Live). */
  readonly userIdentity?: { readonly type: string; readonly principalId: string };
}

/** A stream record read from a shard, ready to be batched. */
export interface ShardRecord {
  readonly sequenceNumber: string;
  readonly event: DynamoDBStreamEventRecord;
  /** Size of the record in an invocation payload (its JSON), for Lambda's 6 MB payload limit. */
  readonly payloadBytes: number;
  /** `ApproximateCreationDateTime`, epoch seconds. */
  readonly createdAtSeconds: number;
}

export interface RecordContext {
  /** The region functions run in (DynamoDB Local reports its own pseudo-region `ddblocal`). */
  readonly region: string;
  /** The stream's ARN, as DynamoDB Local knows it (what Lambda sends as `eventSourceARN`). */
  readonly streamArn: string;
  /** When the record was read (epoch ms). */
  readonly readAtMs: number;
}

export function toShardRecord(sdk: SdkRecord, context: RecordContext): ShardRecord {
  const stream = sdk.dynamodb ?? {};
  const sequenceNumber = String(stream.SequenceNumber ?? '');
  const createdAtSeconds = creationSeconds(stream.ApproximateCreationDateTime, context.readAtMs);
  const keys = toImage(stream.Keys) ?? {};
  const oldImage = stream.OldImage ? toImage(stream.OldImage) : undefined;
  const localTtl = (sdk.eventName as string | undefined) === DYNAMODB_LOCAL_TTL_EVENT_NAME;
  const eventName = localTtl ? 'REMOVE' : (sdk.eventName as DynamoDBStreamEventRecord['eventName']);
  const userIdentity = sdk.userIdentity
    ? { type: String(sdk.userIdentity.Type ?? ''), principalId: String(sdk.userIdentity.PrincipalId ?? '') }
    : localTtl || ttlDeletions.isTtlRemoval(context.streamArn, sequenceNumber, eventName, keys, oldImage)
      ? { ...TTL_USER_IDENTITY }
      : undefined;
  const event: DynamoDBStreamEventRecord = {
    // Lambda's event ids are 32 hex digits; DynamoDB Local hands out dashed UUIDs.
    eventID: String(sdk.eventID ?? '').replaceAll('-', ''),
    eventName,
    eventVersion: sdk.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: context.region,
    dynamodb: {
      ApproximateCreationDateTime: createdAtSeconds,
      Keys: keys,
      ...(stream.NewImage ? { NewImage: toImage(stream.NewImage) } : {}),
      ...(oldImage ? { OldImage: oldImage } : {}),
      SequenceNumber: sequenceNumber,
      SizeBytes: Number(stream.SizeBytes ?? 0),
      StreamViewType: String(stream.StreamViewType ?? ''),
    },
    eventSourceARN: context.streamArn,
    ...(userIdentity ? { userIdentity } : {}),
  };
  return { sequenceNumber, event, payloadBytes: Buffer.byteLength(JSON.stringify(event)) + 1, createdAtSeconds };
}

/**
 * DynamoDB rounds `ApproximateCreationDateTime` down to the second; DynamoDB Local rounds it down to
 * the minute. A minute-rounded stamp is refined with the time the record was read (the pollers read
 * within milliseconds of the write), never leaving the minute DynamoDB Local vouches for.
 */
export function creationSeconds(stamp: Date | undefined, readAtMs: number): number {
  const readSeconds = Math.floor(readAtMs / 1000);
  if (!stamp || Number.isNaN(stamp.getTime())) return readSeconds;
  const stampMs = stamp.getTime();
  const stampSeconds = Math.floor(stampMs / 1000);
  if (stampMs % 60_000 !== 0 || readSeconds < stampSeconds) return stampSeconds;
  return Math.min(readSeconds, stampSeconds + 59);
}

/** `2019-11-14T00:13:19Z`: the second-precision form of the stream batch info of invocation records. */
export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
