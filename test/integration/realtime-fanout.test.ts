/**
 * Fan-out (lambdas/shared/realtime/fanout.ts) with the real registry and log on DynamoDB Local and
 * fakes for API Gateway (a recording poster) and the job queue: who receives what and in which
 * order, gone connections, a throttled topic failing alone and its stream retry re-delivering the
 * same seqs, hot topics going through jobs one per shard, and coalescing.
 */
import { describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DomainChange } from '../../lambdas/shared/cdc/change';
import { emptyStats, Fanout, type BatchChange, type FanoutJob } from '../../lambdas/shared/realtime/fanout';
import { dataFrameSchema } from '../../lambdas/shared/realtime/frames';
import { Throttled } from '../../lambdas/shared/realtime/poster';
import { DynamoSubscriptionRegistry, edgePartition } from '../../lambdas/shared/realtime/dynamo-subscription-registry';
import { DynamoTopicLog } from '../../lambdas/shared/realtime/dynamo-topic-log';
import {
  DEFAULT_REGISTRY_CONFIG,
  type RegistryConfig,
  type SubscriptionRef,
  type SubscriptionRegistry,
} from '../../lambdas/shared/realtime/subscription-registry';
import type { TopicLog } from '../../lambdas/shared/realtime/topic-log';
import {
  connect,
  getItem,
  partition,
  RecordingPoster,
  useLocalDynamo,
  topicEventChange,
  type LocalDynamo,
} from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
let registry: SubscriptionRegistry;
let log: TopicLog;
let poster: RecordingPoster;
let enqueued: FanoutJob[];
let failures: { topic: string; error: unknown }[];
let fanout: Fanout;

useLocalDynamo(async (started, fresh) => {
  local = started;
  table = fresh;
  useRegistry(DEFAULT_REGISTRY_CONFIG);
});

function useRegistry(config: RegistryConfig): void {
  registry = new DynamoSubscriptionRegistry(local.db, table, config);
  // Numbers from 1, as a topic's first head would give if it started at epoch 0.
  log = new DynamoTopicLog(local.db, table, undefined, () => 0);
  poster = new RecordingPoster();
  enqueued = [];
  failures = [];
  fanout = new Fanout({
    registry,
    log,
    poster,
    jobs: { enqueue: async (jobs) => void enqueued.push(...jobs) },
    config: { concurrency: 4, topicConcurrency: 2 },
    onTopicFailure: (topic, error) => failures.push({ topic, error }),
  });
}

/** A subscriber whose edge is live (subscribe finished) or still pending (replaying). */
async function subscriber(connectionId: string, subId: string, topic: string, mode: 'live' | 'pending' = 'live'): Promise<SubscriptionRef> {
  if (!(await getItem(local.db, table, `conn#${connectionId}`, 'meta'))) await connect(local.db, table, connectionId);
  const version = Date.now();
  const result = await registry.register(connectionId, subId, topic, version);
  if (result.status !== 'created') throw new Error('expected a new subscription');
  if (mode === 'live') expect(await registry.goLive(result.subscription, result.head.seq, version)).toBe('live');
  return result.subscription;
}

let recordCount = 0;
/** Stream records for `topic`, with increasing sequence numbers. */
function records(topic: string, n: number, options: { event?: string; coalesce?: boolean } = {}): BatchChange[] {
  return Array.from({ length: n }, () => {
    const id = `rec-${++recordCount}`;
    return {
      sequenceNumber: String(1_000_000 + recordCount),
      change: topicEventChange(id, topic, options.event, { rec: id }, { coalesce: options.coalesce }),
    };
  });
}

const headSeq = async (topic: string) => (await registry.head(topic))?.seq;

