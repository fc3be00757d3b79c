/**
 * The subscription registry (lambdas/shared/realtime/dynamo-subscription-registry.ts) against
 * DynamoDB Local: register (pending edge, subscription item, counters, idempotency, the
 * per-connection limit, a missing connection), goLive's three answers, unregister and forget,
 * paging of `edges()`, shard growth of hot topics, and registrations racing on one connection. The
 * transactions and conditions are the point, so they run on a real DynamoDB.
 */
import { describe, expect, it } from 'vitest';
import { PutCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BadRequestError, TooManySubscriptionsError } from '../../lambdas/shared/errors';
import { DynamoSubscriptionRegistry, edgePartition } from '../../lambdas/shared/realtime/dynamo-subscription-registry';
import { DynamoTopicLog } from '../../lambdas/shared/realtime/dynamo-topic-log';
import { HEAD_TTL_SECONDS } from '../../lambdas/shared/realtime/topic-log';
import {
  ConnectionGone,
  DEFAULT_REGISTRY_CONFIG,
  type Edge,
  type RegistryConfig,
  type SubscriptionRegistry,
} from '../../lambdas/shared/realtime/subscription-registry';
import { connect, events, getItem, partition, useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;

useLocalDynamo(async (started, fresh) => {
  local = started;
  table = fresh;
});

/** Every subscribe counts its shard: growth is deterministic. */
const registry = (config: Partial<RegistryConfig> = {}) =>
  new DynamoSubscriptionRegistry(local.db, table, { ...DEFAULT_REGISTRY_CONFIG, growthCheckRate: 1, ...config });

/** Numbers from 1, as the first head of a topic would give if it started at epoch 0. */
const topicLog = () => new DynamoTopicLog(local.db, table, undefined, () => 0);

/** Frame versions (API Gateway's receive time): each call here is a later frame than the one before. */
let version = 1_700_000_000_000;
const v = () => ++version;

const meta = (connectionId: string) => getItem(local.db, table, `conn#${connectionId}`, 'meta');
const head = (topic: string) => getItem(local.db, table, `topic#${topic}`, 'head');
const subItem = (connectionId: string, subId: string) => getItem(local.db, table, `conn#${connectionId}`, `sub#${subId}`);
const edgeItem = (topic: string, shard: number, connectionId: string, subId: string) =>
  getItem(local.db, table, edgePartition(topic, shard), `${connectionId}#${subId}`);

async function allEdges(reg: SubscriptionRegistry, topic: string, shard = 0): Promise<Edge[]> {
  const out: Edge[] = [];
  for await (const page of reg.edges(topic, shard)) out.push(...page);
  return out;
}

describe('register', () => {
  it('writes a pending edge and the subscription item, counts it on the connection, and writes nothing topic-wide', async () => {
    await connect(local.db, table, 'c1');
    const result = await registry().register('c1', 's1', 'feed:prices', v());

    expect(result).toEqual({
      status: 'created',
      subscription: { connectionId: 'c1', subId: 's1', topic: 'feed:prices', shard: 0 },
      head: { seq: 0, base: 0, shards: 1 },
    });
    expect(await subItem('c1', 's1')).toMatchObject({ topic: 'feed:prices', shard: 0, v: version, expiresAt: expect.any(Number) });
    const edge = await edgeItem('feed:prices', 0, 'c1', 's1');
    expect(edge).toMatchObject({ sk: 'c1#s1', mode: 'pending' });
    // Only what fan-out reads: the connection and subscription are in the sort key.
    expect(Object.keys(edge!).sort()).toEqual(['expiresAt', 'mode', 'pk', 'sk', 'v']);
    // No head: subscribing to a topic nobody published to leaves nothing behind it.
    expect(await head('feed:prices')).toBeUndefined();
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it("answers the topic's current head", async () => {
    await new DynamoTopicLog(local.db, table, undefined, () => 1_000).assign('feed:prices', events('e', 7));
    await connect(local.db, table, 'c1');
    const result = await registry().register('c1', 's1', 'feed:prices', v());
    expect(result.status === 'created' && result.head).toEqual({ seq: 1_007, base: 1_000, shards: 1 });
  });

  it('answers exists for the same id and topic, counting nothing twice', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:prices', v());
    expect(await reg.register('c1', 's1', 'feed:prices', v())).toEqual({
      status: 'exists',
      subscription: { connectionId: 'c1', subId: 's1', topic: 'feed:prices', shard: 0 },
    });
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it('refuses the same id for another topic', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:prices', v());
    const error = await reg.register('c1', 's1', 'feed:news', v()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).details).toEqual([{ field: 'id', message: expect.any(String) }]);
    expect(await head('feed:news')).toBeUndefined();
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it('refuses a subscription past the per-connection limit and leaves no trace of it', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 2 });
    await reg.register('c1', 's1', 'feed:a', v());
    await reg.register('c1', 's2', 'feed:b', v());
    const error = await reg.register('c1', 's3', 'feed:c', v()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManySubscriptionsError);
    expect((error as TooManySubscriptionsError).limit).toBe(2);
    expect(await subItem('c1', 's3')).toBeUndefined();
    expect(await partition(local.db, table, edgePartition('feed:c', 0))).toEqual([]);
    expect(await meta('c1')).toMatchObject({ subs: 2 });
  });

  it('throws ConnectionGone when the connection record is missing, leaving no trace', async () => {
    const error = await registry()
      .register('ghost', 's1', 'feed:a', v())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionGone);
    expect((error as ConnectionGone).connectionId).toBe('ghost');
    expect(await subItem('ghost', 's1')).toBeUndefined();
    expect(await partition(local.db, table, edgePartition('feed:a', 0))).toEqual([]);
    // Not recreated as a side effect.
    expect(await meta('ghost')).toBeUndefined();
  });

  it('lets exactly the limit through when registrations race on one connection', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 10 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => reg.register('c1', `s${i}`, `feed:t${i % 3}`, v())));

    const created = results.filter((r) => r.status === 'fulfilled' && r.value.status === 'created');
    const refused = results.filter((r) => r.status === 'rejected');
    const reasons = refused.map((r) => (r as PromiseRejectedResult).reason as Error);
    expect(reasons.filter((e) => !(e instanceof TooManySubscriptionsError)).map((e) => `${e.name}: ${e.message}`)).toEqual([]);
    expect(created).toHaveLength(10);
    expect(refused).toHaveLength(10);
    expect(await meta('c1')).toMatchObject({ subs: 10 });
    const subs = (await partition(local.db, table, 'conn#c1')).filter((item) => String(item.sk).startsWith('sub#'));
    expect(subs).toHaveLength(10);
  });
});

