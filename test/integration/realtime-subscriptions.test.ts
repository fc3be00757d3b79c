/**
 * Subscribe → replay → go live (lambdas/shared/realtime/subscriptions.ts) on a real registry and
 * log in DynamoDB Local, with a recording poster in place of API Gateway. Covers what a client
 * sees: `subscribed`, the replayed data in order, `reset` and its reason in each case the log
 * cannot serve, 410s during the exchange, refusals, and events published by fan-out while the
 * subscriber replays (every seq arrives, in order, possibly twice, never missing).
 */
import { describe, expect, it } from 'vitest';
import { BadRequestError, ForbiddenError } from '../../lambdas/shared/errors';
import { Fanout } from '../../lambdas/shared/realtime/fanout';
import { Throttled } from '../../lambdas/shared/realtime/poster';
import type { ServerFrame } from '../../lambdas/shared/realtime/frames';
import { DynamoSubscriptionRegistry, edgePartition } from '../../lambdas/shared/realtime/dynamo-subscription-registry';
import { DynamoTopicLog, logKey } from '../../lambdas/shared/realtime/dynamo-topic-log';
import { DEFAULT_REGISTRY_CONFIG, type SubscriptionRegistry } from '../../lambdas/shared/realtime/subscription-registry';
import { SubscriptionService, type SubscriptionServiceConfig } from '../../lambdas/shared/realtime/subscriptions';
import type { TopicLog } from '../../lambdas/shared/realtime/topic-log';
import {
  connect,
  deleteItem,
  events,
  getItem,
  partition,
  RecordingPoster,
  useLocalDynamo,
  topicEventChange,
  type LocalDynamo,
} from '../support/realtime-local';

const ALICE = { userId: 'u1', role: 'user' };

let local: LocalDynamo;
let table: string;
let registry: SubscriptionRegistry;
let log: TopicLog;
let poster: RecordingPoster;

useLocalDynamo(async (started, fresh) => {
  local = started;
  table = fresh;
  registry = new DynamoSubscriptionRegistry(local.db, table, DEFAULT_REGISTRY_CONFIG);
  // Numbers from 1, as a topic's first head would give if it started at epoch 0.
  log = new DynamoTopicLog(local.db, table, undefined, () => 0);
  poster = new RecordingPoster();
  await connect(local.db, table, 'c1', ALICE.userId);
});

/** Frame versions (API Gateway's receive time): each frame here is later than the one before. */
let version = 1_700_000_000_000;
const v = () => ++version;

function service(config: Partial<SubscriptionServiceConfig> = {}): SubscriptionService {
  return new SubscriptionService(registry, log, poster, { maxReplay: 1_000, logWaitMs: 2_000, ...config });
}

/** What fan-out does before delivering: number `n` events and append them to the log. */
async function publish(topic: string, n: number, prefix = 'e'): Promise<void> {
  const first = ((await registry.head(topic))?.seq ?? 0) + 1;
  await log.append((await log.assign(topic, events(`${prefix}${first}`, n))).entries);
}

const frameTypes = (connectionId = 'c1') => poster.framesTo(connectionId).map((f) => (f.type === 'data' ? `data:${f.seq}` : f.type));
const resets = () => poster.framesTo('c1').filter((f): f is Extract<ServerFrame, { type: 'reset' }> => f.type === 'reset');
const edgeMode = async (topic: string, subId = 's1') => (await getItem(local.db, table, edgePartition(topic, 0), `c1#${subId}`))?.mode;

