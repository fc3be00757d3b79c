/**
 * The domain-event publisher: turns a batch of domain-table stream records into catalog events
 * and puts them on the EventBridge bus (docs/events.md, "Delivery").
 *
 * - Each record is validated and mapped through the catalog. A record that does not parse, or
 *   whose item lacks what its event needs, is *malformed*: it is reported in the result (the
 *   handler logs and counts it, and an alarm watches the count) and skipped. Retrying cannot fix
 *   it, and failing it would hold back every later record of its shard for the mapping's retries.
 * - Events go out in PutEvents requests of at most 10 entries and 256 KB. Entries that fail
 *   (`FailedEntryCount`, or a request that throws) are sent again, in rounds with exponential
 *   backoff and full jitter, up to `maxAttempts`; errors that cannot succeed on retry are not.
 * - A record any of whose events is still unpublished is named (by SequenceNumber) in
 *   `batchItemFailures`: Lambda retries from the first of them, so nothing is lost. Later records
 *   of the batch are re-sent too; consumers deduplicate on `detail.idempotencyKey`.
 *
 * Relies on: a client with `send(PutEventsCommand)`; takes time and randomness as parameters so
 * tests control the backoff.
 */
import { PutEventsCommand, type PutEventsCommandOutput, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { EVENT_SOURCE, eventsForChange, MalformedChangeError, type DomainEvent } from './catalog';
import { parseStreamRecord } from '../cdc/stream-record';
import { retryRemaining, type RetryOptions, type Sleep } from '../retry';

/** What the publisher needs from `EventBridgeClient`. */
export interface EventBridgeLike {
  send(command: PutEventsCommand): Promise<Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>>;
}

/** PutEvents limits (EventBridge quotas): entries per request and summed entry size. */
export const MAX_ENTRIES_PER_REQUEST = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * Per-entry error codes that a retry cannot fix (EventBridge API reference, PutEventsResultEntry).
 * Anything else (ThrottlingException, InternalFailure, an unknown code) is retried.
 */
const PERMANENT_ERROR_CODES = new Set(['InvalidArgument', 'MalformedDetail', 'NotAuthorizedForSourceException']);

/** Our code for an event too large for any request (a detail field copied from a huge attribute). */
export const ENTRY_TOO_LARGE = 'EntryTooLarge';

export interface PublisherOptions {
  readonly client: EventBridgeLike;
  readonly eventBusName: string;
  /** Sends of one entry, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** Upper bound of the backoff before the second send; doubles per round. @default 100 */
  readonly baseDelayMs?: number;
  /** Upper bound of one backoff. @default 2000 */
  readonly maxDelayMs?: number;
  readonly sleep?: Sleep;
  /** [0, 1); full jitter draws each backoff uniformly below its bound. @default Math.random */
  readonly random?: () => number;
}

export interface MalformedRecord {
  readonly sequenceNumber?: string;
  readonly eventId?: string;
  readonly detailType?: string;
  readonly reason: string;
}

export interface UnpublishedEvent {
  readonly sequenceNumber: string;
  readonly detailType: string;
  readonly idempotencyKey: string;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attempts: number;
}

export interface BatchResult {
  /** The partial batch response: records whose events were not all published. */
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
  /** Events accepted by the bus. */
  readonly published: number;
  /** Records skipped because they cannot be mapped (never retried). */
  readonly malformed: readonly MalformedRecord[];
  /** Events still failing after the last attempt, with their last error. */
  readonly unpublished: readonly UnpublishedEvent[];
  /** Sends after the first (entries re-sent after a failure). */
  readonly retries: number;
}

interface Pending {
  readonly sequenceNumber: string;
  readonly event: DomainEvent;
  readonly entry: PutEventsRequestEntry;
  readonly size: number;
  attempts: number;
  lastError?: { code: string; message: string };
}

export class DomainEventPublisher {
  private readonly maxAttempts: number;
  private readonly backoff: RetryOptions;

  constructor(private readonly options: PublisherOptions) {
    this.maxAttempts = options.maxAttempts ?? 5;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new Error(`DomainEventPublisher: maxAttempts must be a positive integer, got ${this.maxAttempts}`);
    }
    this.backoff = {
      attempts: this.maxAttempts,
      baseDelayMs: options.baseDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 2_000,
      sleep: options.sleep,
      random: options.random,
    };
  }

  /** Publishes the events of a batch of stream records (in their stream order). */
  async publishStreamRecords(records: readonly unknown[]): Promise<BatchResult> {
    const malformed: MalformedRecord[] = [];
    const pending: Pending[] = [];
    for (const record of records) {
      const parsed = parseStreamRecord(record);
      if (!parsed.ok) {
        malformed.push({ sequenceNumber: parsed.sequenceNumber, eventId: parsed.eventId, reason: parsed.reason });
        continue;
      }
      let events: DomainEvent[];
      try {
        events = eventsForChange(parsed.change);
      } catch (error) {
        if (!(error instanceof MalformedChangeError)) throw error;
        malformed.push({
          sequenceNumber: parsed.sequenceNumber,
          eventId: parsed.change.id,
          detailType: error.detailType,
          reason: error.message,
        });
        continue;
      }
      for (const event of events) pending.push(this.pending(parsed.sequenceNumber, event));
    }

    const { published, unpublished, retries } = await this.putAll(pending);
    const failedSequenceNumbers = [...new Set(unpublished.map((u) => u.sequenceNumber))];
    return {
      batchItemFailures: failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })),
      published,
      malformed,
      unpublished,
      retries,
    };
  }

  private pending(sequenceNumber: string, event: DomainEvent): Pending {
    const entry: PutEventsRequestEntry = {
      EventBusName: this.options.eventBusName,
      Source: EVENT_SOURCE,
      DetailType: event.detailType,
      Detail: JSON.stringify(event.detail),
      Time: event.time,
    };
    return { sequenceNumber, event, entry, size: entrySize(entry), attempts: 0 };
  }

  /** Sends every entry, re-sending failed ones in rounds until they succeed or run out of attempts. */
  private async putAll(all: Pending[]): Promise<{ published: number; unpublished: UnpublishedEvent[]; retries: number }> {
    let published = 0;
    let retries = 0;
    const givenUp: Pending[] = [];
    const due = all.filter((p) => {
      if (p.size <= MAX_REQUEST_BYTES) return true;
      p.lastError = { code: ENTRY_TOO_LARGE, message: `${p.size} bytes is over the ${MAX_REQUEST_BYTES}-byte PutEvents limit` };
      givenUp.push(p);
      return false;
    });
    const round = async (entries: readonly Pending[], attempt: number): Promise<Pending[]> => {
      if (attempt > 0) retries += entries.length;
      const failed: Pending[] = [];
      for (const chunk of chunks(entries)) {
        for (const p of chunk) p.attempts++;
        const outcome = await this.put(chunk);
        published += outcome.published;
        failed.push(...outcome.failed);
      }
      const again: Pending[] = [];
      for (const p of failed) {
        const retryable = p.attempts < this.maxAttempts && !PERMANENT_ERROR_CODES.has(p.lastError!.code);
        (retryable ? again : givenUp).push(p);
      }
      return again;
    };
    // Every entry of a round has had as many attempts as there were rounds, so none is left over.
    givenUp.push(...(await retryRemaining(due, round, this.backoff)));
    return {
      published,
      retries,
      unpublished: givenUp.map((p) => ({
        sequenceNumber: p.sequenceNumber,
        detailType: p.event.detailType,
        idempotencyKey: String(p.event.detail.idempotencyKey),
        errorCode: p.lastError!.code,
        errorMessage: p.lastError!.message,
        attempts: p.attempts,
      })),
    };
  }

  /** One PutEvents request. A request that throws fails all its entries (retried like any failure). */
  private async put(chunk: Pending[]): Promise<{ published: number; failed: Pending[] }> {
    let output: Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>;
    try {
      output = await this.options.client.send(new PutEventsCommand({ Entries: chunk.map((p) => p.entry) }));
    } catch (error) {
      const code = (error as Error).name || 'Error';
      for (const p of chunk) p.lastError = { code, message: (error as Error).message };
      return { published: 0, failed: chunk };
    }
    if (!output.FailedEntryCount) return { published: chunk.length, failed: [] };
    // Results come back in request order, one per entry; a failed one has an ErrorCode.
    const failed = chunk.filter((p, i) => {
      const result = output.Entries?.[i];
      if (result && !result.ErrorCode) return false;
      p.lastError = {
        code: result?.ErrorCode ?? 'MissingResult',
        message: result?.ErrorMessage ?? 'PutEvents returned no result for the entry',
      };
      return true;
    });
    return { published: chunk.length - failed.length, failed };
  }
}

/** Consecutive groups of at most 10 entries and 256 KB (every entry already fits alone). */
function* chunks(entries: readonly Pending[]): Generator<Pending[]> {
  let chunk: Pending[] = [];
  let bytes = 0;
  for (const p of entries) {
    if (chunk.length === MAX_ENTRIES_PER_REQUEST || bytes + p.size > MAX_REQUEST_BYTES) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(p);
    bytes += p.size;
  }
  if (chunk.length > 0) yield chunk;
}

/** An entry's size as EventBridge counts it ("Calculating PutEvents event entry size"). */
export function entrySize(entry: PutEventsRequestEntry): number {
  const bytes = (s: string | undefined) => (s === undefined ? 0 : Buffer.byteLength(s, 'utf8'));
  let size = entry.Time ? 14 : 0;
  size += bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  for (const resource of entry.Resources ?? []) size += bytes(resource);
  return size;
}