describe('goLive', () => {
  it('switches the edge to live when the head is at the cursor', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const result = await reg.register('c1', 's1', 'feed:a', v());
    if (result.status !== 'created') throw new Error('expected created');
    expect(await reg.goLive(result.subscription, result.head.seq, v())).toBe('live');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'live' });
  });

  it('answers behind, leaving the edge pending, when fan-out marked it as having skipped an event past the cursor', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const result = await reg.register('c1', 's1', 'feed:a', v());
    if (result.status !== 'created') throw new Error('expected created');
    expect(await reg.markMissed('feed:a', 0, { connectionId: 'c1', subId: 's1' }, 3)).toBe('marked');
    expect(await reg.markMissed('feed:a', 0, { connectionId: 'c1', subId: 's1' }, 2)).toBe('marked'); // never backwards
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'pending', missedTo: 3 });
    expect(await reg.goLive(result.subscription, 2, v())).toBe('behind');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'pending' });
    expect(await reg.goLive(result.subscription, 3, v())).toBe('live');
    // Live now: a fan-out that read it pending learns it went live, from where, and delivers itself.
    expect(await reg.markMissed('feed:a', 0, { connectionId: 'c1', subId: 's1' }, 4)).toEqual({ liveFrom: 3 });
    expect(await reg.markMissed('feed:a', 0, { connectionId: 'c1', subId: 'gone' }, 4)).toBe('gone');
  });

  it('writes nothing but the edge: events numbered meanwhile do not hold it back (fan-out will deliver them)', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const result = await reg.register('c1', 's1', 'feed:a', v());
    if (result.status !== 'created') throw new Error('expected created');
    await topicLog().assign('feed:a', events('e', 1));
    expect(await reg.goLive(result.subscription, result.head.seq, v())).toBe('live');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'live', liveFrom: 0 });
  });

  it('answers gone, writing nothing, when the subscription was removed', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const result = await reg.register('c1', 's1', 'feed:a', v());
    if (result.status !== 'created') throw new Error('expected created');
    await reg.unregister('c1', 's1', v());
    expect(await reg.goLive(result.subscription, result.head.seq, v())).toBe('gone');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toBeUndefined();
    // Gone wins over behind: there is nothing left to catch up for.
    await topicLog().assign('feed:a', events('e', 1));
    expect(await reg.goLive(result.subscription, result.head.seq, v())).toBe('gone');
  });
});

