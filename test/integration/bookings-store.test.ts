/**
 * The booking store (lambdas/shared/bookings/dynamo-bookings.ts) on DynamoDB Local, with real
 * TransactWriteItems: a seat is never given twice (hundreds of concurrent creates on one slot, a
 * hundred users on twenty slots), a user never holds two overlapping bookings (any durations, any
 * services, in parallel), seats and busy minutes come back exactly once (cancel raced 50 times),
 * a reschedule is all or nothing (into a full slot, racing a create for the last seat), and the
 * reads are queries (slots, my bookings with its cursor, the holds that lapsed).
 *
 * DynamoDB Local runs transactions one at a time, so it never answers `TransactionConflict`; the
 * retry on it is tested with a client that injects the conflicts DynamoDB would.
 */
import { CreateTableCommand, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DUE_INDEX } from '../../lambdas/shared/billing/dynamo-subscriptions';
import { type Booking, type BookingStatus, overlaps, statusAt } from '../../lambdas/shared/bookings/booking';
import type { SeatRules } from '../../lambdas/shared/bookings/booking-store';
import {
  BOOKING_ENTITY,
  BUSY_HOUR_ENTITY,
  bookingKey,
  busyMinutes,
  DynamoBookingStore,
  holdBucket,
  SLOT_COUNTER_ENTITY,
  slotCounterKey,
  USER_BOOKINGS_INDEX,
} from '../../lambdas/shared/bookings/dynamo-bookings';
import { BookingBusy, BookingConflict, BookingNotChangeable, SlotTaken } from '../../lambdas/shared/bookings/errors';
import { DEMO_SERVICES } from '../../lambdas/shared/bookings/services';
import { slotsBetween } from '../../lambdas/shared/bookings/slots';
import { dynamoSize } from '../../lambdas/shared/dynamo-value';
import type { DocumentClientLike } from '../../lambdas/shared/dynamodb';
import { BadRequestError } from '../../lambdas/shared/errors';
import { toErrorResponse } from '../../lambdas/shared/http/response';
import { getItem, type LocalDynamo, partition, startLocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
let store: DynamoBookingStore;
let tables = 0;

/** The domain table's keys and the two indexes bookings read, as lib/constructs/storage.ts creates them. */
async function bookingsTable(): Promise<string> {
  const name = `bookings-${++tables}`;
  await local.raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', DUE_INDEX.partitionKey, DUE_INDEX.sortKey, USER_BOOKINGS_INDEX.sortKey].map((AttributeName) => ({
        AttributeName,
        AttributeType: 'S',
      })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: DUE_INDEX.name,
          KeySchema: [
            { AttributeName: DUE_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: DUE_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...DUE_INDEX.include] },
        },
        {
          IndexName: USER_BOOKINGS_INDEX.name,
          KeySchema: [
            { AttributeName: USER_BOOKINGS_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: USER_BOOKINGS_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  return name;
}

beforeAll(async () => {
  local = await startLocalDynamo();
});
afterAll(async () => {
  await local?.stop();
});
beforeEach(async () => {
  table = await bookingsTable();
  store = new DynamoBookingStore(local.db, table);
});

const CREATED = '2027-02-20T12:00:00.000Z';
/** 2027-03-01 (a Monday) at `h:m` UTC. */
const at = (h: number, m = 0) => new Date(Date.UTC(2027, 2, 1, h, m)).toISOString();
const plus = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

let ids = 0;
function newBooking(userId: string, serviceId: string, start: string, minutes: number, overrides: Partial<Booking> = {}): Booking {
  return {
    id: `bk_${++ids}`,
    userId,
    serviceId,
    start,
    end: plus(start, minutes),
    status: 'confirmed',
    price: null,
    createdAt: CREATED,
    updatedAt: CREATED,
    ...overrides,
  };
}

const service = (id: string, capacity: number): SeatRules => ({ id, capacity });

/** What a call came to: 'ok', or the name of the error it threw. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    return (error as Error).name;
  }
}

function tally(outcomes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
  return counts;
}

async function all(entity: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await local.db.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey }));
    items.push(...(page.Items ?? []).filter((item) => item.entity === entity));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

const bookings = async () => (await all(BOOKING_ENTITY)) as unknown as Booking[];
const seatHolding = (b: Booking) => b.status === 'pending_payment' || b.status === 'confirmed';

async function taken(serviceId: string, start: string): Promise<number | undefined> {
  const key = slotCounterKey(serviceId, start);
  return (await getItem(local.db, table, key.pk, key.sk))?.taken as number | undefined;
}

/** A user's busy minutes as stored: `yyyy-mm-ddThh:mm` → the start (epoch minutes) of the booking holding it. */
async function busyOf(userId: string): Promise<Map<string, number>> {
  const minutes = new Map<string, number>();
  for (const item of await partition(local.db, table, `USER#${userId}`)) {
    if (item.entity !== BUSY_HOUR_ENTITY) continue;
    const hour = (item.sk as string).slice('BUSY#'.length);
    for (const [name, value] of Object.entries(item)) {
      if (/^m\d\d$/.test(name)) minutes.set(`${hour}:${name.slice(1)}`, value as number);
    }
  }
  return minutes;
}

/** The busy minutes a user's seat-holding bookings should hold, exactly. */
function expectedBusy(held: readonly Booking[]): Map<string, number> {
  const minutes = new Map<string, number>();
  for (const b of held) {
    for (const [hour, list] of busyMinutes(b)) {
      for (const m of list) minutes.set(`${hour}:${String(m).padStart(2, '0')}`, Date.parse(b.start) / 60_000);
    }
  }
  return minutes;
}

/** Every invariant at once: counters = seat-holding bookings per slot ≤ capacity; no user overlaps; busy minutes = bookings. */
async function expectConsistent(capacities: ReadonlyMap<string, number>): Promise<void> {
  const held = (await bookings()).filter(seatHolding);
  const perSlot = new Map<string, number>();
  for (const b of held) perSlot.set(`${b.serviceId}|${b.start}`, (perSlot.get(`${b.serviceId}|${b.start}`) ?? 0) + 1);
  for (const counter of await all(SLOT_COUNTER_ENTITY)) {
    const key = `${counter.serviceId}|${counter.start}`;
    expect(counter.taken, key).toBe(perSlot.get(key) ?? 0);
    expect(counter.taken as number, key).toBeLessThanOrEqual(capacities.get(counter.serviceId as string)!);
  }
  const byUser = new Map<string, Booking[]>();
  for (const b of held) byUser.set(b.userId, [...(byUser.get(b.userId) ?? []), b]);
  for (const [userId, list] of byUser) {
    for (const [i, a] of list.entries())
      for (const b of list.slice(i + 1)) expect(overlaps(a, b), `${userId}: ${a.id} and ${b.id}`).toBe(false);
    expect(await busyOf(userId)).toEqual(expectedBusy(list));
  }
}

/** A deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('create: a seat is taken by one transaction, never twice', () => {
  it('200 concurrent creates on one slot of capacity 1 from 200 users: 1 booking, 199 SlotTaken, counter 1', async () => {
    const start = at(10);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => outcome(store.create(newBooking(`u${i}`, 'intro', start, 30), service('intro', 1)))),
    );
    expect(tally(outcomes)).toEqual({ ok: 1, SlotTaken: 199 });
    expect(await bookings()).toHaveLength(1);
    expect(await taken('intro', start)).toBe(1);
    await expectConsistent(new Map([['intro', 1]]));
  });

  it('capacity 5 and 200 concurrent attempts: exactly 5 bookings', async () => {
    const start = at(18);
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => outcome(store.create(newBooking(`u${i}`, 'yoga', start, 60), service('yoga', 5)))),
    );
    expect(tally(outcomes)).toEqual({ ok: 5, SlotTaken: 195 });
    expect(await bookings()).toHaveLength(5);
    expect(await taken('yoga', start)).toBe(5);
    await expectConsistent(new Map([['yoga', 5]]));
  });

  it('100 users × 3 random slots of 20 (durations of 30, 45 and 60 minutes), all in parallel: no slot over capacity, no user overlapping', async () => {
    const random = prng(14);
    const capacities = new Map([
      ['yoga', 3],
      ['call', 2],
      ['odd', 1],
    ]);
    // 6 + 8 + 6 = 20 slots, overlapping each other across services; the 45-minute ones straddle hours.
    const slots = [
      ...[10, 11, 12, 13, 14, 15].map((h) => ({ serviceId: 'yoga', start: at(h), minutes: 60 })),
      ...Array.from({ length: 8 }, (_, i) => ({ serviceId: 'call', start: at(10, 30 * i), minutes: 30 })),
      ...Array.from({ length: 6 }, (_, i) => ({ serviceId: 'odd', start: at(10, 15 + 45 * i), minutes: 45 })),
    ];
    expect(slots).toHaveLength(20);
    const attempts = Array.from({ length: 100 }, (_, u) =>
      Array.from({ length: 3 }, () => slots[Math.floor(random() * slots.length)]!).map((slot) =>
        newBooking(`u${u}`, slot.serviceId, slot.start, slot.minutes),
      ),
    ).flat();
    const outcomes = await Promise.all(attempts.map((b) => outcome(store.create(b, service(b.serviceId, capacities.get(b.serviceId)!)))));
    const counts = tally(outcomes);
    expect(Object.keys(counts).sort()).toEqual(['BookingConflict', 'SlotTaken', 'ok']);
    // 40 seats in all; the random draw leaves some unbooked, and every seat booked is one booking.
    expect(counts.ok).toBe((await bookings()).length);
    expect(counts.ok).toBeLessThanOrEqual(40);
    await expectConsistent(capacities);

    // Every booking cancelled at once: every seat and every busy minute comes back.
    const made = await bookings();
    expect((await Promise.all(made.map((b) => store.cancel(b, new Date(CREATED))))).every(Boolean)).toBe(true);
    for (const counter of await all(SLOT_COUNTER_ENTITY)) expect(counter.taken).toBe(0);
    for (const userId of new Set(made.map((b) => b.userId))) expect((await busyOf(userId)).size).toBe(0);
  });

  it('the same user, two overlapping bookings on different services sent at once: exactly one, 20 times over', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, u) =>
        tally(
          await Promise.all([
            outcome(store.create(newBooking(`u${u}`, 'yoga', at(10), 60), service('yoga', 50))),
            outcome(store.create(newBooking(`u${u}`, 'odd', at(10, 53), 7), service('odd', 50))),
          ]),
        ),
      ),
    );
    for (const r of results) expect(r).toEqual({ ok: 1, BookingConflict: 1 });
    await expectConsistent(
      new Map([
        ['yoga', 50],
        ['odd', 50],
      ]),
    );
  });

  it('overlap is exact to the minute, for any durations: back to back is fine, one shared minute is not', async () => {
    const svc = (id: string) => service(id, 10);
    // 10:00-10:07, 10:07-10:52 (across services, 7 and 45 minutes), 10:52-18:52 (8 hours, 9 busy hours).
    await store.create(newBooking('u1', 'seven', at(10), 7), svc('seven'));
    await store.create(newBooking('u1', 'odd', at(10, 7), 45), svc('odd'));
    await store.create(newBooking('u1', 'long', at(10, 52), 480), svc('long'));
    // A minute into each neighbour, or a minute before the first: refused.
    await expect(store.create(newBooking('u1', 'seven', at(10, 51), 7), svc('seven'))).rejects.toBeInstanceOf(BookingConflict);
    await expect(store.create(newBooking('u1', 'odd', at(9, 16), 45), svc('odd'))).rejects.toBeInstanceOf(BookingConflict);
    await expect(store.create(newBooking('u1', 'seven', at(18, 51), 7), svc('seven'))).rejects.toBeInstanceOf(BookingConflict);
    // Just outside: fine, and another user is never in the way.
    await store.create(newBooking('u1', 'seven', at(9, 53), 7), svc('seven'));
    await store.create(newBooking('u1', 'seven', at(18, 52), 7), svc('seven'));
    await store.create(newBooking('u2', 'seven', at(10), 7), svc('seven'));
    const held = await bookings();
    expect(held).toHaveLength(6);
    expect((await busyOf('u1')).size).toBe(7 + 45 + 480 + 7 + 7);
    await expectConsistent(new Map(['seven', 'odd', 'long'].map((id) => [id, 10])));
  });

  it('refuses a booking that is not on whole minutes or longer than 8 hours, before writing anything', async () => {
    await expect(store.create(newBooking('u1', 's', '2027-03-01T10:00:30.000Z', 30), service('s', 1))).rejects.toThrow(/whole UTC minute/);
    await expect(store.create(newBooking('u1', 's', '2027-03-01T10:00:00Z', 30), service('s', 1))).rejects.toThrow(/whole UTC minute/);
    await expect(store.create(newBooking('u1', 's', at(10), 481), service('s', 1))).rejects.toThrow(/1 to 480 minutes/);
    expect(await all(SLOT_COUNTER_ENTITY)).toEqual([]);
  });

  it('a create sent again answers the booking it made; another booking under a used id is refused', async () => {
    const b = newBooking('u1', 'intro', at(10), 30);
    expect(await store.create(b, service('intro', 1))).toEqual(b);
    expect(await store.create(b, service('intro', 1))).toEqual(b);
    await expect(store.create({ ...b, start: at(11), end: at(11, 30) }, service('intro', 1))).rejects.toThrow(/already another booking/);
    expect(await taken('intro', at(10))).toBe(1);
  });

  it('a paid booking holds its seat with holdExpiresAt and sits in the due index under its hour', async () => {
    const b = newBooking('u1', 'consult', at(15), 60, { status: 'pending_payment', holdExpiresAt: '2027-03-01T10:14:00.000Z' });
    await store.create(b, service('consult', 1));
    const key = bookingKey('u1', b.id);
    expect(await getItem(local.db, table, key.pk, key.sk)).toMatchObject({
      entity: BOOKING_ENTITY,
      bookingStart: b.start,
      dueBucket: 'HOLD#2027-03-01T10',
      dueSort: `2027-03-01T10:14:00.000Z#${b.id}`,
      dueAt: b.holdExpiresAt,
    });
    expect(await store.get('u1', b.id)).toEqual(b);
    expect(await store.get('u2', b.id)).toBeUndefined();
    // The counter carries what `slot.updated {start, remaining}` needs.
    const counter = slotCounterKey('consult', b.start);
    expect(await getItem(local.db, table, counter.pk, counter.sk)).toMatchObject({
      entity: SLOT_COUNTER_ENTITY,
      serviceId: 'consult',
      start: b.start,
      taken: 1,
      capacity: 1,
    });
  });
});

describe('cancel and expiry give the seat and the busy minutes back exactly once', () => {
  it('cancel frees the seat for someone else; cancelling again is a clear error or a no-op, the counter never below 0', async () => {
    const intro = service('intro', 1);
    const mine = await store.create(newBooking('u1', 'intro', at(10), 30), intro);
    await expect(store.create(newBooking('u2', 'intro', at(10), 30), intro)).rejects.toBeInstanceOf(SlotTaken);
    const cancelled = await store.cancel(mine, new Date('2027-02-21T00:00:00Z'));
    expect(cancelled).toMatchObject({ status: 'cancelled', cancelledAt: '2027-02-21T00:00:00.000Z' });
    expect(await store.get('u1', mine.id)).toEqual(cancelled);
    expect(await taken('intro', at(10))).toBe(0);
    expect((await busyOf('u1')).size).toBe(0);
    await store.create(newBooking('u2', 'intro', at(10), 30), intro);
    expect(await taken('intro', at(10))).toBe(1);

    // Again, from a fresh read: the booking says why. From the stale read: nothing changes.
    await expect(store.cancel((await store.get('u1', mine.id))!, new Date())).rejects.toBeInstanceOf(BookingNotChangeable);
    expect(await store.cancel(mine, new Date())).toBeUndefined();
    expect(await taken('intro', at(10))).toBe(1);
    await expectConsistent(new Map([['intro', 1]]));
  });

  it('50 parallel cancels of one booking: one cancels, the seat is given back once', async () => {
    const yoga = service('yoga', 5);
    const mine = await store.create(newBooking('u1', 'yoga', at(18), 60), yoga);
    await store.create(newBooking('u2', 'yoga', at(18), 60), yoga);
    const results = await Promise.all(Array.from({ length: 50 }, () => store.cancel(mine, new Date(CREATED))));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await taken('yoga', at(18))).toBe(1);
    await expectConsistent(new Map([['yoga', 5]]));
  });

  it('an unpaid hold expires only once it lapsed, and then frees the seat and leaves the due index', async () => {
    const hold = '2027-03-01T09:15:00.000Z';
    const b = await store.create(
      newBooking('u1', 'consult', at(15), 60, { status: 'pending_payment', holdExpiresAt: hold }),
      service('consult', 1),
    );
    expect(await store.expire(b, new Date('2027-03-01T09:14:59.999Z'))).toBeUndefined();
    expect(await taken('consult', at(15))).toBe(1);
    const expired = await store.expire(b, new Date(hold));
    expect(expired).toMatchObject({ status: 'expired' });
    expect(expired).not.toHaveProperty('holdExpiresAt');
    expect(await store.get('u1', b.id)).toEqual(expired);
    expect(await taken('consult', at(15))).toBe(0);
    expect(await store.expiredHolds(new Date(hold), new Date(hold))).toEqual([]);
    // The expiry job racing a payment: whichever writes first, the other changes nothing.
    expect(await store.confirm(b, new Date('2027-03-01T09:14:00Z'))).toBeUndefined();
    await expectConsistent(new Map([['consult', 1]]));
  });

  it('a cancel racing a reschedule of the same booking: one of them, never a mix', async () => {
    for (let round = 0; round < 10; round++) {
      const b = await store.create(newBooking(`u${round}`, 'call', at(10), 30), service('call', 1));
      const [cancelled, moved] = await Promise.all([
        store.cancel(b, new Date(CREATED)),
        store.reschedule(b, { start: at(11), end: at(11, 30) }, service('call', 1), new Date(CREATED)),
      ]);
      expect([cancelled, moved].filter(Boolean)).toHaveLength(1);
      await expectConsistent(new Map([['call', 1]]));
      // Leave the slots free for the next round.
      const now = (await store.get(`u${round}`, b.id))!;
      if (now.status === 'confirmed') await store.cancel(now, new Date(CREATED));
    }
  });
});

describe('reschedule: one transaction, all or nothing', () => {
  const call = service('call', 1);

  it('into a full slot: SlotTaken, and the booking, both counters and the busy minutes are as they were', async () => {
    const mine = await store.create(newBooking('u1', 'call', at(10), 30), call);
    await store.create(newBooking('u2', 'call', at(11), 30), call);
    const busy = await busyOf('u1');
    await expect(store.reschedule(mine, { start: at(11), end: at(11, 30) }, call, new Date())).rejects.toBeInstanceOf(SlotTaken);
    expect(await store.get('u1', mine.id)).toEqual(mine);
    expect(await taken('call', at(10))).toBe(1);
    expect(await taken('call', at(11))).toBe(1);
    expect(await busyOf('u1')).toEqual(busy);
  });

  it("onto another of the user's bookings: BookingConflict, nothing changed", async () => {
    const mine = await store.create(newBooking('u1', 'call', at(10), 30), call);
    await store.create(newBooking('u1', 'yoga', at(11), 60), service('yoga', 5));
    await expect(store.reschedule(mine, { start: at(11, 30), end: at(12) }, call, new Date())).rejects.toBeInstanceOf(BookingConflict);
    expect(await store.get('u1', mine.id)).toEqual(mine);
    // The transaction failed whole: the new slot's counter was never even created.
    expect(await taken('call', at(11, 30))).toBeUndefined();
    await expectConsistent(
      new Map([
        ['call', 1],
        ['yoga', 5],
      ]),
    );
  });

  it('onto a time overlapping its own: moves the shared minutes in place', async () => {
    const yoga = service('yoga', 5);
    const mine = await store.create(newBooking('u1', 'yoga', at(10), 60), yoga);
    const moved = await store.reschedule(mine, { start: at(10, 30), end: at(11, 30) }, yoga, new Date('2027-02-22T00:00:00Z'));
    expect(moved).toMatchObject({ start: at(10, 30), end: at(11, 30), status: 'confirmed', updatedAt: '2027-02-22T00:00:00.000Z' });
    expect(await store.get('u1', mine.id)).toEqual(moved);
    expect(await taken('yoga', at(10))).toBe(0);
    expect(await taken('yoga', at(10, 30))).toBe(1);
    await expectConsistent(new Map([['yoga', 5]]));
    // The stale read changes nothing; an unpaid hold is not rescheduled.
    expect(await store.reschedule(mine, { start: at(12), end: at(13) }, yoga, new Date())).toBeUndefined();
    const hold = await store.create(
      newBooking('u2', 'yoga', at(12), 60, { status: 'pending_payment', holdExpiresAt: '2027-03-01T09:00:00.000Z' }),
      yoga,
    );
    await expect(store.reschedule(hold, { start: at(13), end: at(14) }, yoga, new Date())).rejects.toBeInstanceOf(BookingNotChangeable);
  });

  it('racing a create for the last seat: exactly one gets it, and a losing reschedule leaves the old booking whole (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const from = at(8, 30 * round);
      const to = { start: at(14, 30 * round), end: at(14, 30 * round + 30) };
      const mine = await store.create(newBooking(`r${round}`, 'call', from, 30), call);
      const [moved, created] = await Promise.all([
        outcome(store.reschedule(mine, to, call, new Date(CREATED))),
        outcome(store.create(newBooking(`c${round}`, 'call', to.start, 30), call)),
      ]);
      expect([moved, created].sort()).toEqual(['SlotTaken', 'ok']);
      expect(await taken('call', to.start)).toBe(1);
      expect(await taken('call', from)).toBe(moved === 'ok' ? 0 : 1);
      if (moved !== 'ok') expect(await store.get(`r${round}`, mine.id)).toEqual(mine);
    }
    await expectConsistent(new Map([['call', 1]]));
  });

  it('two users rescheduling into the same last seat at once: one wins, the other keeps the old booking (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const to = { start: at(14, 30 * round), end: at(14, 30 * round + 30) };
      const a = await store.create(newBooking(`a${round}`, 'call', at(2, 30 * round), 30), call);
      const b = await store.create(newBooking(`b${round}`, 'call', at(8, 30 * round), 30), call);
      const results = await Promise.all([a, b].map((x) => outcome(store.reschedule(x, to, call, new Date(CREATED)))));
      expect([...results].sort()).toEqual(['SlotTaken', 'ok']);
      const loser = results[0] === 'SlotTaken' ? a : b;
      expect(await store.get(loser.userId, loser.id)).toEqual(loser);
    }
    // Each loser's old seat still counted, each winner's given back.
    await expectConsistent(new Map([['call', 1]]));
    const held = (await bookings()).filter(seatHolding);
    expect(held.filter((x) => x.start >= at(14))).toHaveLength(10);
    expect(held).toHaveLength(20);
  });
});

describe('confirm and complete: conditional status changes', () => {
  it('confirm while the hold lasts, once; complete once the end has passed, once', async () => {
    const hold = '2027-03-01T09:15:00.000Z';
    const b = await store.create(
      newBooking('u1', 'consult', at(15), 60, { status: 'pending_payment', holdExpiresAt: hold }),
      service('consult', 1),
    );
    expect(await store.confirm(b, new Date(hold))).toBeUndefined();
    const confirmed = await store.confirm(b, new Date('2027-03-01T09:14:59.000Z'));
    expect(confirmed).toMatchObject({ status: 'confirmed' });
    expect(confirmed).not.toHaveProperty('holdExpiresAt');
    expect(await store.get('u1', b.id)).toEqual(confirmed);
    expect(await store.confirm(b, new Date('2027-03-01T09:14:59.000Z'))).toBeUndefined();
    const key = bookingKey('u1', b.id);
    expect(await getItem(local.db, table, key.pk, key.sk)).not.toHaveProperty('dueBucket');
    // The seat stays taken by the confirmed booking.
    expect(await taken('consult', at(15))).toBe(1);

    expect(await store.complete(confirmed!, new Date(at(15, 59)))).toBeUndefined();
    const completed = await store.complete(confirmed!, new Date(at(16)));
    expect(completed).toMatchObject({ status: 'completed' });
    expect(await store.get('u1', b.id)).toEqual(completed);
    expect(await store.complete(confirmed!, new Date(at(17)))).toBeUndefined();
  });
});

/** Passes every command to DynamoDB Local, recording its name (billing-payments' RecordingClient). */
class RecordingClient implements DocumentClientLike {
  readonly sent: string[] = [];
  send(command: object): Promise<Record<string, unknown>> {
    this.sent.push(command.constructor.name);
    return (local.db as DocumentClientLike).send(command);
  }
}

describe('reads are queries', () => {
  it('the seats taken over 31 days of a service are one Query, and slotsBetween turns them into remaining seats', async () => {
    const yoga = DEMO_SERVICES.find((s) => s.id === 'demo-yoga-class')!;
    const now = new Date('2027-02-28T00:00:00Z');
    const range = { from: now, to: new Date('2027-03-31T00:00:00Z'), now };
    const slots = slotsBetween(yoga, range);
    const chosen = [slots[0]!, slots[3]!, slots.at(-1)!];
    for (const [i, slot] of chosen.entries()) {
      for (let u = 0; u <= i; u++) await store.create(newBooking(`u${u}`, yoga.id, slot.start, 60), yoga);
    }
    // Another service's counters are in another partition, never read.
    await store.create(newBooking('u9', 'other', slots[0]!.start, 60), service('other', 1));

    const recording = new RecordingClient();
    const seats = await new DynamoBookingStore(recording, table).takenSeats(yoga.id, range.from, range.to);
    expect(recording.sent).toEqual(['QueryCommand']);
    expect(seats).toEqual(new Map(chosen.map((slot, i) => [slot.start, i + 1])));
    const remaining = new Map(slotsBetween(yoga, range, seats).map((s) => [s.start, s.remaining]));
    expect(chosen.map((s) => remaining.get(s.start))).toEqual([4, 3, 2]);
    expect(slotsBetween(yoga, range, seats).filter((s) => s.remaining < 5)).toHaveLength(3);
  });

  it('my bookings: by start either way, a page at a time, rescheduled ones in their new place, only the caller’s', async () => {
    const starts = [at(13), at(9), at(17), at(11), at(15), at(10), at(16)];
    const made: Booking[] = [];
    for (const start of starts) made.push(await store.create(newBooking('u1', 'call', start, 30), service('call', 5)));
    await store.create(newBooking('u2', 'call', at(12), 30), service('call', 5));
    // 09:00 moves to 18:00: it is now the latest.
    await store.reschedule(made[1]!, { start: at(18), end: at(18, 30) }, service('call', 5), new Date(CREATED));

    const pages = async (order: 'asc' | 'desc') => {
      const seen: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list('u1', { limit: 3, now: new Date(CREATED), order, ...(cursor ? { cursor } : {}) });
        seen.push(page.bookings.map((b) => b.start.slice(11, 16)));
        cursor = page.next;
      } while (cursor);
      return seen;
    };
    expect(await pages('desc')).toEqual([['18:00', '17:00', '16:00'], ['15:00', '13:00', '11:00'], ['10:00']]);
    expect(await pages('asc')).toEqual([['10:00', '11:00', '13:00'], ['15:00', '16:00', '17:00'], ['18:00']]);
    // Exactly a page: no next cursor pointing at nothing.
    const seven = await store.list('u1', { limit: 7, now: new Date(CREATED) });
    expect(seven.bookings).toHaveLength(7);
    expect(seven.next).toBeUndefined();
  });

  it('my bookings with a tampered, foreign or made-up cursor: 400 naming cursor', async () => {
    for (const start of [at(9), at(10), at(11)]) await store.create(newBooking('u1', 'call', start, 30), service('call', 5));
    await store.create(newBooking('u2', 'call', at(12), 30), service('call', 5));
    const first = await store.list('u1', { limit: 1, now: new Date(CREATED) });
    expect(first.next).toBeDefined();
    const other = (await store.list('u2', { limit: 1, now: new Date(CREATED) })).next;
    const key = JSON.parse(Buffer.from(first.next!, 'base64url').toString('utf8')) as Record<string, string>;
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    const tampered = [
      `${first.next!.slice(0, -2)}!!`,
      encode({ ...key, pk: 'USER#u2' }),
      encode({ ...key, sk: 'SUBSCRIPTION' }),
      encode({ ...key, bookingStart: 'tomorrow' }),
      encode({ ...key, extra: 'x' }),
      encode({ pk: key.pk, sk: key.sk }),
      'not-a-cursor',
    ];
    expect(other).toBeUndefined(); // u2 has one booking: one page
    for (const cursor of tampered) {
      const error = await store.list('u1', { limit: 1, cursor, now: new Date(CREATED) }).catch((e: unknown) => e);
      expect(error, cursor).toBeInstanceOf(BadRequestError);
      expect(toErrorResponse(error).statusCode).toBe(400);
      expect((error as BadRequestError).details).toEqual([{ field: 'cursor', message: 'Not one this list returned' }]);
    }
    // u2's own cursor (u2 with two bookings) is not u1's either.
    await store.create(newBooking('u2', 'call', at(13), 30), service('call', 5));
    const u2cursor = (await store.list('u2', { limit: 1, now: new Date(CREATED) })).next!;
    await expect(store.list('u1', { limit: 1, cursor: u2cursor, now: new Date(CREATED) })).rejects.toBeInstanceOf(BadRequestError);
  });

  it('my bookings by status: the status the clock gives (a lapsed hold is expired, a past booking completed)', async () => {
    const now = new Date(at(12));
    const s = service('svc', 10);
    const past = await store.create(newBooking('u1', 'svc', at(9), 30), s); // confirmed, over: completed by the clock
    const upcoming = await store.create(newBooking('u1', 'svc', at(14), 30), s);
    const lapsed = await store.create(newBooking('u1', 'svc', at(15), 30, { status: 'pending_payment', holdExpiresAt: at(11, 50) }), s);
    const live = await store.create(newBooking('u1', 'svc', at(16), 30, { status: 'pending_payment', holdExpiresAt: at(12, 10) }), s);
    const gone = await store.create(newBooking('u1', 'svc', at(17), 30), s);
    await store.cancel(gone, now);
    const done = await store.create(newBooking('u1', 'svc', at(8), 30), s);
    await store.complete(done, now);
    // Filler the filter drops, more than one query's worth, so the page is assembled over several.
    for (let i = 0; i < 120; i++) {
      const b = await store.create(newBooking('u1', 'svc', plus(at(20), 30 * i), 30), s);
      await store.cancel(b, now);
    }

    const ids = async (status: BookingStatus) => {
      const found: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list('u1', { limit: 2, status, now, ...(cursor ? { cursor } : {}) });
        found.push(...page.bookings.map((b) => b.id));
        for (const b of page.bookings) expect(statusAt(b, now)).toBe(status);
        cursor = page.next;
      } while (cursor);
      return found.sort();
    };
    expect(await ids('confirmed')).toEqual([upcoming.id]);
    expect(await ids('completed')).toEqual([past.id, done.id].sort());
    expect(await ids('pending_payment')).toEqual([live.id]);
    expect(await ids('expired')).toEqual([lapsed.id]);
    expect(await ids('cancelled')).toHaveLength(121);
  });

  it('the holds that lapsed: a due index query per hour, only unpaid holds at or before now', async () => {
    const s = service('consult', 10);
    const holds = ['2027-03-01T09:50:00.000Z', '2027-03-01T10:05:00.000Z', '2027-03-01T10:20:00.000Z', '2027-03-01T10:07:00.000Z'];
    const made: Booking[] = [];
    for (const [i, hold] of holds.entries()) {
      made.push(await store.create(newBooking(`u${i}`, 'consult', at(15), 60, { status: 'pending_payment', holdExpiresAt: hold }), s));
    }
    await store.create(newBooking('u9', 'consult', at(15), 60), s); // free: never in the index
    await store.confirm(made[3]!, new Date('2027-03-01T10:06:00Z')); // paid in time: out of the index
    expect(holdBucket(holds[0]!)).toBe('HOLD#2027-03-01T09');

    const recording = new RecordingClient();
    const due = await new DynamoBookingStore(recording, table).expiredHolds(
      new Date('2027-03-01T10:10:00Z'),
      new Date('2027-03-01T09:00:00Z'),
    );
    expect(recording.sent).toEqual(['QueryCommand', 'QueryCommand']);
    expect(due).toEqual([
      { userId: 'u0', bookingId: made[0]!.id, holdExpiresAt: holds[0] },
      { userId: 'u1', bookingId: made[1]!.id, holdExpiresAt: holds[1] },
    ]);
    // The job expires each from a fresh read; then the index holds only the one still running.
    for (const ref of due) await store.expire((await store.get(ref.userId, ref.bookingId))!, new Date('2027-03-01T10:10:00Z'));
    expect(await store.expiredHolds(new Date('2027-03-01T10:10:00Z'), new Date('2027-03-01T09:00:00Z'))).toEqual([]);
    expect(await store.expiredHolds(new Date('2027-03-01T10:30:00Z'), new Date('2027-03-01T10:00:00Z'))).toEqual([
      { userId: 'u2', bookingId: made[2]!.id, holdExpiresAt: holds[2] },
    ]);
    expect(await taken('consult', at(15))).toBe(3);
  });
});

