/**
 * Delivers one batch of stream records to a function the way a Lambda event-source mapping for a
 * stream does (Lambda Developer Guide: "Using AWS Lambda with Amazon DynamoDB", "Configuring
 * partial batch response with DynamoDB and Lambda", "Retaining discarded records for a DynamoDB
 * event source"):
 *
 *  - A function error, a timeout or a crash fails the whole batch; it is retried, in order, until
 *    it succeeds, `MaximumRetryAttempts` is exhausted or its records pass `MaximumRecordAgeInSeconds`.
 *  - With `BisectBatchOnFunctionError`, a failed batch is split in two and each half is retried in
 *    order; splitting does not count against the retry quota.
 *  - With `ReportBatchItemFailures`, `{"batchItemFailures":[{"itemIdentifier":"<SequenceNumber>"}]}`
 *    checkpoints before the lowest reported sequence number and retries from there (the retry
 *    counts). An empty or null list, or no response, is a success; an identifier that is missing,
 *    empty, not a string or not in the batch fails the whole batch.
 *  - Discarded records are described (not included) in an invocation record sent to the
 *    on-failure destination, then processing goes on with the next records.
 *  - Throttling is an error "before invocation": retried until the records expire, not counted.
 */
import type { InvokeResult, LocalFunction } from '../lambda/service';
import { readBatchItemFailures } from '../lambda/batch-item-failures';
import { isoSeconds, type ShardRecord } from './records';

/** What a mapping needs to deliver batches. */
export interface DeliveryConfig {
  readonly where: string;
  readonly fn: LocalFunction;
  readonly streamArn: string;
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: until the records expire. */
  readonly maximumRetryAttempts: number;
  /** -1: until the records expire (the stream's 24-hour retention). */
  readonly maximumRecordAgeInSeconds: number;
  readonly onFailureDestination?: string;
}

export interface DeliveryContext {
  readonly onFailure: (destinationArn: string, record: unknown) => Promise<void> | void;
  readonly log: (line: string) => void;
  /** True once the mappings are stopping: no new invocation starts. */
  readonly stopping: () => boolean;
  /** Waits `ms`, or less when the mappings stop. */
  readonly sleep: (ms: number) => Promise<void>;
}

/** DynamoDB Streams keeps records for 24 hours. */
export const STREAM_RETENTION_SECONDS = 24 * 60 * 60;
const RETRY_BACKOFF_BASE_MS = 100;
const RETRY_BACKOFF_MAX_MS = 1_000;

type Outcome =
  | { readonly kind: 'success'; readonly result: InvokeResult }
  | { readonly kind: 'partial'; readonly result: InvokeResult; readonly index: number }
  | { readonly kind: 'failure'; readonly result: InvokeResult; readonly reason: string }
  | { readonly kind: 'throttled'; readonly result: InvokeResult };

interface Segment {
  records: ShardRecord[];
  /** Failed attempts of this segment that count against `MaximumRetryAttempts`. */
  retries: number;
  /** Invocations that included these records (bisected halves inherit their parent's). */
  invocations: number;
  last?: InvokeResult;
}

export type DiscardCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

export class BatchDelivery {
  constructor(
    private readonly config: DeliveryConfig,
    private readonly context: DeliveryContext,
  ) {}

  /**
   * Delivers `records` (consecutive records of one shard) until every one of them succeeded or was
   * discarded. Returns early, leaving records undelivered, only when the mappings stop.
   */
  async deliver(records: readonly ShardRecord[], shardId: string): Promise<void> {
    const segments: Segment[] = [{ records: [...records], retries: 0, invocations: 0 }];
    let throttles = 0;
    while (segments.length > 0 && !this.context.stopping()) {
      const segment = segments[0]!;
      const expired = this.expiredPrefix(segment.records);
      if (expired > 0) {
        await this.discard(segment.records.slice(0, expired), 'RecordAgeExceeded', segment, shardId);
        segment.records = segment.records.slice(expired);
        if (segment.records.length === 0) segments.shift();
        continue;
      }
      const outcome = await this.invoke(segment.records);
      if (this.context.stopping()) return;
      if (outcome.kind === 'throttled') {
        throttles++;
        await this.context.sleep(Math.min(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_BASE_MS * 2 ** throttles));
        continue;
      }
      throttles = 0;
      segment.invocations++;
      segment.last = outcome.result;
      if (outcome.kind === 'success') {
        segments.shift();
        continue;
      }
      if (outcome.kind === 'partial') {
        // Checkpoint before the lowest failed record; the rest is retried (and the retry counts).
        segment.records = segment.records.slice(outcome.index);
        segment.retries++;
      } else if (this.config.bisectBatchOnFunctionError && segment.records.length > 1) {
        this.reportFailure(outcome, segment, shardId, 'bisecting');
        const middle = Math.ceil(segment.records.length / 2);
        const half = (part: ShardRecord[]): Segment => ({
          records: part,
          retries: 0,
          invocations: segment.invocations,
          last: segment.last,
        });
        segments.splice(0, 1, half(segment.records.slice(0, middle)), half(segment.records.slice(middle)));
        continue;
      } else {
        segment.retries++;
      }
      const limit = this.config.maximumRetryAttempts;
      const exhausted = limit >= 0 && segment.retries > limit;
      if (outcome.kind === 'failure') this.reportFailure(outcome, segment, shardId, exhausted ? 'giving up' : 'retrying');
      if (exhausted) {
        await this.discard(segment.records, 'RetryAttemptsExhausted', segment, shardId);
        segments.shift();
        continue;
      }
      await this.context.sleep(Math.min(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_BASE_MS * 2 ** (segment.retries - 1)));
    }
  }