describe('unregister and forget', () => {
  it('unregister removes the edge and the count, leaves a tombstone, and is idempotent', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:a', v());
    await reg.register('c1', 's2', 'feed:a', v());

    expect(await reg.unregister('c1', 's1', v())).toEqual({
      status: 'removed',
      subscription: { connectionId: 'c1', subId: 's1', topic: 'feed:a', shard: 0 },
    });
    const tombstone = await subItem('c1', 's1');
    expect(tombstone).toEqual({ pk: 'conn#c1', sk: 'sub#s1', gone: true, v: version, expiresAt: expect.any(Number) });
    expect(tombstone!.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 5 * 60);
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toBeUndefined();
    expect(await edgeItem('feed:a', 0, 'c1', 's2')).toBeDefined();
    expect(await meta('c1')).toMatchObject({ subs: 1 });

    expect(await reg.unregister('c1', 's1', v())).toEqual({ status: 'absent' });
    expect(await reg.unregister('c1', 'never', v())).toEqual({ status: 'absent' });
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it('unregister frees a slot under the limit', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 1 });
    await reg.register('c1', 's1', 'feed:a', v());
    await expect(reg.register('c1', 's2', 'feed:a', v())).rejects.toThrow(TooManySubscriptionsError);
    await reg.unregister('c1', 's1', v());
    await expect(reg.register('c1', 's2', 'feed:a', v())).resolves.toMatchObject({ status: 'created' });
  });

  it('a repeated unsubscribe racing itself frees one slot, not two', async () => {
    // Two `unsubscribe` frames for the same id are two concurrent Lambda invocations.
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 3 });
    for (const id of ['s1', 's2', 's3']) await reg.register('c1', id, 'feed:a', v());
    await Promise.all([reg.unregister('c1', 's3', v()), reg.unregister('c1', 's3', v())]);

    expect(await meta('c1')).toMatchObject({ subs: 2 });
    await reg.register('c1', 's4', 'feed:a', v());
    await expect(reg.register('c1', 's5', 'feed:a', v())).rejects.toThrow(TooManySubscriptionsError);
  });

  it('forget removes the connection, every subscription, tombstone and edge, and is idempotent', async () => {
    await connect(local.db, table, 'c1');
    await connect(local.db, table, 'c2');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:a', v());
    await reg.register('c1', 's2', 'feed:b', v());
    await reg.register('c1', 's3', 'feed:a', v());
    await reg.register('c2', 's1', 'feed:a', v());
    await reg.unregister('c1', 'gone-already', v());

    const removed = await reg.forget('c1');
    expect(removed.map((s) => `${s.subId}@${s.topic}`).sort()).toEqual(['s1@feed:a', 's2@feed:b', 's3@feed:a']);
    expect(await partition(local.db, table, 'conn#c1')).toEqual([]);
    expect((await allEdges(reg, 'feed:a')).map((e) => e.connectionId)).toEqual(['c2']);
    expect(await allEdges(reg, 'feed:b')).toEqual([]);

    expect(await reg.forget('c1')).toEqual([]);
    expect(await meta('c2')).toBeDefined();
  });

  it('forget removes more than one batch (25) of items', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    for (let i = 0; i < 30; i++) await reg.register('c1', `s${i}`, `feed:t${i % 2}`, v());
    expect(await reg.forget('c1')).toHaveLength(30);
    expect(await partition(local.db, table, 'conn#c1')).toEqual([]);
    expect(await allEdges(reg, 'feed:t0')).toEqual([]);
    expect(await allEdges(reg, 'feed:t1')).toEqual([]);
  });
});

