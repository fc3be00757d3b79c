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
   * the head, which also remembers their sources. If some of them are among the sources the
   * previous call numbered (this is a retry), they get those numbers back and only the others are
   * numbered anew.
   */
  assign(topic: string, events: readonly TopicEvent[]): Promise<Assignment>;

  /** Writes numbered events to the log. Idempotent: a retry writes the same items again. */
  append(entries: readonly LogEntry[]): Promise<void>;

  /** Entries after `afterSeq`, in order, at most `limit`, read strongly consistent. */
  read(topic: string, afterSeq: number, limit: number): Promise<LogEntry[]>;
}