describe('handleChanges: delivery', () => {
  it("gives every live edge each of the topic's events once, in seq order, and pending edges nothing", async () => {
    await subscriber('c1', 's1', 'feed:a');
    await subscriber('c1', 's1b', 'feed:a'); // a second subscription of one connection gets its own frames
    await subscriber('c2', 's2', 'feed:a');
    await subscriber('c3', 's3', 'feed:a', 'pending');
    await subscriber('c4', 's4', 'feed:b');
    const batch = records('feed:a', 3);
    const stats = emptyStats();

    expect(await fanout.handleChanges(batch, stats)).toBeUndefined();

    expect(poster.seqsTo('c1', 's1')).toEqual([1, 2, 3]);
    expect(poster.seqsTo('c1', 's1b')).toEqual([1, 2, 3]);
    expect(poster.seqsTo('c2', 's2')).toEqual([1, 2, 3]);
    expect(poster.framesTo('c3')).toEqual([]);
    expect(poster.framesTo('c4')).toEqual([]);
    expect(stats).toMatchObject({ events: 3, coalesced: 0, deliveries: 9, goneConnections: 0, jobsEnqueued: 0 });
    expect(await headSeq('feed:a')).toBe(3);
    // The log holds them for subscribers that replay later.
    expect((await log.read('feed:a', 0, 10)).map((e) => e.src)).toEqual(batch.map((b) => `${b.change.id}#0`));
  });

  it('sends data frames that match the protocol, each with its own subscription id', async () => {
    await subscriber('c1', 's.1:x-y_z', 'feed:a');
    const [record] = records('feed:a', 1);
    await fanout.handleChanges([record!]);
    const [frame] = poster.framesTo('c1');
    expect(dataFrameSchema.parse(frame)).toEqual({
      type: 'data',
      id: 's.1:x-y_z',
      topic: 'feed:a',
      eventId: 'feed:a:1',
      seq: 1,
      event: 'price.changed',
      payload: { rec: record!.change.id },
      ts: '2026-11-21T10:00:00.000Z',
    });
  });

  it('keeps each topic in order when a batch interleaves topics', async () => {
    await subscriber('c1', 'a', 'feed:a');
    await subscriber('c1', 'b', 'feed:b');
    const [a1, a2, a3] = records('feed:a', 3);
    const [b1, b2] = records('feed:b', 2);
    await fanout.handleChanges([a1!, b1!, a2!, b2!, a3!]);
    expect(poster.seqsTo('c1', 'a')).toEqual([1, 2, 3]);
    expect(poster.seqsTo('c1', 'b')).toEqual([1, 2]);
    const aPayloads = poster.framesTo('c1').flatMap((f) => (f.type === 'data' && f.id === 'a' ? [f.payload.rec] : []));
    expect(aPayloads).toEqual([a1!.change.id, a2!.change.id, a3!.change.id]);
  });

  it('ignores changes that map to no topic', async () => {
    const user: DomainChange = { id: 'u', type: 'INSERT', occurredAt: '2026-11-21T10:00:00.000Z', newImage: { entity: 'User', id: 'u1' } };
    const modify: DomainChange = { ...topicEventChange('m', 'feed:a'), type: 'MODIFY' };
    const stats = emptyStats();
    expect(
      await fanout.handleChanges(
        [
          { sequenceNumber: '1', change: user },
          { sequenceNumber: '2', change: modify },
        ],
        stats,
      ),
    ).toBeUndefined();
    expect(stats.events).toBe(0);
    expect(await registry.head('feed:a')).toBeUndefined();
  });

  it('forgets a gone connection with everything it subscribed to, after one post, and still serves the rest', async () => {
    await subscriber('c1', 's1', 'feed:a');
    await subscriber('c2', 's2', 'feed:a');
    await subscriber('c2', 'other', 'feed:b');
    const attempts = new Map<string, number>();
    poster.hook = (connectionId) => void attempts.set(connectionId, (attempts.get(connectionId) ?? 0) + 1);
    poster.gone.add('c2');
    const stats = emptyStats();

    expect(await fanout.handleChanges(records('feed:a', 3), stats)).toBeUndefined();

    expect(poster.seqsTo('c1')).toEqual([1, 2, 3]);
    expect(attempts.get('c2')).toBe(1);
    expect(stats).toMatchObject({ goneConnections: 1, deliveries: 3 });
    expect(await partition(local.db, table, 'conn#c2')).toEqual([]);
    expect((await partition(local.db, table, edgePartition('feed:a', 0))).map((e) => String(e.sk).split('#')[0])).toEqual(['c1']);
    expect(await partition(local.db, table, edgePartition('feed:b', 0))).toEqual([]);
  });
});

describe('the replay/live boundary', () => {
  it('sends a live edge only events after the seq it went live at (the rest were replayed to it)', async () => {
    await subscriber('c1', 'early', 'feed:b');
    expect(await fanout.handleChanges(records('feed:b', 2))).toBeUndefined();
    // Joins at seq 2: its edge goes live with liveFrom 2.
    await subscriber('c2', 'late', 'feed:b');
    // Events 1-2 delivered again (a retry, or a delivery still under way when c2 went live)...
    await fanout.deliverJob({ topic: 'feed:b', shard: 0, fromSeq: 1, toSeq: 2 });
    expect(poster.seqsTo('c2', 'late')).toEqual([]);
    expect(poster.seqsTo('c1', 'early')).toEqual([1, 2, 1, 2]);
    // ...and what comes next reaches both.
    expect(await fanout.handleChanges(records('feed:b', 1))).toBeUndefined();
    expect(poster.seqsTo('c2', 'late')).toEqual([3]);
  });
});