describe('the last frame for an id wins (frames run in any order)', () => {
  const live = async (connectionId: string, subId: string) => {
    const item = await subItem(connectionId, subId);
    return item !== undefined && item.gone !== true;
  };

  it('a subscribe sent before an unsubscribe but run after it changes nothing', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const sent = v();
    expect(await reg.unregister('c1', 's1', v())).toEqual({ status: 'absent' });
    expect(await reg.register('c1', 's1', 'feed:a', sent)).toEqual({ status: 'superseded' });
    expect(await live('c1', 's1')).toBe(false);
    expect(await allEdges(reg, 'feed:a')).toEqual([]);
    expect((await meta('c1'))?.subs ?? 0).toBe(0);
    // A later subscribe of the id is applied.
    expect(await reg.register('c1', 's1', 'feed:a', v())).toMatchObject({ status: 'created' });
    expect(await live('c1', 's1')).toBe(true);
  });

  it('an unsubscribe sent before a subscribe but run after it changes nothing', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const sent = v();
    await reg.register('c1', 's1', 'feed:a', v());
    expect(await reg.unregister('c1', 's1', sent)).toEqual({ status: 'superseded' });
    expect(await live('c1', 's1')).toBe(true);
    expect(await allEdges(reg, 'feed:a')).toHaveLength(1);
  });

  it('a repeated subscribe takes its version, so an unsubscribe sent between the two cannot remove it', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:a', v());
    const between = v();
    expect(await reg.register('c1', 's1', 'feed:a', v())).toMatchObject({ status: 'exists' });
    expect(await reg.unregister('c1', 's1', between)).toEqual({ status: 'superseded' });
    expect(await live('c1', 's1')).toBe(true);
    // ... and an older repeat of the subscribe is superseded, not answered again.
    expect(await reg.register('c1', 's1', 'feed:a', between)).toEqual({ status: 'superseded' });
  });

  it('within one millisecond the unsubscribe wins, whichever runs first', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const t = v();
    await reg.register('c1', 's1', 'feed:a', t);
    expect(await reg.unregister('c1', 's1', t)).toMatchObject({ status: 'removed' });
    const u = v();
    await reg.unregister('c1', 's2', u);
    expect(await reg.register('c1', 's2', 'feed:a', u)).toEqual({ status: 'superseded' });
    expect(await allEdges(reg, 'feed:a')).toEqual([]);
  });

  it("an older subscribe's switch to live does not touch the edge a later subscribe of the id created", async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const first = v();
    const old = await reg.register('c1', 's1', 'feed:a', first);
    await reg.unregister('c1', 's1', v());
    const again = v();
    const renewed = await reg.register('c1', 's1', 'feed:a', again);
    if (old.status !== 'created' || renewed.status !== 'created') throw new Error('expected created twice');
    expect(await reg.goLive(old.subscription, 0, first)).toBe('gone');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'pending', v: again });
    expect(await reg.goLive(renewed.subscription, 0, again)).toBe('live');
  });

  it('20 ids subscribed and unsubscribed back to back, run concurrently in either order, end as the last frame said', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const calls: (() => Promise<unknown>)[] = [];
    for (let i = 0; i < 20; i++) {
      const [first, second] = [v(), v()];
      // Even ids: subscribe, then unsubscribe (ends unsubscribed); odd ids: the reverse (ends subscribed).
      const subscribeAt = i % 2 === 0 ? first : second;
      const unsubscribeAt = i % 2 === 0 ? second : first;
      const frames = [() => reg.register('c1', `s${i}`, 'feed:a', subscribeAt), () => reg.unregister('c1', `s${i}`, unsubscribeAt)];
      calls.push(...(i % 4 < 2 ? frames : frames.reverse()));
    }
    await Promise.all(calls.map((call) => call()));
    const subscribed = [];
    for (let i = 0; i < 20; i++) if (await live('c1', `s${i}`)) subscribed.push(i);
    expect(subscribed).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    expect((await allEdges(reg, 'feed:a')).map((e) => Number(e.subId.slice(1))).sort((a, b) => a - b)).toEqual(subscribed);
    expect(await meta('c1')).toMatchObject({ subs: 10 });
  });
});