describe('subscribe', () => {
  it('without lastEventId: answers subscribed, replays nothing and goes live', async () => {
    await publish('feed:a', 3);
    expect(await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a' })).toBe('subscribed');
    expect(poster.framesTo('c1')).toEqual([{ type: 'subscribed', id: 's1', topic: 'feed:a' }]);
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it('with lastEventId: replays exactly the missing events, in order, then goes live', async () => {
    await publish('feed:a', 5);
    const outcome = await service().subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:2',
    });
    expect(outcome).toBe('subscribed');
    expect(frameTypes()).toEqual(['subscribed', 'data:3', 'data:4', 'data:5']);
    expect(poster.framesTo('c1')[1]).toEqual({
      type: 'data',
      id: 's1',
      topic: 'feed:a',
      eventId: 'feed:a:3',
      seq: 3,
      event: 'tick',
      payload: { i: 3 },
      ts: '2026-11-21T10:00:00.000Z',
    });
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it('with lastEventId at the head or at 0 of an empty topic: nothing to replay', async () => {
    await publish('feed:a', 2);
    await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId: 'feed:a:2' });
    await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's2', topic: 'feed:new', lastEventId: 'feed:new:0' });
    expect(frameTypes()).toEqual(['subscribed', 'subscribed']);
    expect(await edgeMode('feed:a', 's1')).toBe('live');
    expect(await edgeMode('feed:new', 's2')).toBe('live');
  });

  it('resets with replay_unavailable when lastEventId is ahead of the head', async () => {
    await publish('feed:a', 2);
    await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId: 'feed:a:5' });
    expect(frameTypes()).toEqual(['subscribed', 'reset']);
    expect(resets()).toEqual([{ type: 'reset', id: 's1', topic: 'feed:a', reason: 'replay_unavailable' }]);
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it('resets with replay_window_exceeded past maxReplay, and replays a gap of exactly maxReplay', async () => {
    await publish('feed:a', 10);
    const svc = service({ maxReplay: 3 });
    await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId: 'feed:a:6' });
    expect(frameTypes()).toEqual(['subscribed', 'reset']);
    expect(resets()[0]?.reason).toBe('replay_window_exceeded');
    expect(await edgeMode('feed:a', 's1')).toBe('live');

    poster.posted.length = 0;
    await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's2', topic: 'feed:a', lastEventId: 'feed:a:7' });
    expect(frameTypes()).toEqual(['subscribed', 'data:8', 'data:9', 'data:10']);
  });

  it('resets with replay_window_exceeded at an entry that expired from the log, after what it could replay', async () => {
    await publish('feed:a', 5);
    await deleteItem(local.db, table, logKey('feed:a', 3).pk, logKey('feed:a', 3).sk);
    await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId: 'feed:a:0' });
    expect(frameTypes()).toEqual(['subscribed', 'data:1', 'data:2', 'reset']);
    expect(resets()[0]?.reason).toBe('replay_window_exceeded');
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it('resets with replay_unavailable when numbered events never reach the log within logWaitMs', async () => {
    await publish('feed:a', 2);
    await log.assign('feed:a', events('lost', 2)); // numbered 3-4, never appended
    const started = Date.now();
    await service({ logWaitMs: 150 }).subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:0',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(frameTypes()).toEqual(['subscribed', 'data:1', 'data:2', 'reset']);
    expect(resets()[0]?.reason).toBe('replay_unavailable');
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it('waits for numbered events that reach the log late, within logWaitMs', async () => {
    const { entries } = await log.assign('feed:a', events('late', 2));
    const appended = new Promise((r) => setTimeout(r, 60)).then(() => log.append(entries));
    await service({ logWaitMs: 2_000 }).subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:0',
    });
    await appended;
    expect(frameTypes()).toEqual(['subscribed', 'data:1', 'data:2']);
  });

  it('still waits logWaitMs for the log after a replay that took longer than logWaitMs', async () => {
    // The wait is for fan-out's append to catch up with its numbering; a long replay before it
    // must not use up that allowance.
    await publish('feed:a', 4);
    const { entries } = await log.assign('feed:a', events('late', 1)); // numbered 5; fan-out's append is slow
    const late = new Promise((r) => setTimeout(r, 1_700)).then(() => log.append(entries));
    poster.hook = async (_, frame) => {
      if (frame.type === 'data') await new Promise((r) => setTimeout(r, 300)); // a slow client link: 4 × 300 ms > logWaitMs
    };
    await service({ logWaitMs: 1_000 }).subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:0',
    });
    await late;
    expect(frameTypes()).toEqual(['subscribed', 'data:1', 'data:2', 'data:3', 'data:4', 'data:5']);
  });

  it('answers already_subscribed, repeating the subscribed frame, for the same id and topic', async () => {
    const svc = service();
    await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a' });
    expect(await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a' })).toBe('already_subscribed');
    expect(frameTypes()).toEqual(['subscribed', 'subscribed']);
  });
});

