/**
 * The subscription registry (lambdas/shared/realtime/dynamo-subscription-registry.ts) against
 * DynamoDB Local: register (pending edge, subscription item, counters, idempotency, the
 * per-connection limit, a missing connection), goLive's three answers, unregister and forget,
 * paging of `edges()`, shard growth of hot topics, and registrations racing on one connection. The
 * transactions and conditions are the point, so they run on a real DynamoDB.
 */
import { describe, expect, it } from 'vitest';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BadRequestError, TooManySubscriptionsError } from '../../lambdas/shared/errors';
import { DynamoSubscriptionRegistry, edgePartition } from '../../lambdas/shared/realtime/dynamo-subscription-registry';
import { DynamoTopicLog } from '../../lambdas/shared/realtime/dynamo-topic-log';
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

const registry = (config: Partial<RegistryConfig> = {}) =>
  new DynamoSubscriptionRegistry(local.db, table, { ...DEFAULT_REGISTRY_CONFIG, ...config });

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
  it('writes a pending edge and the subscription item, counts the subscriber, and reads the head seq', async () => {
    await connect(local.db, table, 'c1');
    const result = await registry().register('c1', 's1', 'feed:prices');

    expect(result).toEqual({
      status: 'created',
      subscription: { connectionId: 'c1', subId: 's1', topic: 'feed:prices', shard: 0 },
      headSeq: 0,
    });
    expect(await subItem('c1', 's1')).toMatchObject({ topic: 'feed:prices', shard: 0, expiresAt: expect.any(Number) });
    const edge = await edgeItem('feed:prices', 0, 'c1', 's1');
    expect(edge).toMatchObject({ sk: 'c1#s1', mode: 'pending' });
    // Only what fan-out reads: the connection and subscription are in the sort key.
    expect(Object.keys(edge!).sort()).toEqual(['expiresAt', 'mode', 'pk', 'sk']);
    expect(await head('feed:prices')).toMatchObject({ seq: 0, shards: 1, subscribers: 1 });
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it("answers the topic's current seq as headSeq", async () => {
    await new DynamoTopicLog(local.db, table).assign('feed:prices', events('e', 7));
    await connect(local.db, table, 'c1');
    const result = await registry().register('c1', 's1', 'feed:prices');
    expect(result.status === 'created' && result.headSeq).toBe(7);
  });

  it('answers exists for the same id and topic, counting nothing twice', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:prices');
    expect(await reg.register('c1', 's1', 'feed:prices')).toEqual({
      status: 'exists',
      subscription: { connectionId: 'c1', subId: 's1', topic: 'feed:prices', shard: 0 },
    });
    expect(await head('feed:prices')).toMatchObject({ subscribers: 1 });
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it('refuses the same id for another topic', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:prices');
    const error = await reg.register('c1', 's1', 'feed:news').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).details).toEqual([{ field: 'id', message: expect.any(String) }]);
    expect(await head('feed:news')).toBeUndefined();
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it('refuses a subscription past the per-connection limit and leaves no trace of it', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 2 });
    await reg.register('c1', 's1', 'feed:a');
    await reg.register('c1', 's2', 'feed:b');
    const error = await reg.register('c1', 's3', 'feed:c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManySubscriptionsError);
    expect((error as TooManySubscriptionsError).limit).toBe(2);
    expect(await subItem('c1', 's3')).toBeUndefined();
    expect(await partition(local.db, table, edgePartition('feed:c', 0))).toEqual([]);
    expect(await head('feed:c')).toMatchObject({ subscribers: 0 });
    expect(await meta('c1')).toMatchObject({ subs: 2 });
  });

  it('throws ConnectionGone when the connection record is missing, leaving no trace', async () => {
    const error = await registry()
      .register('ghost', 's1', 'feed:a')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionGone);
    expect((error as ConnectionGone).connectionId).toBe('ghost');
    expect(await subItem('ghost', 's1')).toBeUndefined();
    expect(await partition(local.db, table, edgePartition('feed:a', 0))).toEqual([]);
    expect(await head('feed:a')).toMatchObject({ subscribers: 0 });
    // Not recreated as a side effect.
    expect(await meta('ghost')).toBeUndefined();
  });

  it('lets exactly the limit through when registrations race on one connection', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 10 });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => reg.register('c1', `s${i}`, `feed:t${i % 3}`)));

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
    const result = await reg.register('c1', 's1', 'feed:a');
    if (result.status !== 'created') throw new Error('expected created');
    expect(await reg.goLive(result.subscription, result.headSeq)).toBe('live');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'live' });
  });

  it('answers behind, leaving the edge pending, when events were numbered meanwhile', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const result = await reg.register('c1', 's1', 'feed:a');
    if (result.status !== 'created') throw new Error('expected created');
    await new DynamoTopicLog(local.db, table).assign('feed:a', events('e', 1));
    expect(await reg.goLive(result.subscription, result.headSeq)).toBe('behind');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toMatchObject({ mode: 'pending' });
    expect(await reg.goLive(result.subscription, result.headSeq + 1)).toBe('live');
  });

  it('answers gone, writing nothing, when the subscription was removed', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    const result = await reg.register('c1', 's1', 'feed:a');
    if (result.status !== 'created') throw new Error('expected created');
    await reg.unregister('c1', 's1');
    expect(await reg.goLive(result.subscription, result.headSeq)).toBe('gone');
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toBeUndefined();
    // Gone wins over behind: there is nothing left to catch up for.
    await new DynamoTopicLog(local.db, table).assign('feed:a', events('e', 1));
    expect(await reg.goLive(result.subscription, result.headSeq)).toBe('gone');
  });
});