describe('topic heads', () => {
  it('a subscribe to a topic nobody published to leaves no head; one that was published to expires a week after its last event', async () => {
    const reg = registry();
    for (let i = 0; i < 20; i++) {
      await connect(local.db, table, `c${i}`);
      await reg.register(`c${i}`, 's', `feed:name-${i}`, v());
      await reg.forget(`c${i}`);
    }
    const heads = await local.db.send(
      new ScanCommand({ TableName: table, FilterExpression: 'sk = :head', ExpressionAttributeValues: { ':head': 'head' } }),
    );
    expect(heads.Items).toEqual([]);

    await topicLog().assign('feed:a', events('e', 1));
    const expiresAt = (await head('feed:a'))!.expiresAt as number;
    expect(Math.abs(expiresAt - (Math.floor(Date.now() / 1000) + HEAD_TTL_SECONDS))).toBeLessThan(5);
  });

  it('a subscribe extends a head with less than a day left, and leaves a fresher one alone', async () => {
    const now = Math.floor(Date.now() / 1000);
    await local.db.send(
      new PutCommand({ TableName: table, Item: { pk: 'topic#feed:a', sk: 'head', seq: 5, seqBase: 0, shards: 1, expiresAt: now + 3600 } }),
    );
    await local.db.send(
      new PutCommand({
        TableName: table,
        Item: { pk: 'topic#feed:b', sk: 'head', seq: 5, seqBase: 0, shards: 1, expiresAt: now + 3 * 86400 },
      }),
    );
    await connect(local.db, table, 'c1');
    const reg = registry({ growthCheckRate: 0 });
    await reg.register('c1', 'a', 'feed:a', v());
    await reg.register('c1', 'b', 'feed:b', v());
    expect((await head('feed:a'))!.expiresAt).toBeGreaterThanOrEqual(now + HEAD_TTL_SECONDS);
    expect((await head('feed:b'))!.expiresAt).toBe(now + 3 * 86400);
  });
});