describe('subscribe: refusals and gone connections', () => {
  it("throws ForbiddenError for another user's topic, registering nothing and sending nothing", async () => {
    const error = await service()
      .subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'user:u2' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(poster.posted).toEqual([]);
    expect(await getItem(local.db, table, 'conn#c1', 'sub#s1')).toBeUndefined();
    expect(await registry.head('user:u2')).toBeUndefined();
  });

  it('lets a user subscribe to their own topic', async () => {
    expect(await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'user:u1' })).toBe('subscribed');
  });

  it('throws ForbiddenError for a connection without a user', async () => {
    await expect(
      service().subscribe({ receivedAt: v(), connectionId: 'c1', who: { userId: '', role: 'user' }, id: 's1', topic: 'feed:a' }),
    ).rejects.toThrow(ForbiddenError);
  });

  it.each([
    ['a bad topic', { topic: 'room:1' }],
    ["another topic's lastEventId", { topic: 'feed:a', lastEventId: 'feed:b:1' }],
    ['a malformed lastEventId', { topic: 'feed:a', lastEventId: 'feed:a:01' }],
  ])('throws BadRequestError for %s before registering anything', async (_, fields) => {
    const error = await service()
      .subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', ...fields })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(poster.posted).toEqual([]);
    expect(await getItem(local.db, table, 'conn#c1', 'sub#s1')).toBeUndefined();
  });

  it('answers connection_gone, sending nothing, when the connection record is missing', async () => {
    expect(await service().subscribe({ receivedAt: v(), connectionId: 'ghost', who: ALICE, id: 's1', topic: 'feed:a' })).toBe(
      'connection_gone',
    );
    expect(poster.posted).toEqual([]);
  });

  it('forgets the connection when the subscribed frame finds it gone', async () => {
    poster.gone.add('c1');
    expect(await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a' })).toBe(
      'connection_gone',
    );
    expect(await partition(local.db, table, 'conn#c1')).toEqual([]);
    expect(await partition(local.db, table, edgePartition('feed:a', 0))).toEqual([]);
  });

  it('forgets the connection, with all it subscribed to, when a replayed frame finds it gone', async () => {
    await publish('feed:a', 5);
    await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 'other', topic: 'feed:b' });
    poster.hook = (_, frame) => (frame.type === 'data' && frame.seq === 2 ? 'gone' : undefined);
    const outcome = await service().subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:0',
    });
    expect(outcome).toBe('connection_gone');
    expect(frameTypes()).toEqual(['subscribed', 'subscribed', 'data:1']);
    expect(await partition(local.db, table, 'conn#c1')).toEqual([]);
    expect(await partition(local.db, table, edgePartition('feed:a', 0))).toEqual([]);
    expect(await partition(local.db, table, edgePartition('feed:b', 0))).toEqual([]);
  });
});

