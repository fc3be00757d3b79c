/**
 * Fan-out (DESIGN.md section 7): from a batch of domain-table changes to data frames on every
 * subscribed connection.
 *
 * For each topic in the batch, in stream order: coalesce counter-style events, number the events
 * (`TopicLog.assign`), append them to the replay log, then deliver. Delivery reads the topic's
 * edges with a Query per shard (never a scan) and posts with bounded concurrency; each connection
 * gets a topic's events in seq order. A gone connection (410) is forgotten with everything it
 * subscribed to. Throttling is retried with backoff and jitter (apigw-poster.ts); past that budget
 * the topic's first record is reported as failed, the stream retries from there, and `assign`
 * gives the retried events the numbers they already had, so clients see duplicates they can drop
 * by `seq`, never gaps or reordering.
 *
 * Hot topics: a topic with more than one shard (subscription-registry.ts) is not delivered here.
 * One job per shard goes to the fan-out FIFO queue (group = topic and shard, so each shard keeps
 * its order) and parallel workers deliver them (`deliverJob`). The stream consumer only enqueues, so a topic
 * with 50,000 subscribers never holds up the topic with 5 behind it.
 */
import { z } from 'zod';
import type { DomainChange } from '../cdc/change';
import { coalesce, topicEventsForChange, type TopicEventSpec } from './cdc';
import { dataFrame } from './frames';
import { forEachLimited, type ConnectionPoster } from './poster';
import type { SubscriptionRegistry } from './subscription-registry';
import type { LogEntry, TopicEvent, TopicLog } from './topic-log';
import { topicSchema } from './topics';

export interface FanoutConfig {
  /** Posts in flight per invocation. @default 32 */
  readonly concurrency: number;
  /** Topics of one batch handled at once. @default 8 */
  readonly topicConcurrency: number;
}

export const DEFAULT_FANOUT_CONFIG: FanoutConfig = { concurrency: 32, topicConcurrency: 8 };

/** Delivery of a range of a topic's log to one shard of its subscribers. */
export const fanoutJobSchema = z
  .strictObject({
    topic: topicSchema,
    shard: z.number().int().nonnegative(),
    fromSeq: z.number().int().positive(),
    toSeq: z.number().int().positive(),
  })
  .refine((job) => job.fromSeq <= job.toSeq, { message: 'fromSeq must not exceed toSeq', path: ['toSeq'] });
export type FanoutJob = z.infer<typeof fanoutJobSchema>;

export interface JobQueue {
  /** Enqueues jobs durably; per (topic, shard) they must be handled in the order given. */
  enqueue(jobs: readonly FanoutJob[]): Promise<void>;
}

/** What one invocation did, for metrics. */
export interface FanoutStats {
  events: number;
  coalesced: number;
  deliveries: number;
  goneConnections: number;
  jobsEnqueued: number;
  readCapacityUnits: number;
}

export const emptyStats = (): FanoutStats => ({
  events: 0,
  coalesced: 0,
  deliveries: 0,
  goneConnections: 0,
  jobsEnqueued: 0,
  readCapacityUnits: 0,
});

/** A change of a stream batch, with the id a partial batch response names it by. */
export interface BatchChange {
  readonly sequenceNumber: string;
  readonly change: DomainChange;
}

export interface FanoutDeps {
  readonly registry: SubscriptionRegistry;
  readonly log: TopicLog;
  readonly poster: ConnectionPoster;
  readonly jobs: JobQueue;
  readonly config?: FanoutConfig;
  /** Told about each topic that failed (the batch is retried from its first record). */
  readonly onTopicFailure?: (topic: string, error: unknown) => void;
}

export class Fanout {
  private readonly config: FanoutConfig;

  constructor(private readonly deps: FanoutDeps) {
    this.config = deps.config ?? DEFAULT_FANOUT_CONFIG;
  }

