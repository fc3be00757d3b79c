/**
 * The subscription store (lambdas/shared/billing/dynamo-subscriptions.ts) on DynamoDB Local, with
 * the domain table's due index: the conditions that make every change apply once (a subscribe
 * raced 50 times, a change checked against a stale read, the charge lease) and the index the
 * reconciliation queries.
 */
import { describe, expect, it } from 'vitest';
import { DUE_INDEX, DynamoSubscriptionStore, dueBucket, subscriptionKey } from '../../lambdas/shared/billing/dynamo-subscriptions';
import type { Subscription } from '../../lambdas/shared/billing/subscription';
import { getItem, type LocalDynamo, useLocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
let store: DynamoSubscriptionStore;

useLocalDynamo(
  (started, fresh) => {
    local = started;
    table = fresh;
    store = new DynamoSubscriptionStore(local.db, table);
  },
  // The domain table's due index, as lib/constructs/storage.ts creates it.
  [DUE_INDEX],
);

const NOW = Date.parse('2027-01-31T09:30:00Z');

function fresh(userId: string, id = `sub_${userId}`): Subscription {
  return {
    id,
    userId,
    planId: 'basic-monthly',
    status: 'incomplete',
    amount: 999,
    currency: 'USD',
    interval: 'month',
    intervalCount: 1,
    period: 0,
    cancelAtPeriodEnd: false,
    paymentToken: 'tok_ok',
    createdAt: new Date(NOW).toISOString(),
    updatedAt: new Date(NOW).toISOString(),
  };
}

const activate = (userId: string, id: string, dueAt: string) =>
  store.update(
    userId,
    { id, status: ['incomplete'] },
    { set: { status: 'active', period: 1, dueAt, currentPeriodEnd: dueAt }, remove: ['leaseUntil'] },
  );

describe('DynamoSubscriptionStore', () => {
  it('50 concurrent begins for one user: exactly one begins, the rest are in progress', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.begin(fresh('u1', `sub_${i}`), NOW + 60_000, NOW)));
    expect(results.filter((r) => r === 'begun')).toHaveLength(1);
    expect(results.filter((r) => r === 'in_progress')).toHaveLength(49);
  });

  it('a subscription with access refuses a new begin; an ended or lapsed-incomplete one is replaced', async () => {
    await store.begin(fresh('u1', 'a'), NOW + 60_000, NOW);
    expect(await store.begin(fresh('u1', 'b'), NOW + 60_000, NOW + 1)).toBe('in_progress');
    // The lease lapsed: the incomplete subscription may be replaced.
    expect(await store.begin(fresh('u1', 'c'), NOW + 200_000, NOW + 120_000)).toBe('begun');
    await activate('u1', 'c', '2027-02-28T09:30:00.000Z');
    expect(await store.begin(fresh('u1', 'd'), NOW + 400_000, NOW + 300_000)).toBe('already_subscribed');
    await store.update('u1', { id: 'c', status: ['active'] }, { set: { status: 'canceled' }, remove: ['dueAt'] });
    expect(await store.begin(fresh('u1', 'e'), NOW + 400_000, NOW + 300_000)).toBe('begun');
    expect((await store.get('u1'))?.id).toBe('e');
  });

  it('a change applies only to what the caller saw: id, status, due time, and no live lease', async () => {
    await store.begin(fresh('u1'), NOW + 60_000, NOW);
    expect(await store.update('u1', { id: 'other', status: ['incomplete'] }, { set: { planId: 'x' } })).toBeUndefined();
    expect(await store.update('u1', { id: 'sub_u1', status: ['active'] }, { set: { planId: 'x' } })).toBeUndefined();
    expect(await store.lease('u1', { id: 'sub_u1', status: ['incomplete'] }, NOW + 90_000, NOW + 1)).toBeUndefined();
    const due = '2027-02-28T09:30:00.000Z';
    expect(await activate('u1', 'sub_u1', due)).toMatchObject({ status: 'active', dueAt: due });
    expect(
      await store.update('u1', { id: 'sub_u1', status: ['active'], dueAt: '2027-03-31T09:30:00.000Z' }, { set: { period: 2 } }),
    ).toBeUndefined();
    // Two workers with the same due job: one wins.
    const both = await Promise.all(
      [1, 2].map(() =>
        store.update('u1', { id: 'sub_u1', status: ['active'], dueAt: due }, { set: { period: 2, dueAt: '2027-03-31T09:30:00.000Z' } }),
      ),
    );
    expect(both.filter(Boolean)).toHaveLength(1);
  });

  it('keeps the due index keys with dueAt and drops them with it', async () => {
    await store.begin(fresh('u1'), NOW + 60_000, NOW);
    const due = '2027-02-28T09:30:00.000Z';
    await activate('u1', 'sub_u1', due);
    const key = subscriptionKey('u1');
    expect(await getItem(local.db, table, key.pk, key.sk)).toMatchObject({ dueBucket: dueBucket(due), dueSort: `${due}#u1` });
    await store.update('u1', { id: 'sub_u1', status: ['active'] }, { set: { status: 'past_due' }, remove: ['dueAt'] });
    const item = await getItem(local.db, table, key.pk, key.sk);
    expect(item).not.toHaveProperty('dueBucket');
    expect(item).not.toHaveProperty('dueAt');
  });

  it('due() answers the subscriptions of one day due by a time, and nothing else', async () => {
    const dues = ['2027-02-28T09:10:00.000Z', '2027-02-28T09:40:00.000Z', '2027-03-01T00:05:00.000Z'];
    for (const [i, due] of dues.entries()) {
      await store.begin(fresh(`u${i}`), NOW + 60_000, NOW);
      await activate(`u${i}`, `sub_u${i}`, due);
    }
    const day = new Date('2027-02-28T00:00:00Z');
    expect(await store.due(day, new Date('2027-02-28T09:30:00Z'))).toEqual([{ userId: 'u0', subscriptionId: 'sub_u0', dueAt: dues[0] }]);
    expect((await store.due(day, new Date('2027-03-02T00:00:00Z'))).map((r) => r.userId)).toEqual(['u0', 'u1']);
    expect(await store.due(new Date('2027-03-01T12:00:00Z'), new Date('2027-03-01T00:04:00Z'))).toEqual([]);
  });
});