describe('subscribe after a failed subscribe', () => {
  it('a retry with the same id after a replay failed half-way still goes live', async () => {
    // Throttled (or any DynamoDB error) escaping the replay leaves the edge pending; the client
    // got an `internal` error frame and retries the same subscribe. It must not end up
    // "subscribed" on an edge fan-out skips forever.
    await publish('feed:a', 3);
    poster.hook = (connectionId, frame) => {
      if (frame.type === 'data') throw new Throttled(connectionId, new Error('LimitExceededException'));
    };
    const svc = service();
    await expect(
      svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId: 'feed:a:0' }),
    ).rejects.toThrow(Throttled);

    poster.hook = undefined;
    expect(await edgeMode('feed:a')).toBe('pending');
    const outcome = await svc.subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:0',
    });
    expect(outcome).toBe('already_subscribed');
    expect(frameTypes()).toEqual(['subscribed', 'subscribed', 'data:1', 'data:2', 'data:3']);
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it.each([
    ['past maxReplay', 'feed:a:2', 'replay_window_exceeded'],
    ['ahead of the head', 'feed:a:12', 'replay_unavailable'],
  ] as const)('a retry with a lastEventId %s gets the same reset as a first subscribe', async (_, lastEventId, reason) => {
    // Without the reset the client believes it resumed from its lastEventId and silently lacks
    // every event up to the head.
    await publish('feed:a', 10);
    const svc = service({ maxReplay: 3 });
    poster.hook = (connectionId, frame) => {
      if (frame.type === 'subscribed') throw new Throttled(connectionId, new Error('LimitExceededException'));
    };
    await expect(
      svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId }),
    ).rejects.toThrow(Throttled);

    poster.hook = undefined;
    await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId });
    expect(frameTypes()).toEqual(['subscribed', 'reset']);
    expect(resets()[0]?.reason).toBe(reason);
    expect(await edgeMode('feed:a')).toBe('live');
  });
});

describe('unsubscribe', () => {
  it('removes the subscription and its edge, idempotently, leaving a tombstone', async () => {
    const svc = service();
    await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a' });
    expect(await svc.unsubscribe('c1', 's1', v())).toBe('unsubscribed');
    expect(await svc.unsubscribe('c1', 's1', v())).toBe('unsubscribed');
    expect(await getItem(local.db, table, 'conn#c1', 'sub#s1')).toMatchObject({ gone: true });
    expect(await edgeMode('feed:a')).toBeUndefined();
  });
});

describe('the last frame for an id wins', () => {
  it('a subscribe run after the unsubscribe sent after it sends nothing and registers nothing', async () => {
    await publish('feed:a', 2);
    const svc = service();
    const subscribeSent = v();
    expect(await svc.unsubscribe('c1', 's1', v())).toBe('unsubscribed');
    expect(
      await svc.subscribe({
        receivedAt: subscribeSent,
        connectionId: 'c1',
        who: ALICE,
        id: 's1',
        topic: 'feed:a',
        lastEventId: 'feed:a:0',
      }),
    ).toBe('superseded');
    expect(poster.framesTo('c1')).toEqual([]);
    expect(await edgeMode('feed:a')).toBeUndefined();
  });

  it('an unsubscribe run after the subscribe sent after it is superseded and the subscription stays live', async () => {
    const svc = service();
    const unsubscribeSent = v();
    expect(await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a' })).toBe('subscribed');
    expect(await svc.unsubscribe('c1', 's1', unsubscribeSent)).toBe('superseded');
    expect(await edgeMode('feed:a')).toBe('live');
  });
});

describe('topic heads that expire', () => {
  // The production numbering: a head starts above epoch seconds × 100,000.
  const timedLog = (at: Date) => new DynamoTopicLog(local.db, table, () => at);
  const timedService = (at: Date) => new SubscriptionService(registry, timedLog(at), poster);

  it("a resume from an older head of the topic gets reset, not the new head's events as if they were the missed ones", async () => {
    const before = new Date('2026-11-01T00:00:00Z');
    const [old] = (await timedLog(before).assign('feed:a', events('old', 1))).entries;
    await deleteItem(local.db, table, 'topic#feed:a', 'head'); // expired (TTL)
    const after = new Date('2026-11-20T00:00:00Z');
    const fresh = timedLog(after);
    await fresh.append((await fresh.assign('feed:a', events('new', 3))).entries);

    const outcome = await timedService(after).subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: `feed:a:${old!.seq}`,
    });
    expect(outcome).toBe('subscribed');
    expect(frameTypes()).toEqual(['subscribed', 'reset']);
    expect(resets()[0]!.reason).toBe('replay_window_exceeded');
    expect(await edgeMode('feed:a')).toBe('live');
  });

  it('a subscriber of a topic without a head that gets one during the subscribe misses nothing and is not reset', async () => {
    const at = new Date('2026-11-20T00:00:00Z');
    const clockedLog = timedLog(at);
    const fan = new Fanout({ registry, log: clockedLog, poster, jobs: { enqueue: () => Promise.reject(new Error('not hot')) } });
    let published = false;
    const racing: SubscriptionRegistry = Object.assign(Object.create(registry) as SubscriptionRegistry, {
      goLive: async (...args: Parameters<SubscriptionRegistry['goLive']>) => {
        if (!published) {
          published = true; // the topic's first event, fanned out between register and the switch
          expect(await fan.handleChanges([{ sequenceNumber: 'r1', change: topicEventChange('r1', 'feed:new') }])).toBeUndefined();
        }
        return registry.goLive(...args);
      },
    });
    const svc = new SubscriptionService(racing, clockedLog, poster);
    expect(await svc.subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:new' })).toBe('subscribed');
    const base = (at.getTime() / 1000) * 100_000;
    expect(frameTypes()).toEqual(['subscribed', `data:${base + 1}`]);
    expect(await edgeMode('feed:new')).toBe('live');
  });
});