describe('unregister and forget', () => {
  it('unregister removes both items and the counts, and is idempotent', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:a');
    await reg.register('c1', 's2', 'feed:a');

    expect(await reg.unregister('c1', 's1')).toEqual({ connectionId: 'c1', subId: 's1', topic: 'feed:a', shard: 0 });
    expect(await subItem('c1', 's1')).toBeUndefined();
    expect(await edgeItem('feed:a', 0, 'c1', 's1')).toBeUndefined();
    expect(await edgeItem('feed:a', 0, 'c1', 's2')).toBeDefined();
    expect(await head('feed:a')).toMatchObject({ subscribers: 1 });
    expect(await meta('c1')).toMatchObject({ subs: 1 });

    expect(await reg.unregister('c1', 's1')).toBeUndefined();
    expect(await reg.unregister('c1', 'never')).toBeUndefined();
    expect(await head('feed:a')).toMatchObject({ subscribers: 1 });
    expect(await meta('c1')).toMatchObject({ subs: 1 });
  });

  it('unregister frees a slot under the limit', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 1 });
    await reg.register('c1', 's1', 'feed:a');
    await expect(reg.register('c1', 's2', 'feed:a')).rejects.toThrow(TooManySubscriptionsError);
    await reg.unregister('c1', 's1');
    await expect(reg.register('c1', 's2', 'feed:a')).resolves.toMatchObject({ status: 'created' });
  });

  it('a repeated unsubscribe racing itself frees one slot, not two', async () => {
    // Two `unsubscribe` frames for the same id are two concurrent Lambda invocations.
    await connect(local.db, table, 'c1');
    const reg = registry({ maxSubscriptionsPerConnection: 3 });
    for (const id of ['s1', 's2', 's3']) await reg.register('c1', id, 'feed:a');
    await Promise.all([reg.unregister('c1', 's3'), reg.unregister('c1', 's3')]);

    expect(await meta('c1')).toMatchObject({ subs: 2 });
    await reg.register('c1', 's4', 'feed:a');
    await expect(reg.register('c1', 's5', 'feed:a')).rejects.toThrow(TooManySubscriptionsError);
  });

  it('forget removes the connection, every subscription and every edge, and is idempotent', async () => {
    await connect(local.db, table, 'c1');
    await connect(local.db, table, 'c2');
    const reg = registry();
    await reg.register('c1', 's1', 'feed:a');
    await reg.register('c1', 's2', 'feed:b');
    await reg.register('c1', 's3', 'feed:a');
    await reg.register('c2', 's1', 'feed:a');

    const removed = await reg.forget('c1');
    expect(removed.map((s) => `${s.subId}@${s.topic}`).sort()).toEqual(['s1@feed:a', 's2@feed:b', 's3@feed:a']);
    expect(await partition(local.db, table, 'conn#c1')).toEqual([]);
    expect((await allEdges(reg, 'feed:a')).map((e) => e.connectionId)).toEqual(['c2']);
    expect(await allEdges(reg, 'feed:b')).toEqual([]);
    expect(await head('feed:a')).toMatchObject({ subscribers: 1 });
    expect(await head('feed:b')).toMatchObject({ subscribers: 0 });

    expect(await reg.forget('c1')).toEqual([]);
    expect(await head('feed:a')).toMatchObject({ subscribers: 1 });
    expect(await meta('c2')).toBeDefined();
  });

  it('forget removes more than one batch (25) of items', async () => {
    await connect(local.db, table, 'c1');
    const reg = registry();
    for (let i = 0; i < 30; i++) await reg.register('c1', `s${i}`, `feed:t${i % 2}`);
    expect(await reg.forget('c1')).toHaveLength(30);
    expect(await partition(local.db, table, 'conn#c1')).toEqual([]);
    expect(await allEdges(reg, 'feed:t0')).toEqual([]);
    expect(await allEdges(reg, 'feed:t1')).toEqual([]);
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
      const r = await reg.register(`c${i}`, 's', 'feed:a');
      if (i % 2 === 0 && r.status === 'created') await reg.goLive(r.subscription, 0);
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
  it('doubles the shard count as subscribers pass edgesPerShard × shards and spreads new edges below it', async () => {
    const reg = registry({ edgesPerShard: 5 });
    const shardsAfter: number[] = [];
    const refs = [];
    for (let i = 1; i <= 30; i++) {
      await connect(local.db, table, `c${i}`);
      const r = await reg.register(`c${i}`, 's', 'feed:hot');
      if (r.status !== 'created') throw new Error('expected created');
      refs.push(r.subscription);
      shardsAfter.push((await reg.head('feed:hot'))!.shards);
    }

    // 6th subscriber > 5×1, 11th > 5×2, 21st > 5×4.
    expect(shardsAfter[4]).toBe(1);
    expect(shardsAfter[5]).toBe(2);
    expect(shardsAfter[10]).toBe(4);
    expect(shardsAfter[20]).toBe(8);
    expect([...new Set(shardsAfter)]).toEqual([1, 2, 4, 8]);
    expect(await reg.head('feed:hot')).toMatchObject({ shards: 8, subscribers: 30 });

    // Every edge lives in the shard its subscription names, below the count, and they spread.
    const byShard = new Map<number, Edge[]>();
    for (let shard = 0; shard < 16; shard++) byShard.set(shard, await allEdges(reg, 'feed:hot', shard));
    for (const ref of refs) {
      expect(ref.shard).toBeLessThan(8);
      expect(byShard.get(ref.shard)!.map((e) => e.connectionId)).toContain(ref.connectionId);
    }
    expect([...byShard.values()].flat()).toHaveLength(30);
    for (let shard = 8; shard < 16; shard++) expect(byShard.get(shard)).toEqual([]);
    expect([...byShard.values()].filter((edges) => edges.length > 0).length).toBeGreaterThan(2);
  });

  it('stops growing at maxShards', async () => {
    const reg = registry({ edgesPerShard: 1, maxShards: 4 });
    for (let i = 0; i < 12; i++) {
      await connect(local.db, table, `c${i}`);
      await reg.register(`c${i}`, 's', 'feed:hot');
    }
    expect(await reg.head('feed:hot')).toMatchObject({ shards: 4, subscribers: 12 });
  });
});
