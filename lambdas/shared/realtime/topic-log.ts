/**
 * Per-topic sequence numbers and the replay log (DESIGN.md section 3): what fan-out and subscribe
 * need from it, as an interface; the realtime table's adapter is `DynamoTopicLog`
 * (dynamo-topic-log.ts).
 *
 * Only fan-out assigns numbers and appends; subscribe reads. The order is always: assign, append,
 * then read edges and deliver. That order is what makes "register, then replay" gap-free
 * (subscription-registry.ts, subscriptions.ts).
 */

/** How long events stay replayable. */
export const LOG_RETENTION_SECONDS = 24 * 60 * 60;

/**
 * How long a topic's head outlives its last event. A head is an item any subscriber's topic name
 * could create, so it expires; it must outlive the replay log (a resume within the log's window
 * finds its numbers) and every connection that could hold an edge of it (2 hours on API Gateway),
 * and subscribe extends a head with less than `HEAD_RENEW_SECONDS` left.
 */
export const HEAD_TTL_SECONDS = 7 * 24 * 60 * 60;
export const HEAD_RENEW_SECONDS = 24 * 60 * 60;

/**
 * Numbers per second of the clock that a new head's numbering starts from (`seqBase`). A head
 * that expired and is created again must not hand out a seq it gave before, or a client resuming
 * from `topic:17` of the old head would take the new head's 18 for the one it missed. Starting
 * at `epoch seconds × 100,000` puts every new head above every seq an older head of the topic
 * could have reached unless that one averaged more than 100,000 events a second over its whole
 * life plus `HEAD_TTL_SECONDS` (one head takes about 1,000 writes a second). Seqs then have 15
 * digits (until the year 2286), below 2^53, and still grow by one per event.
 */
export const SEQS_PER_SECOND = 100_000;

/** Where a head created at `now` starts numbering: the first event gets `seqBase(now) + 1`. */
export const seqBase = (now: Date): number => Math.floor(now.getTime() / 1000) * SEQS_PER_SECOND;

/** An event of a topic, before it has a number. `src` identifies its source (stream record) uniquely. */
export interface TopicEvent {
  readonly src: string;
  readonly event: string;
  readonly payload: Record<string, unknown>;
  /** ISO 8601: when the change happened. */
  readonly ts: string;
}

export interface LogEntry extends TopicEvent {
  readonly topic: string;
  readonly seq: number;
}

export interface Assignment {
  /** The events with their numbers, in the order given. */
  readonly entries: LogEntry[];
  /** How many of them were numbered by an earlier attempt (a retry). */
  readonly reused: number;
  /** The topic's shard count, read in the same write. */
  readonly shards: number;
}

export interface TopicLog {
  /**
   * Gives `events` (one topic, in stream order) consecutive numbers with one conditional update of
   * the head (creating it, starting after `seqBase`, and extending its life by `HEAD_TTL_SECONDS`),
   * which also remembers their sources. If some of them are among the sources the
   * previous call numbered (this is a retry), they get those numbers back and only the others are
   * numbered anew.
   */
  assign(topic: string, events: readonly TopicEvent[]): Promise<Assignment>;

  /** Writes numbered events to the log. Idempotent: a retry writes the same items again. */
  append(entries: readonly LogEntry[]): Promise<void>;

  /** Entries after `afterSeq`, in order, at most `limit`, read strongly consistent. */
  read(topic: string, afterSeq: number, limit: number): Promise<LogEntry[]>;
}