describe('subscribe while fan-out publishes', () => {
  const neverEnqueue = { enqueue: () => Promise.reject(new Error('no hot topics here')) };
  let changeCount = 0;
  const fanout = () => new Fanout({ registry, log, poster, jobs: neverEnqueue });
  const fanoutPublish = (f: Fanout, topic: string) => {
    const id = `rec-${++changeCount}`;
    return f.handleChanges([{ sequenceNumber: id, change: topicEventChange(id, topic) }]);
  };

  /** Every seq from `from` to `to` arrived, in non-decreasing order (a repeat is allowed). */
  function expectGapFreeInOrder(seqs: number[], from: number, to: number): void {
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect([...new Set(seqs)]).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  }

  it('replays an event numbered during the replay and then goes live', async () => {
    await publish('feed:a', 3);
    const f = fanout();
    let published = false;
    poster.hook = async (_, frame) => {
      if (frame.type === 'data' && !published) {
        published = true;
        expect(await fanoutPublish(f, 'feed:a')).toBeUndefined(); // numbered 4; the pending edge gets nothing
      }
    };
    await service().subscribe({ receivedAt: v(), connectionId: 'c1', who: ALICE, id: 's1', topic: 'feed:a', lastEventId: 'feed:a:0' });
    expect(await edgeMode('feed:a')).toBe('live');
    await fanoutPublish(f, 'feed:a'); // 5, live
    expectGapFreeInOrder(poster.seqsTo('c1', 's1'), 1, 5);
  });

  it('misses nothing and reorders nothing while a stream of events is fanned out', async () => {
    await publish('feed:a', 5);
    const f = fanout();
    // A slow link makes the replay interleave with fan-out.
    poster.hook = (_, frame) => (frame.type === 'data' ? new Promise<void>((r) => setTimeout(r, 3)) : undefined);
    const producer = (async () => {
      for (let i = 0; i < 25; i++) {
        expect(await fanoutPublish(f, 'feed:a')).toBeUndefined();
        await new Promise((r) => setTimeout(r, i % 3));
      }
    })();
    const outcome = await service().subscribe({
      receivedAt: v(),
      connectionId: 'c1',
      who: ALICE,
      id: 's1',
      topic: 'feed:a',
      lastEventId: 'feed:a:1',
    });
    await producer;
    expect(outcome).toBe('subscribed');
    expect(resets()).toEqual([]);
    expect((await registry.head('feed:a'))?.seq).toBe(30);
    expectGapFreeInOrder(poster.seqsTo('c1', 's1'), 2, 30);
  });
});
