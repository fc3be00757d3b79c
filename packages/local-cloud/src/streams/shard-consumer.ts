/**
 * One mapping's progress through one shard: keeps the records its filters accept, in order, and
 * sends them to the function in batches, one batch in flight at a time. A batch is sent when it is
 * full (`BatchSize`, or Lambda's 6 MB payload limit), when the batching window has passed since the
 * batch started gathering, or right away when there is no window; the next one only once it is
 * done, so records are never reordered nor skipped.
 */
import type { CompiledPattern } from '../events/pattern';
import type { BatchDelivery } from './delivery';
import type { ShardRecord } from './records';
import type { ShardTail, StartPosition, TailSubscriber } from './shard-tail';

/** Lambda's synchronous invocation payload limit, less room for `{"Records":[]}`. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64;
/** Past this backlog a consumer stops taking records from a shared reader and reads on its own later. */
const MAX_BACKLOG_BYTES = 64 * 1024 * 1024;

export interface ConsumerSettings {
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly filters: readonly CompiledPattern[];
  readonly delivery: BatchDelivery;
  /** A reader for this shard from `position` (shared when another consumer starts at the same place). */
  readonly tailFor: (shardId: string, position: StartPosition) => ShardTail;
  readonly log: (line: string) => void;
}

export class ShardConsumer implements TailSubscriber {
  /** Every record of the shard was delivered or discarded. */
  finished = false;
  private readonly queue: ShardRecord[] = [];
  private queueBytes = 0;
  private tail?: ShardTail;
  private tailEnded = false;
  /** Set after leaving a reader because of a backlog: where to read from once the backlog is done. */
  private resumeAfter?: string;
  private lastSeen?: string;
  private inflight?: Promise<void>;
  private windowTimer?: NodeJS.Timeout;
  private gatheringSince = 0;
  private stopped = false;
  private readonly maxBacklog: number;

  constructor(
    private readonly settings: ConsumerSettings,
    readonly shardId: string,
    private readonly start: StartPosition,
    private readonly onFinished: (consumer: ShardConsumer) => void,
  ) {
    this.maxBacklog = Math.max(10_000, 2 * settings.batchSize);
  }

  begin(): void {
    this.attach(this.start);
  }

  offer(records: readonly ShardRecord[], tail: ShardTail): void {
    if (this.stopped) return;
    const { filters } = this.settings;
    for (const record of records) {
      this.lastSeen = record.sequenceNumber;
      // Records no filter matches are dropped; the position moves past them all the same.
      if (filters.length > 0 && !filters.some((f) => f.matches(record.event))) continue;
      if (this.queue.length === 0 && !this.inflight) this.gatheringSince = Date.now();
      this.queue.push(record);
      this.queueBytes += record.payloadBytes;
    }
    if (this.queue.length > this.maxBacklog || this.queueBytes > MAX_BACKLOG_BYTES) {
      tail.unsubscribe(this);
      this.tail = undefined;
      this.resumeAfter = this.lastSeen;
    }
    this.pump();
  }

  end(): void {
    this.tail = undefined;
    this.tailEnded = true;
    this.pump();
  }

  /** Caught up: nothing queued or in flight, and the reader found nothing new in a poll started after `mark`. */
  isIdleSince(mark: number): boolean {
    if (this.finished) return true;
    return this.queue.length === 0 && !this.inflight && this.tail !== undefined && this.tail.lastEmptyPollTick > mark;
  }

  describe(): string {
    const state = this.finished
      ? 'finished'
      : `${this.queue.length} queued${this.inflight ? ', a batch in flight' : ''}${this.tail ? '' : ', no reader'}`;
    return `${this.shardId}: ${state}`;
  }

  /** Stops taking records and starting batches; resolves when the batch in flight (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    this.tail?.unsubscribe(this);
    this.tail = undefined;
    await this.inflight;
  }

  private attach(position: StartPosition): void {
    const tail = this.settings.tailFor(this.shardId, position);
    this.tail = tail;
    tail.subscribe(this);
  }

  private pump(): void {
    if (this.stopped || this.inflight) return;
    if (this.queue.length === 0) {
      if (this.tailEnded) {
        if (!this.finished) {
          this.finished = true;
          this.onFinished(this);
        }
      } else if (!this.tail && this.resumeAfter) {
        const sequenceNumber = this.resumeAfter;
        this.resumeAfter = undefined;
        this.attach({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber });
      }
      return;
    }
    const { batchSize, batchingWindowMs } = this.settings;
    const full = this.queue.length >= batchSize || this.queueBytes >= MAX_PAYLOAD_BYTES;
    const waited = Date.now() - this.gatheringSince;
    if (!full && !this.tailEnded && batchingWindowMs > 0 && waited < batchingWindowMs) {
      this.windowTimer ??= setTimeout(() => {
        this.windowTimer = undefined;
        this.pump();
      }, batchingWindowMs - waited);
      return;
    }
    clearTimeout(this.windowTimer);
    this.windowTimer = undefined;
    const batch = this.takeBatch();
    this.inflight = this.settings.delivery.deliver(batch, this.shardId).then(
      () => this.settle(batch.length),
      (error: unknown) => {
        // deliver() handles function failures itself; anything else is a bug worth seeing, not a reason to skip records.
        this.settings.log(
          `delivering a batch of shard ${this.shardId} failed unexpectedly (retrying in 1 s): ${(error as Error)?.stack ?? error}`,
        );
        this.settle(0);
      },
    );
  }

  private settle(delivered: number): void {
    for (const record of this.queue.splice(0, delivered)) this.queueBytes -= record.payloadBytes;
    this.inflight = undefined;
    this.gatheringSince = Date.now();
    if (delivered === 0 && !this.stopped) {
      // Retry the same records after a pause rather than spinning.
      this.windowTimer = setTimeout(() => {
        this.windowTimer = undefined;
        this.pump();
      }, 1_000);
      return;
    }
    this.pump();
  }

  /** The head of the queue, up to `BatchSize` records and the payload limit (at least one record). */
  private takeBatch(): ShardRecord[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < this.settings.batchSize) {
      const size = this.queue[n]!.payloadBytes;
      if (n > 0 && bytes + size > MAX_PAYLOAD_BYTES) break;
      bytes += size;
      n++;
    }
    return this.queue.slice(0, n);
  }
}