  /** Says why a batch failed (a failing stream function is otherwise silent), sparingly during long retry runs. */
  private reportFailure(outcome: Outcome & { kind: 'failure' }, segment: Segment, shardId: string, next: string): void {
    const n = segment.invocations;
    if (next === 'retrying' && n > 3 && (n & (n - 1)) !== 0) return; // invocations 1, 2, 3, 4, 8, 16, ...
    const range = `${segment.records[0]!.sequenceNumber}..${segment.records[segment.records.length - 1]!.sequenceNumber}`;
    this.context.log(
      `${this.config.where}: ${segment.records.length} record(s) of shard ${shardId} (${range}) failed (invocation ${n}): ${outcome.reason}; ${next}`,
    );
  }

  /** How many records at the head of `records` are older than the mapping accepts. */
  private expiredPrefix(records: readonly ShardRecord[]): number {
    const maxAge = this.config.maximumRecordAgeInSeconds >= 0 ? this.config.maximumRecordAgeInSeconds : STREAM_RETENTION_SECONDS;
    const now = Date.now() / 1000;
    let n = 0;
    while (n < records.length && now - records[n]!.createdAtSeconds > maxAge) n++;
    return n;
  }

  private async invoke(records: readonly ShardRecord[]): Promise<Outcome> {
    const result = await this.config.fn.invoke({ Records: records.map((r) => r.event) });
    if (!result.ok) {
      if (result.error.errorType === 'TooManyRequestsException') return { kind: 'throttled', result };
      return { kind: 'failure', result, reason: `${result.error.errorType}: ${result.error.errorMessage}` };
    }
    if (!this.config.reportBatchItemFailures) return { kind: 'success', result };
    const verdict = parseBatchItemFailures(result.payload, records);
    if (verdict.kind === 'success') return { kind: 'success', result };
    if (verdict.kind === 'partial') return { kind: 'partial', result, index: verdict.index };
    this.context.log(`${this.config.where}: the batch counts as failed: ${verdict.reason}`);
    return { kind: 'failure', result, reason: verdict.reason };
  }

  private async discard(records: readonly ShardRecord[], condition: DiscardCondition, segment: Segment, shardId: string): Promise<void> {
    const destination = this.config.onFailureDestination;
    const what = `${records.length} record(s) of shard ${shardId} (${records[0]!.sequenceNumber}..${records[records.length - 1]!.sequenceNumber})`;
    if (!destination) {
      this.context.log(`${this.config.where}: discarded ${what}: ${condition}, no on-failure destination`);
      return;
    }
    const record = invocationRecord({
      records,
      condition,
      shardId,
      streamArn: this.config.streamArn,
      functionArn: this.config.fn.spec.arn,
      invocations: segment.invocations,
      last: segment.last,
    });
    try {
      await this.context.onFailure(destination, record);
    } catch (error) {
      this.context.log(`${this.config.where}: sending ${what} to ${destination} failed: ${(error as Error).message}`);
    }
  }
}

export interface InvocationRecordInput {
  readonly records: readonly ShardRecord[];
  readonly condition: DiscardCondition;
  readonly shardId: string;
  readonly streamArn: string;
  readonly functionArn: string;
  readonly invocations: number;
  readonly last?: InvokeResult;
}

/** The document Lambda sends to a stream mapping's on-failure destination (`DDBStreamBatchInfo` form). */
export function invocationRecord(input: InvocationRecordInput): Record<string, unknown> {
  const { records, last } = input;
  const first = records[0]!;
  const final = records[records.length - 1]!;
  return {
    requestContext: {
      requestId: last?.requestId ?? null,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.invocations,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: last && !last.ok ? last.functionError : null,
    },
    version: '1.0',
    timestamp: new Date().toISOString(),
    DDBStreamBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: first.sequenceNumber,
      endSequenceNumber: final.sequenceNumber,
      approximateArrivalOfFirstRecord: isoSeconds(first.createdAtSeconds),
      approximateArrivalOfLastRecord: isoSeconds(final.createdAtSeconds),
      batchSize: records.length,
      streamArn: input.streamArn,
    },
  };
}

export type BatchItemFailuresVerdict =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly index: number }
  | { readonly kind: 'failure'; readonly reason: string };

/** Reads a `ReportBatchItemFailures` response against the batch it answers. */
export function parseBatchItemFailures(payload: string, records: readonly ShardRecord[]): BatchItemFailuresVerdict {
  const indexOf = (id: string) => {
    const index = records.findIndex((r) => r.sequenceNumber === id);
    return index < 0 ? undefined : index;
  };
  const verdict = readBatchItemFailures(payload, 'sequence number', indexOf, 'success');
  // Processing resumes at the earliest failed record.
  // (A reduce, not Math.min(...items): a response may name a record many times, past the spread's argument limit.)
  return verdict.kind === 'partial' ? { kind: 'partial', index: verdict.items.reduce((a, b) => Math.min(a, b)) } : verdict;
}