  /**
   * Handles a stream batch. Returns the sequence number of the first record to retry (the
   * earliest first record of a failed topic), or undefined when all went out.
   */
  async handleChanges(changes: readonly BatchChange[], stats: FanoutStats = emptyStats()): Promise<string | undefined> {
    // Topic → its events in stream order, each remembering the record it came from.
    const byTopic = new Map<string, { position: number; sequenceNumber: string; events: TopicEventSpec[] }>();
    changes.forEach(({ sequenceNumber, change }, position) => {
      for (const event of topicEventsForChange(change)) {
        const group = byTopic.get(event.topic) ?? { position, sequenceNumber, events: [] };
        group.events.push(event);
        byTopic.set(event.topic, group);
      }
    });

    let firstFailure: { position: number; sequenceNumber: string } | undefined;
    await forEachLimited(byTopic, this.config.topicConcurrency, async ([topic, group]) => {
      try {
        const events = coalesce(group.events);
        stats.events += events.length;
        stats.coalesced += group.events.length - events.length;
        await this.publish(topic, events, stats);
      } catch (error) {
        this.deps.onTopicFailure?.(topic, error);
        if (!firstFailure || group.position < firstFailure.position) firstFailure = group;
      }
    });
    return firstFailure?.sequenceNumber;
  }

  /** Delivers a job from the fan-out queue: the job's range of the log to one shard. */
  async deliverJob(job: FanoutJob, stats: FanoutStats = emptyStats()): Promise<void> {
    const entries = await this.deps.log.read(job.topic, job.fromSeq - 1, job.toSeq - job.fromSeq + 1);
    // Entries past the log's retention are gone; subscribers that missed them get `reset` on resume.
    if (entries.length === 0) return;
    await this.deliverShard(job.topic, job.shard, entries, stats);
  }

  private async publish(topic: string, events: readonly TopicEvent[], stats: FanoutStats): Promise<void> {
    const { entries, shards } = await this.deps.log.assign(topic, events);
    await this.deps.log.append(entries);
    if (shards > 1) {
      const range = { topic, fromSeq: Math.min(...entries.map((e) => e.seq)), toSeq: Math.max(...entries.map((e) => e.seq)) };
      const jobs = Array.from({ length: shards }, (_, shard) => ({ ...range, shard }));
      await this.deps.jobs.enqueue(jobs);
      stats.jobsEnqueued += jobs.length;
    } else {
      await this.deliverShard(
        topic,
        0,
        [...entries].sort((a, b) => a.seq - b.seq),
        stats,
      );
    }
  }

  private async deliverShard(topic: string, shard: number, entries: readonly LogEntry[], stats: FanoutStats): Promise<void> {
    // Frames differ per subscriber only in `id`: serialise the rest once per entry.
    const tails = entries.map((entry) => JSON.stringify(dataFrame('', entry)).slice('{"type":"data","id":""'.length));
    const frameFor = (subId: string, i: number) => `{"type":"data","id":${JSON.stringify(subId)}${tails[i]}`;

    const lastSeq = entries.at(-1)!.seq; // entries come in seq order
    for await (const page of this.deps.registry.edges(topic, shard, (units) => (stats.readCapacityUnits += units))) {
      await forEachLimited(page, this.config.concurrency, async (read) => {
        // A pending edge is being replayed to: tell it what it missed (its go-live replays that
        // first), unless it went live since we read it, in which case the events are ours to send.
        let edge = read;
        if (read.mode === 'pending') {
          const missed = await this.deps.registry.markMissed(topic, shard, read, lastSeq);
          if (typeof missed !== 'object') return;
          edge = { ...read, mode: 'live', liveFrom: missed.liveFrom };
        }
        for (let i = 0; i < entries.length; i++) {
          // Replayed to it already, or skipped by its `reset`: not this edge's to receive.
          if (entries[i]!.seq <= edge.liveFrom) continue;
          const outcome = await this.deps.poster.post(edge.connectionId, frameFor(edge.subId, i));
          if (outcome === 'gone') {
            stats.goneConnections += 1;
            await this.deps.registry.forget(edge.connectionId);
            return;
          }
          stats.deliveries += 1;
        }
      });
    }
  }
}
