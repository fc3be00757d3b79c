/**
 * The WebSocket limits' DynamoDB adapters (lambdas/shared/realtime/dynamo-limits.ts) against
 * DynamoDB Local: 50 parallel attempts never get past a cap (frames, slots, tickets), slots free
 * on release and on expiry, and every item written carries its TTL.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../lambdas/shared/clock';
import {
  DynamoConnectionSlots,
  DynamoFrameCounter,
  DynamoTicketQuota,
  frameCounterKey,
  SLOT_HOLD_SECONDS,
  slotKey,
  ticketCounterKey,
  userPartition,
} from '../../lambdas/shared/realtime/dynamo-limits';
import { FrameLimiter, TooManyTickets } from '../../lambdas/shared/realtime/limits';
import { getItem, partition, useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
useLocalDynamo((l, t) => {
  local = l;
  table = t;
});

const PARALLEL = 50;
const NOW_MS = Date.UTC(2026, 10, 21, 10, 0, 5);
const NOW_S = NOW_MS / 1000;
const parallel = <T>(n: number, work: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => work(i)));

describe('frame counter', () => {
  it('counts 50 parallel frames of one connection exactly once each, and expires its item after the window', async () => {
    const closed: string[] = [];
    const limiter = new FrameLimiter({ frames: 20, windowSeconds: 60, closeAfter: 40 }, new DynamoFrameCounter(local.db, table), {
      close: async (id) => void closed.push(id),
    });
    const admissions = await parallel(PARALLEL, () => limiter.admit('c1', NOW_MS));
    expect(admissions.map((a) => a.count).sort((a, b) => a - b)).toEqual(Array.from({ length: PARALLEL }, (_, i) => i + 1));
    const verdicts = admissions.map((a) => a.verdict);
    expect(verdicts.filter((v) => v === 'handle')).toHaveLength(20);
    expect(verdicts.filter((v) => v === 'rate_limited')).toHaveLength(20);
    expect(verdicts.filter((v) => v === 'close')).toHaveLength(10);
    expect(closed).toHaveLength(10);

    const windowStart = Math.floor(NOW_S / 60) * 60;
    const item = await getItem(local.db, table, frameCounterKey('c1', windowStart).pk, frameCounterKey('c1', windowStart).sk);
    expect(item).toMatchObject({ frames: PARALLEL, expiresAt: windowStart + 60 + 60 });
    // The next window starts again from one.
    expect((await limiter.admit('c1', (windowStart + 60) * 1000)).count).toBe(1);
  });
});

describe('connection slots', () => {
  const clockAt =
    (seconds: number): Clock =>
    () =>
      new Date(seconds * 1000);

  it('lets 50 parallel connects of one user claim exactly the cap, each a different slot', async () => {
    const slots = new DynamoConnectionSlots(local.db, table, 10, clockAt(NOW_S));
    const claimed = await parallel(PARALLEL, (i) => slots.claim('u1', `c${i}`));
    const won = claimed.filter((s): s is number => s !== undefined);
    expect(won).toHaveLength(10);
    expect(new Set(won).size).toBe(10);
    const items = await partition(local.db, table, userPartition('u1'));
    expect(items).toHaveLength(10);
    for (const item of items) expect(item.expiresAt).toBe(NOW_S + SLOT_HOLD_SECONDS);
    // Another user is not affected.
    expect(await slots.claim('u2', 'other')).toBeTypeOf('number');
  });

  it("frees a slot on release (only the releasing connection's), and takes an expired one", async () => {
    const slots = new DynamoConnectionSlots(local.db, table, 2, clockAt(NOW_S));
    expect(await slots.claim('u1', 'a')).toBeTypeOf('number');
    expect(await slots.claim('u1', 'b')).toBeTypeOf('number');
    expect(await slots.claim('u1', 'c')).toBeUndefined();
    await slots.release('u1', 'nobody');
    expect(await slots.claim('u1', 'c')).toBeUndefined();
    await slots.release('u1', 'a');
    expect(await slots.claim('u1', 'c')).toBeTypeOf('number');
    expect((await partition(local.db, table, userPartition('u1'))).map((i) => i.connectionId).sort()).toEqual(['b', 'c']);

    // $disconnect never came for b and c: once their connections have certainly ended, their
    // slots are taken again, whether or not TTL has deleted the items yet.
    const later = new DynamoConnectionSlots(local.db, table, 2, clockAt(NOW_S + SLOT_HOLD_SECONDS));
    const retaken = await parallel(PARALLEL, (i) => later.claim('u1', `late${i}`));
    expect(retaken.filter((s) => s !== undefined)).toHaveLength(2);
    // A late release of an expired claim does not free the slot its successor holds.
    await later.release('u1', 'b');
    expect(await partition(local.db, table, userPartition('u1'))).toHaveLength(2);
  });

  it('ignores items of the user partition that are not slots', async () => {
    await local.db.send(new PutCommand({ TableName: table, Item: { ...ticketCounterKey('u1', 0), issued: 5, expiresAt: 60 } }));
    await local.db.send(new PutCommand({ TableName: table, Item: { ...slotKey('u1', 0), connectionId: 'x' } })); // no expiresAt: malformed
    const slots = new DynamoConnectionSlots(local.db, table, 1, clockAt(NOW_S));
    // Slot 0 is held by a malformed item: the conditional put refuses to take it.
    expect(await slots.claim('u1', 'c')).toBeUndefined();
  });
});

describe('ticket quota', () => {
  it('grants exactly the cap to 50 parallel requests, with Retry-After to the end of the minute', async () => {
    const quota = new DynamoTicketQuota(local.db, table, 30);
    const outcomes = await parallel(PARALLEL, () =>
      quota.take('u1', NOW_MS).then(
        () => 'ok' as const,
        (error: unknown) => error,
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(30);
    const refused = outcomes.filter((o) => o !== 'ok');
    expect(refused).toHaveLength(20);
    for (const error of refused) {
      expect(error).toBeInstanceOf(TooManyTickets);
      expect((error as TooManyTickets).retryAfterSeconds).toBe(55);
    }
    const windowStart = Math.floor(NOW_S / 60) * 60;
    const item = await getItem(local.db, table, ticketCounterKey('u1', windowStart).pk, ticketCounterKey('u1', windowStart).sk);
    expect(item).toMatchObject({ issued: 30, expiresAt: windowStart + 120 });
    // The next minute, and another user, have their own budget.
    await expect(quota.take('u1', (windowStart + 60) * 1000)).resolves.toBeUndefined();
    await expect(quota.take('u2', NOW_MS)).resolves.toBeUndefined();
  });
});