/**
 * DynamoDB Local with what real DynamoDB adds under contention: the next `conflicts`
 * TransactWriteItems calls are cancelled with TransactionConflict on `item` before reaching it.
 */
class ConflictingClient implements DocumentClientLike {
  readonly sent: string[] = [];
  constructor(
    private conflicts: number,
    private readonly item = 0,
  ) {}
  send(command: object): Promise<Record<string, unknown>> {
    this.sent.push(command.constructor.name);
    if (command.constructor.name === 'TransactWriteCommand' && this.conflicts > 0) {
      this.conflicts--;
      const count = (command as { input: { TransactItems: unknown[] } }).input.TransactItems.length;
      return Promise.reject(
        new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
          $metadata: {},
          CancellationReasons: Array.from({ length: count }, (_, i) =>
            i === this.item ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' },
          ),
        }),
      );
    }
    return (local.db as DocumentClientLike).send(command);
  }
}

const noWait = async () => {};

describe('TransactionConflict (DynamoDB cancelled it for another transaction in flight)', () => {
  it('is retried with backoff until the transaction goes through', async () => {
    const client = new ConflictingClient(3);
    const b = await new DynamoBookingStore(client, table, noWait).create(newBooking('u1', 'intro', at(10), 30), service('intro', 1));
    expect(await store.get('u1', b.id)).toEqual(b);
    expect(client.sent.filter((c) => c === 'TransactWriteCommand')).toHaveLength(4);
    // Each conflict on the counter read it: seats were left, so it tried again.
    expect(client.sent.filter((c) => c === 'GetCommand')).toHaveLength(3);
  });

  it('on the counter of a slot that is full: SlotTaken at once, without trying again', async () => {
    await store.create(newBooking('u1', 'intro', at(10), 30), service('intro', 1));
    const client = new ConflictingClient(5);
    await expect(
      new DynamoBookingStore(client, table, noWait).create(newBooking('u2', 'intro', at(10), 30), service('intro', 1)),
    ).rejects.toBeInstanceOf(SlotTaken);
    expect(client.sent).toEqual(['TransactWriteCommand', 'GetCommand']);
  });

  it('that never lets up: BookingBusy (409) after 8 attempts, nothing written', async () => {
    const client = new ConflictingClient(100, 1);
    const error = await new DynamoBookingStore(client, table, noWait)
      .create(newBooking('u1', 'intro', at(10), 30), service('intro', 1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BookingBusy);
    expect(toErrorResponse(error).statusCode).toBe(409);
    expect(client.sent.filter((c) => c === 'TransactWriteCommand')).toHaveLength(8);
    expect(await bookings()).toEqual([]);
    expect(await taken('intro', at(10))).toBeUndefined();
  });
});

describe('what each item costs', () => {
  it('a booking, a counter and a busy hour full of minutes each fit in 1 KB: 2 write units each inside a transaction', () => {
    const b = newBooking('user_0123456789abcdef', 'svc_0123456789abcdef', at(10), 60, {
      id: 'bk_0123456789abcdefghijkl',
      status: 'pending_payment',
      holdExpiresAt: at(9, 15),
      price: { amount: 4900, currency: 'USD' },
    });
    const bookingItem = {
      ...bookingKey(b.userId, b.id),
      entity: BOOKING_ENTITY,
      ...b,
      bookingStart: b.start,
      dueBucket: holdBucket(b.holdExpiresAt!),
      dueSort: `${b.holdExpiresAt}#${b.id}`,
      dueAt: b.holdExpiresAt,
      cancelledAt: b.createdAt,
    };
    const counter = {
      ...slotCounterKey(b.serviceId, b.start),
      entity: SLOT_COUNTER_ENTITY,
      serviceId: b.serviceId,
      start: b.start,
      taken: 1000,
      capacity: 1000,
      expiresAt: 1_900_000_000,
    };
    const busy: Record<string, unknown> = {
      pk: `USER#${b.userId}`,
      sk: 'BUSY#2027-03-01T10',
      entity: BUSY_HOUR_ENTITY,
      userId: b.userId,
      expiresAt: 1_900_000_000,
    };
    for (let m = 0; m < 60; m++) busy[`m${String(m).padStart(2, '0')}`] = 29_000_000 + m;
    expect(dynamoSize(bookingItem)).toBeLessThan(1024);
    expect(dynamoSize(counter)).toBeLessThan(1024);
    expect(dynamoSize(busy)).toBeLessThan(1024);
  });
});