describe('handleChanges: failures and the stream retry', () => {
  it("reports a throttled topic's first record and still delivers the other topics", async () => {
    await subscriber('c1', 'a', 'feed:a');
    await subscriber('c2', 'b', 'feed:b');
    const [b1] = records('feed:b', 1);
    const [a1] = records('feed:a', 1);
    const [b2] = records('feed:b', 1);
    const [a2] = records('feed:a', 1);
    const batch = [b1!, a1!, b2!, a2!];
    poster.hook = (connectionId) => {
      if (connectionId === 'c1') throw new Throttled(connectionId, new Error('LimitExceededException'));
    };

    expect(await fanout.handleChanges(batch)).toBe(a1!.sequenceNumber);
    expect(failures.map((f) => f.topic)).toEqual(['feed:a']);
    expect(failures[0]?.error).toBeInstanceOf(Throttled);
    expect(poster.seqsTo('c2')).toEqual([1, 2]);
    expect(poster.seqsTo('c1')).toEqual([]);

    // The stream retries from the reported record; API Gateway has recovered.
    poster.hook = undefined;
    expect(await fanout.handleChanges(batch.slice(1))).toBeUndefined();
    expect(poster.seqsTo('c1')).toEqual([1, 2]);
    // b2 comes again with the seq the client already has: a duplicate it can drop.
    expect(poster.seqsTo('c2')).toEqual([1, 2, 2]);
    expect(await headSeq('feed:a')).toBe(2);
    expect(await headSeq('feed:b')).toBe(2);
  });

  it('re-delivers a partly delivered topic with the same seqs on retry', async () => {
    await subscriber('c1', 'a', 'feed:a');
    const batch = records('feed:a', 3);
    let posts = 0;
    poster.hook = () => {
      if (++posts === 2) throw new Throttled('c1', new Error('429'));
    };
    expect(await fanout.handleChanges(batch)).toBe(batch[0]!.sequenceNumber);
    poster.hook = undefined;
    expect(await fanout.handleChanges(batch)).toBeUndefined();
    expect(poster.seqsTo('c1')).toEqual([1, 1, 2, 3]);
    expect(await headSeq('feed:a')).toBe(3);
  });

  it('reports the earliest first record when several topics fail', async () => {
    await subscriber('c1', 'a', 'feed:a');
    await subscriber('c2', 'b', 'feed:b');
    await subscriber('c3', 'c', 'feed:c');
    const [c1] = records('feed:c', 1);
    const [b1] = records('feed:b', 1);
    const [a1] = records('feed:a', 1);
    poster.hook = (connectionId) => {
      if (connectionId !== 'c3') throw new Throttled(connectionId, undefined);
    };
    expect(await fanout.handleChanges([c1!, b1!, a1!])).toBe(b1!.sequenceNumber);
    expect(failures.map((f) => f.topic).sort()).toEqual(['feed:a', 'feed:b']);
    expect(poster.seqsTo('c3')).toEqual([1]);
  });

  it('fails a topic on any other delivery error too, without failing the batch', async () => {
    await subscriber('c1', 'a', 'feed:a');
    poster.hook = () => {
      throw new Error('InternalServerErrorException');
    };
    const batch = records('feed:a', 2);
    expect(await fanout.handleChanges(batch)).toBe(batch[0]!.sequenceNumber);
  });

  it('keeps the numbers of a retried batch with more than 100 events for one topic', async () => {
    // One numbering call per topic and batch, however many events: a retry finds them all.
    await subscriber('c1', 'a', 'feed:a');
    const batch = records('feed:a', 150);
    expect(await fanout.handleChanges(batch)).toBeUndefined();
    expect(await headSeq('feed:a')).toBe(150);
    expect(await fanout.handleChanges(batch)).toBeUndefined();
    expect(await headSeq('feed:a')).toBe(150);
    expect(new Set(poster.seqsTo('c1')).size).toBe(150);
  });
});