describe('edges', () => {
  it('pages through a shard and yields only well-formed edges with their mode', async () => {
    // Force two-item pages so paginateQuery pages through the real Query. The client is the real
    // one underneath (paginateQuery accepts nothing else), with `send` wrapped.
    const queries: number[] = [];
    const smallPages: DynamoDBDocumentClient = Object.assign(Object.create(local.db) as DynamoDBDocumentClient, {
      send: (command: object) => {
        if (command instanceof QueryCommand) {
          (command.input as { Limit?: number }).Limit = 2;
          queries.push(1);
        }
        return local.db.send(command as never);
      },
    });
    const reg = registry();
    for (let i = 0; i < 5; i++) {
      await connect(local.db, table, `c${i}`);
      const r = await reg.register(`c${i}`, 's', 'feed:a', v());
      if (i % 2 === 0 && r.status === 'created') await reg.goLive(r.subscription, 0, v());
    }
    // Something in the partition that is not an edge must not reach fan-out.
    await local.db.send(new PutCommand({ TableName: table, Item: { pk: edgePartition('feed:a', 0), sk: 'zz#junk', mode: 'weird' } }));

    const paging = new DynamoSubscriptionRegistry(smallPages, table);
    const pages: Edge[][] = [];
    const capacity: number[] = [];
    for await (const page of paging.edges('feed:a', 0, (units) => capacity.push(units))) pages.push(page);

    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(queries.length).toBe(pages.length);
    expect(pages.flat().sort((a, b) => a.connectionId.localeCompare(b.connectionId))).toEqual([
      { connectionId: 'c0', subId: 's', mode: 'live', liveFrom: 0 },
      { connectionId: 'c1', subId: 's', mode: 'pending', liveFrom: 0 },
      { connectionId: 'c2', subId: 's', mode: 'live', liveFrom: 0 },
      { connectionId: 'c3', subId: 's', mode: 'pending', liveFrom: 0 },
      { connectionId: 'c4', subId: 's', mode: 'live', liveFrom: 0 },
    ]);
    expect(capacity.length).toBe(pages.length);
    // DynamoDB Local reports 0 for an empty page where DynamoDB reports 0.5: only the sum is checked.
    expect(capacity.every((units) => units >= 0)).toBe(true);
    expect(capacity.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it('yields one empty page for a topic nobody follows', async () => {
    const pages: Edge[][] = [];
    for await (const page of registry().edges('feed:nobody', 0)) pages.push(page);
    expect(pages).toEqual([[]]);
  });
});

describe('hot topics', () => {
  it('doubles the shard count when a shard passes edgesPerShard and spreads new edges below it', async () => {
    const reg = registry({ edgesPerShard: 5 });
    const shardsAfter: number[] = [];
    const refs = [];
    for (let i = 1; i <= 30; i++) {
      await connect(local.db, table, `c${i}`);
      const r = await reg.register(`c${i}`, 's', 'feed:hot', v());
      if (r.status !== 'created') throw new Error('expected created');
      refs.push(r.subscription);
      shardsAfter.push((await reg.head('feed:hot'))?.shards ?? 1);
    }

    // The 6th subscriber fills shard 0 past 5; later ones split whichever shard they fill.
    expect(shardsAfter[4]).toBe(1);
    expect(shardsAfter[5]).toBe(2);
    const growth = [...new Set(shardsAfter)];
    expect(growth.slice(0, 3)).toEqual([1, 2, 4]);
    for (let i = 1; i < growth.length; i++) expect(growth[i]).toBe(growth[i - 1]! * 2);
    const shards = (await reg.head('feed:hot'))!.shards;
    expect(shards).toBeGreaterThanOrEqual(4);
    expect(shards).toBeLessThanOrEqual(16);
    // A split only writes shards: the head has no seq until an event is numbered.
    expect(await head('feed:hot')).not.toHaveProperty('seq');

    // Every edge lives in the shard its subscription names, below the count, and they spread.
    const byShard = new Map<number, Edge[]>();
    for (let shard = 0; shard < 32; shard++) byShard.set(shard, await allEdges(reg, 'feed:hot', shard));
    for (const ref of refs) {
      expect(ref.shard).toBeLessThan(shards);
      expect(byShard.get(ref.shard)!.map((e) => e.connectionId)).toContain(ref.connectionId);
    }
    expect([...byShard.values()].flat()).toHaveLength(30);
    for (let shard = shards; shard < 32; shard++) expect(byShard.get(shard)).toEqual([]);
    expect([...byShard.values()].filter((edges) => edges.length > 0).length).toBeGreaterThan(2);
  });

  it('stops growing at maxShards', async () => {
    const reg = registry({ edgesPerShard: 1, maxShards: 4 });
    for (let i = 0; i < 12; i++) {
      await connect(local.db, table, `c${i}`);
      await reg.register(`c${i}`, 's', 'feed:hot', v());
    }
    expect(await reg.head('feed:hot')).toMatchObject({ shards: 4 });
  });
});
