/**
 * Reads one shard of a DynamoDB stream, in order, and hands the records to its subscribers.
 *
 * An idle GetRecords against DynamoDB Local costs a few milliseconds of CPU in each process, so
 * mappings that start on the same shard at the same position share one reader instead of each
 * polling on its own. A reader takes new subscribers only until it has delivered its first record
 * (a later subscriber would have missed records); past that, a subscriber reads privately.
 */
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ResourceNotFoundException,
  TrimmedDataAccessException,
  type DynamoDBStreamsClient,
} from '@aws-sdk/client-dynamodb-streams';
import { toShardRecord, type ShardRecord } from './records';

export type StartPosition =
  | { readonly type: 'LATEST' }
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

export interface TailSubscriber {
  /** Records just read, in shard order. May unsubscribe from within. */
  offer(records: readonly ShardRecord[], tail: ShardTail): void;
  /** The shard is closed (or gone) and every record it held was offered. */
  end(tail: ShardTail): void;
}

/** Orders polls against `idle()` requests: a poll that started after a mark saw everything written before it. */
export class Clock {
  private value = 0;
  next(): number {
    return ++this.value;
  }
}

export interface TailContext {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly region: string;
  readonly pollIntervalMs: number;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}

/** Most records one GetRecords returns on DynamoDB Streams. */
const GET_RECORDS_LIMIT = 1000;

export class ShardTail {
  /** Clock value of the start of the last poll that found nothing new (-1: none yet). */
  lastEmptyPollTick = -1;
  /** The shard is closed and fully read, or the stream is gone. */
  ended = false;
  private readonly subscribers = new Set<TailSubscriber>();
  private iterator?: string;
  private lastSequenceNumber?: string;
  private position: StartPosition;
  private delivered = false;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private lastError?: string;
  private markReady!: () => void;
  /** Settles once the reader holds its first iterator (its start position is fixed), or failed to get one. */
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    private readonly context: TailContext,
    readonly shardId: string,
    readonly start: StartPosition,
  ) {
    this.position = start;
  }

  /** Whether a subscriber starting at `start` can share this reader: same position, nothing delivered yet. */
  canJoin(start: StartPosition): boolean {
    return !this.delivered && !this.ended && !this.stopped && samePosition(start, this.start);
  }

  get active(): boolean {
    return !this.stopped && !this.ended;
  }

  subscribe(subscriber: TailSubscriber): void {
    this.subscribers.add(subscriber);
    this.loop ??= this.run();
  }

  unsubscribe(subscriber: TailSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) void this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.markReady();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped && this.subscribers.size > 0) {
      const tick = this.context.clock.next();
      try {
        if (!this.iterator) {
          this.iterator = await this.getIterator();
          this.markReady();
        }
        const output = await this.context.client.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: GET_RECORDS_LIMIT }));
        if (this.stopped) return;
        failures = 0;
        this.clearError();
        const readAtMs = Date.now();
        const records = (output.Records ?? []).map((r) =>
          toShardRecord(r, { region: this.context.region, streamArn: this.context.streamArn, readAtMs }),
        );
        this.iterator = output.NextShardIterator;
        if (records.length > 0) {
          this.delivered = true;
          this.lastSequenceNumber = records[records.length - 1]!.sequenceNumber;
          for (const subscriber of [...this.subscribers]) subscriber.offer(records, this);
        }
        if (!output.NextShardIterator) {
          // A closed shard ends with a null iterator once its last record was read.
          this.finish();
          return;
        }
        if (records.length === 0) {
          this.lastEmptyPollTick = tick;
          await this.sleep(this.context.pollIntervalMs);
        }
      } catch (error) {
        this.markReady();
        if (this.stopped) return;
        if (error instanceof ExpiredIteratorException) {
          // Iterators expire after 15 minutes unused (a long retry loop): take a new one where we were.
          this.iterator = undefined;
          continue;
        }
        if (error instanceof TrimmedDataAccessException) {
          // Resume at the oldest record left: trimming removes the oldest records first, so nothing
          // after our position is skipped. DynamoDB Local numbers records across all tables and
          // answers so for an iterator taken while the shard was empty, once its first record (whose
          // number is past the shard's starting one) arrives: that is not a loss, and not reported.
          if (this.delivered) this.report(`shard ${this.shardId}: records past the 24-hour retention were trimmed before they were read`);
          this.iterator = undefined;
          this.lastSequenceNumber = undefined;
          this.position = { type: 'TRIM_HORIZON' };
          continue;
        }
        if (error instanceof ResourceNotFoundException) {
          this.report(`stream ${this.context.streamArn} is gone (table deleted?): shard ${this.shardId} ends here`);
          this.finish();
          return;
        }
        failures++;
        this.report(`reading shard ${this.shardId} of ${this.context.streamArn} failed (retrying): ${(error as Error).message}`);
        await this.sleep(Math.min(2_000, 50 * 2 ** failures));
      }
    }
  }

  private async getIterator(): Promise<string> {
    const position: StartPosition = this.lastSequenceNumber
      ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastSequenceNumber }
      : this.position;
    const output = await this.context.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.context.streamArn,
        ShardId: this.shardId,
        ShardIteratorType: position.type,
        ...(position.type === 'AFTER_SEQUENCE_NUMBER' ? { SequenceNumber: position.sequenceNumber } : {}),
      }),
    );
    if (!output.ShardIterator) throw new Error(`no shard iterator for ${this.shardId}`);
    return output.ShardIterator;
  }

  private finish(): void {
    this.ended = true;
    for (const subscriber of [...this.subscribers]) subscriber.end(this);
    this.subscribers.clear();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  /** Logs a problem once, until reading works again. */
  private report(message: string): void {
    if (this.lastError === message) return;
    this.lastError = message;
    this.context.log(message);
  }

  private clearError(): void {
    this.lastError = undefined;
  }
}

function samePosition(a: StartPosition, b: StartPosition): boolean {
  if (a.type !== b.type) return false;
  return a.type !== 'AFTER_SEQUENCE_NUMBER' || a.sequenceNumber === (b as typeof a).sequenceNumber;
}