describe('hot topics', () => {
  /** Three live subscribers of a topic that has grown to 4 shards (growth: realtime-registry.test.ts). */
  async function hotTopic(): Promise<SubscriptionRef[]> {
    await local.db.send(new PutCommand({ TableName: table, Item: { pk: 'topic#feed:hot', sk: 'head', shards: 4 } }));
    const subs = [];
    for (let i = 1; i <= 3; i++) subs.push(await subscriber(`c${i}`, 's', 'feed:hot'));
    expect((await registry.head('feed:hot'))?.shards).toBe(4);
    return subs;
  }

  it('enqueues one job per shard with the seq range and posts nothing itself', async () => {
    await hotTopic();
    const stats = emptyStats();
    expect(await fanout.handleChanges(records('feed:hot', 2), stats)).toBeUndefined();
    expect(enqueued.sort((a, b) => a.shard - b.shard)).toEqual(
      [0, 1, 2, 3].map((shard) => ({ topic: 'feed:hot', shard, fromSeq: 1, toSeq: 2 })),
    );
    expect(stats.jobsEnqueued).toBe(4);
    expect(poster.posted).toEqual([]);
    expect((await log.read('feed:hot', 0, 10)).map((e) => e.seq)).toEqual([1, 2]);
  });

  it("delivers a job's range to that shard's edges only; all jobs reach every subscriber once", async () => {
    const subs = await hotTopic();
    await fanout.handleChanges(records('feed:hot', 3));
    const jobs = [...enqueued];

    for (const job of jobs) {
      const before = poster.posted.length;
      await fanout.deliverJob(job);
      const reached = new Set(poster.posted.slice(before).map((p) => p.connectionId));
      const expected = subs.filter((s) => s.shard === job.shard).map((s) => s.connectionId);
      expect([...reached].sort()).toEqual(expected.sort());
    }
    for (const s of subs) expect(poster.seqsTo(s.connectionId)).toEqual([1, 2, 3]);
  });

  it('delivers only the range of the job', async () => {
    const [sub] = await hotTopic();
    await fanout.handleChanges(records('feed:hot', 5));
    await fanout.deliverJob({ topic: 'feed:hot', shard: sub!.shard, fromSeq: 2, toSeq: 4 });
    expect(poster.seqsTo(sub!.connectionId)).toEqual([2, 3, 4]);
  });

  it('does nothing for a range no longer in the log', async () => {
    await hotTopic();
    await expect(fanout.deliverJob({ topic: 'feed:hot', shard: 0, fromSeq: 1, toSeq: 5 })).resolves.toBeUndefined();
    expect(poster.posted).toEqual([]);
  });

  it('a job that finds an edge pending marks what it skipped, and that subscriber replays it before going live', async () => {
    await hotTopic();
    await connect(local.db, table, 'late');
    const version = Date.now();
    const late = await registry.register('late', 's', 'feed:hot', version);
    if (late.status !== 'created') throw new Error('expected created');
    await fanout.handleChanges(records('feed:hot', 2));
    for (const job of enqueued.filter((j) => j.shard === late.subscription.shard)) await fanout.deliverJob(job);
    expect(poster.seqsTo('late')).toEqual([]); // pending: skipped, and marked
    expect(await registry.goLive(late.subscription, 0, version)).toBe('behind');
    expect(await registry.goLive(late.subscription, 2, version)).toBe('live');
  });

  it('an edge that goes live after fan-out read it pending gets the events from fan-out', async () => {
    await hotTopic();
    await connect(local.db, table, 'late');
    const version = Date.now();
    const late = await registry.register('late', 's', 'feed:hot', version);
    if (late.status !== 'created') throw new Error('expected created');
    await fanout.handleChanges(records('feed:hot', 2));
    // The switch lands between fan-out's edge read and its mark.
    const realEdges = registry.edges.bind(registry);
    registry.edges = async function* (...args) {
      for await (const page of realEdges(...args)) {
        if (page.some((e) => e.connectionId === 'late')) expect(await registry.goLive(late.subscription, 0, version)).toBe('live');
        yield page;
      }
    };
    for (const job of enqueued.filter((j) => j.shard === late.subscription.shard)) await fanout.deliverJob(job);
    expect(poster.seqsTo('late')).toEqual([1, 2]);
  });

  it("reports the topic's first record when enqueueing fails", async () => {
    await hotTopic();
    fanout = new Fanout({ registry, log, poster, jobs: { enqueue: () => Promise.reject(new Error('SQS down')) } });
    const batch = records('feed:hot', 2);
    expect(await fanout.handleChanges(batch)).toBe(batch[0]!.sequenceNumber);
  });
});

describe('coalescing', () => {
  it('delivers only the latest coalescable event of a name, in place, with everything else', async () => {
    await subscriber('c1', 's1', 'content:c1');
    const [v1] = records('content:c1', 1, { event: 'likes', coalesce: true });
    const [comment] = records('content:c1', 1, { event: 'comment.added' });
    const [v2, v3] = records('content:c1', 2, { event: 'likes', coalesce: true });
    const [views] = records('content:c1', 1, { event: 'views', coalesce: true });
    const stats = emptyStats();

    await fanout.handleChanges([v1!, comment!, v2!, views!, v3!], stats);

    const delivered = poster.framesTo('c1').flatMap((f) => (f.type === 'data' ? [[f.seq, f.event, f.payload.rec]] : []));
    expect(delivered).toEqual([
      [1, 'comment.added', comment!.change.id],
      [2, 'views', views!.change.id],
      [3, 'likes', v3!.change.id],
    ]);
    expect(stats).toMatchObject({ events: 3, coalesced: 2 });
    expect(await headSeq('content:c1')).toBe(3);
  });
});
