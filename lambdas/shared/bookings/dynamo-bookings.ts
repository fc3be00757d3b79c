/**
 * Bookings in the domain table (single-table; docs/bookings.md, "Storage and the reservation model"):
 *
 *   pk `USER#<userId>`        sk `BOOKING#<id>`           entity Booking: the Booking fields;
 *                                                         bookingStart (= start, the sort key of
 *                                                         USER_BOOKINGS_INDEX); while pending_payment
 *                                                         dueBucket `HOLD#<yyyy-mm-ddThh>`, dueSort
 *                                                         `<holdExpiresAt>#<id>`, dueAt (DUE_INDEX)
 *   pk `SERVICE#<serviceId>`  sk `SLOT#<start>`           entity SlotCounter: serviceId, start, taken,
 *                                                         capacity, expiresAt (TTL, 30 days after the slot)
 *   pk `USER#<userId>`        sk `BUSY#<yyyy-mm-ddThh>`   entity BusyHour: userId, expiresAt (TTL, 30
 *                                                         days after the hour), `m00`…`m59`
 *
 * **Never double-booked.** A seat is taken by ONE TransactWriteItems that increments the slot's
 * counter on condition `taken < capacity` (creating it on first use), puts the booking on
 * condition that its id is new, and claims the user's busy minutes on condition that none is
 * held. Either all of it happens or none: N concurrent attempts on a slot of capacity C commit
 * exactly C transactions, and the counter is always the number of seat-holding bookings of the
 * slot, because every write that gives a seat back (cancel, expiry, reschedule) is a transaction
 * too, conditional on the booking still being what the caller read. Nothing is decided on a read.
 *
 * **The overlap guard: busy minutes, bucketed by UTC hour.** A user's booking holds every minute
 * of `[start, end)`: attribute `mMM` of the item `BUSY#<hour>` of that minute's hour, whose value
 * is the start of the booking holding it (epoch minutes: unique among the user's seat-holding
 * bookings, since they never overlap). Claiming is `attribute_not_exists(mMM)` for each minute,
 * giving back is `REMOVE mMM` on condition `mMM = <start>`. Why minutes: every slot boundary is a
 * whole UTC minute (windows are `HH:MM`, durations whole minutes, and every zone's offset today is
 * whole minutes), so two bookings overlap exactly when they share a minute, for any durations,
 * across services, with back-to-back bookings free. Why hour buckets rather than an item per
 * minute or per 5 minutes: a booking of up to 8 hours touches at most 9 items (a 5-minute item
 * each would be 97, past what a reschedule's transaction can hold, and 5-minute granularity is not
 * exact for a 7-minute service or a 09:03 window), and an hour item full of minutes is ~650 bytes, one
 * write unit. Minutes shared by a reschedule's old and new times are moved in place (`mMM = new`
 * on condition `mMM = old`), since a transaction may touch an item once.
 *
 * **Conflicts.** A cancelled transaction is read item by item: a failed condition on the counter is
 * `SlotTaken`, on a busy hour `BookingConflict`, on the booking (when changing it) "changed since
 * read" (`undefined`). `TransactionConflict` (another transaction on the same items was in flight)
 * is retried with backoff; when the conflict was on the counter the counter is read first, and a
 * full slot answers `SlotTaken` at once rather than retrying into it. Retries that run out with
 * seats left are `BookingBusy` (409, nothing written).
 *
 * **Indexes.** "My bookings" reads USER_BOOKINGS_INDEX (`pk` + `bookingStart`, sparse: only
 * bookings carry `bookingStart`; projection ALL), so a page is by start, whatever reschedules did.
 * Unpaid holds are found by billing's sparse DUE_INDEX under their own `HOLD#<hour>` buckets
 * (billing's are `DUE#<day>`, so neither reads the other's), projecting `userId`, `id` and `dueAt`
 * (= holdExpiresAt): the expiry job queries the hours since its last run, never a scan.
 */
import { GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { DUE_INDEX } from '../billing/dynamo-subscriptions';
import { moneySchema } from '../billing/money';
import { epochSeconds } from '../clock';
import { cancellationReasons, isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import { decodeCursor, encodeCursor, nextCursor, type CursorKey } from '../http/cursor';
import { retry, sleep, type Sleep } from '../retry';
import { BOOKING_STATUSES, SEAT_HOLDING_STATUSES, type Booking, type BookingStatus } from './booking';
import type { BookingPage, BookingStore, HoldRef, ListQuery, SeatRules } from './booking-store';
import { BookingBusy, BookingConflict, BookingNotChangeable, SlotTaken } from './errors';
import type { SlotTime } from './slots';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './zoned-time';

export const BOOKING_ENTITY = 'Booking';
export const SLOT_COUNTER_ENTITY = 'SlotCounter';
export const BUSY_HOUR_ENTITY = 'BusyHour';

/**
 * The user's bookings by start (lib/constructs/storage.ts creates it): the user's partition key,
 * sorted by `bookingStart`, which only booking items carry; the whole item projected, so a page
 * needs no second read and a field added to bookings later needs no new index.
 */
export const USER_BOOKINGS_INDEX = { name: 'UserBookingsIndex', partitionKey: 'pk', sortKey: 'bookingStart' } as const;

/** Counters and busy hours outlive their time by this much (a late expiry job still finds them). */
const KEEP_AFTER_MS = 30 * DAY_MS;
/** The longest booking the guard takes (a service's longest duration, 480 minutes): at most 9 busy hours. */
const MAX_BOOKING_MINUTES = 480;
/** How far back `expiredHolds` may look: a week of hours, one query each. */
const MAX_HOLD_LOOKBACK_HOURS = 7 * 24;

export const bookingKey = (userId: string, id: string) => ({ pk: `USER#${userId}`, sk: `BOOKING#${id}` });
export const slotCounterKey = (serviceId: string, start: string) => ({ pk: `SERVICE#${serviceId}`, sk: `SLOT#${start}` });
/** `hour` is the UTC hour as `yyyy-mm-ddThh`. */
export const busyHourKey = (userId: string, hour: string) => ({ pk: `USER#${userId}`, sk: `BUSY#${hour}` });

const hourOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 13);

/** The due index partition of a hold lapsing at `at`: its UTC hour. */
export function holdBucket(at: string | Date): string {
  return `HOLD#${hourOf(new Date(at).getTime())}`;
}

const holdKeys = (b: Booking) =>
  b.holdExpiresAt ? { dueBucket: holdBucket(b.holdExpiresAt), dueSort: `${b.holdExpiresAt}#${b.id}`, dueAt: b.holdExpiresAt } : {};

/** A booking item's fields (the stream consumers parse the same for `booking.updated`). */
export const bookingItemSchema = z.object({
  entity: z.literal(BOOKING_ENTITY),
  id: z.string(),
  userId: z.string(),
  serviceId: z.string(),
  start: z.string(),
  end: z.string(),
  status: z.enum(BOOKING_STATUSES),
  price: moneySchema.nullable(),
  holdExpiresAt: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  cancelledAt: z.string().optional(),
});

/** A slot counter's fields (the stream consumers compute `slot.updated {start, remaining}` from them). */
export const slotCounterItemSchema = z.object({
  entity: z.literal(SLOT_COUNTER_ENTITY),
  serviceId: z.string(),
  start: z.string(),
  taken: z.number().int(),
  capacity: z.number().int(),
});

function toBooking(item: unknown): Booking {
  const { entity: _entity, ...booking } = bookingItemSchema.parse(item);
  return booking;
}

function bookingItem(b: Booking): Record<string, unknown> {
  return { ...bookingKey(b.userId, b.id), entity: BOOKING_ENTITY, ...b, bookingStart: b.start, ...holdKeys(b) };
}

/** A time the store keys on: the canonical ISO string of a whole UTC minute. */
function assertMinute(iso: string, what: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || new Date(ms).toISOString() !== iso || ms % MINUTE_MS !== 0) {
    throw new Error(`${what} must be a whole UTC minute as an ISO string (toISOString), got ${iso}`);
  }
  return ms / MINUTE_MS;
}

/** `[start, end)` in epoch minutes, checked: whole minutes, not empty, at most 8 hours. */
function minutesOf(interval: SlotTime): { readonly from: number; readonly to: number } {
  const from = assertMinute(interval.start, 'start');
  const to = assertMinute(interval.end, 'end');
  if (to <= from || to - from > MAX_BOOKING_MINUTES) {
    throw new Error(`A booking lasts 1 to ${MAX_BOOKING_MINUTES} minutes, got ${interval.start} to ${interval.end}`);
  }
  return { from, to };
}

/** The minutes of `[start, end)` by UTC hour (`yyyy-mm-ddThh` → minutes of that hour). */
export function busyMinutes(interval: SlotTime): Map<string, number[]> {
  const { from, to } = minutesOf(interval);
  const hours = new Map<string, number[]>();
  for (let minute = from; minute < to; minute++) {
    const hour = hourOf(minute * MINUTE_MS);
    const minutes = hours.get(hour) ?? [];
    minutes.push(minute % 60);
    hours.set(hour, minutes);
  }
  return hours;
}

const minuteAttribute = (minute: number) => `m${String(minute).padStart(2, '0')}`;

/** One busy hour's update, and which of its attributes it claims (a failed claim is an overlap). */
interface BusyUpdate {
  readonly update: object;
  readonly claims: readonly string[];
}

/**
 * The updates that move a user's busy minutes from `before` (given back) to `after` (claimed), one
 * per hour either touches. Each is conditional on every minute it touches: a claimed minute must
 * be free, a minute given back or moved must be held by `before`.
 */
function busyUpdates(tableName: string, userId: string, before: SlotTime | undefined, after: SlotTime | undefined): BusyUpdate[] {
  const old = before ? busyMinutes(before) : new Map<string, number[]>();
  const next = after ? busyMinutes(after) : new Map<string, number[]>();
  const hours = [...new Set([...old.keys(), ...next.keys()])].sort();
  return hours.map((hour) => {
    const given = new Set(old.get(hour) ?? []);
    const taken = new Set(next.get(hour) ?? []);
    const sets: string[] = [];
    const removes: string[] = [];
    const conditions: string[] = [];
    const claims: string[] = [];
    for (const minute of [...given].sort((a, b) => a - b)) {
      const name = minuteAttribute(minute);
      conditions.push(`${name} = :old`);
      if (taken.has(minute)) sets.push(`${name} = :new`);
      else removes.push(name);
    }
    for (const minute of [...taken].sort((a, b) => a - b)) {
      if (given.has(minute)) continue;
      const name = minuteAttribute(minute);
      conditions.push(`attribute_not_exists(${name})`);
      sets.push(`${name} = :new`);
      claims.push(name);
    }
    const values: Record<string, unknown> = {};
    if (given.size > 0) values[':old'] = Date.parse(before!.start) / MINUTE_MS;
    if (taken.size > 0) {
      values[':new'] = Date.parse(after!.start) / MINUTE_MS;
      sets.unshift('entity = :entity', 'userId = :userId', 'expiresAt = :expiresAt');
      values[':entity'] = BUSY_HOUR_ENTITY;
      values[':userId'] = userId;
      values[':expiresAt'] = epochSeconds(new Date(Date.parse(`${hour}:00:00.000Z`) + HOUR_MS + KEEP_AFTER_MS));
    }
    const expression = [sets.length > 0 ? `SET ${sets.join(', ')}` : '', removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '']
      .filter(Boolean)
      .join(' ');
    return {
      claims,
      update: {
        Update: {
          TableName: tableName,
          Key: busyHourKey(userId, hour),
          UpdateExpression: expression,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    };
  });
}

function takeSeat(tableName: string, serviceId: string, slot: SlotTime, capacity: number): object {
  return {
    Update: {
      TableName: tableName,
      Key: slotCounterKey(serviceId, slot.start),
      UpdateExpression:
        'SET entity = :entity, serviceId = :serviceId, #start = :start, #capacity = :capacity, expiresAt = :expiresAt ADD #taken :one',
      ConditionExpression: 'attribute_not_exists(#taken) OR #taken < :capacity',
      ExpressionAttributeNames: { '#start': 'start', '#capacity': 'capacity', '#taken': 'taken' },
      ExpressionAttributeValues: {
        ':entity': SLOT_COUNTER_ENTITY,
        ':serviceId': serviceId,
        ':start': slot.start,
        ':capacity': capacity,
        ':expiresAt': epochSeconds(new Date(Date.parse(slot.end) + KEEP_AFTER_MS)),
        ':one': 1,
      },
    },
  };
}

function giveSeatBack(tableName: string, serviceId: string, start: string): object {
  return {
    Update: {
      TableName: tableName,
      Key: slotCounterKey(serviceId, start),
      UpdateExpression: 'ADD #taken :minusOne',
      ConditionExpression: '#taken > :zero',
      ExpressionAttributeNames: { '#taken': 'taken' },
      ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
    },
  };
}

const CONDITION_FAILED = 'ConditionalCheckFailed';
/** Codes of a cancelled transaction worth sending again: nothing failed but timing. */
const TRANSIENT_CODES = new Set(['None', 'TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** True for a transaction cancelled only by timing (another transaction in flight, throttling), or a write that met one. */
function isTransient(error: unknown): boolean {
  if (error instanceof Error && error.name === 'TransactionConflictException') return true;
  const codes = cancellationReasons(error);
  return codes?.some((code) => code !== 'None') === true && codes.every((code) => TRANSIENT_CODES.has(code));
}

/** A transaction DynamoDB cancelled for a failed condition: the code and the item (ALL_OLD) of each action. */
interface Refusal {
  readonly codes: readonly string[];
  readonly items: readonly (Record<string, unknown> | undefined)[];
}

function refusalOf(error: unknown): Refusal | undefined {
  const codes = cancellationReasons(error);
  if (!codes?.includes(CONDITION_FAILED)) return undefined;
  const reasons = (error as { CancellationReasons?: { Item?: Record<string, never> }[] }).CancellationReasons ?? [];
  return { codes, items: reasons.map((reason) => (reason.Item ? unmarshall(reason.Item) : undefined)) };
}

/** A transaction cancelled for another one in flight: 8 calls, backoff 20 ms doubling to 500 ms (1.6 s at most in all). */
const TRANSACT_RETRY = { attempts: 8, baseDelayMs: 20, maxDelayMs: 500 } as const;

/** The seat a transaction takes, so a conflict on its counter can be answered from the counter. */
interface SeatTaken {
  /** Index of the counter's action in the transaction. */
  readonly index: number;
  readonly serviceId: string;
  readonly start: string;
  readonly capacity: number;
}

/** A booking's page key in USER_BOOKINGS_INDEX (what `ExclusiveStartKey` and cursors hold). */
const pageKey = (b: Pick<Booking, 'userId' | 'id' | 'start'>): CursorKey => ({ ...bookingKey(b.userId, b.id), bookingStart: b.start });

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Items read per query when a status filter may drop most of them, and queries per page at most. */
const FILTERED_QUERY_LIMIT = 100;
const MAX_QUERIES_PER_PAGE = 5;

/**
 * The filter giving bookings the status `statusAt` gives them at `now`: a lapsed hold is
 * `expired` and a past `confirmed` booking `completed` before the jobs that write it have run.
 */
function statusFilter(status: BookingStatus, now: Date): { expression: string; values: Record<string, string> } {
  const at = now.toISOString();
  switch (status) {
    case 'pending_payment':
      return { expression: '#status = :pending AND holdExpiresAt > :now', values: { ':pending': 'pending_payment', ':now': at } };
    case 'expired':
      return {
        expression: '#status = :expired OR (#status = :pending AND holdExpiresAt <= :now)',
        values: { ':expired': 'expired', ':pending': 'pending_payment', ':now': at },
      };
    case 'confirmed':
      return { expression: '#status = :confirmed AND #end > :now', values: { ':confirmed': 'confirmed', ':now': at } };
    case 'completed':
      return {
        expression: '#status = :completed OR (#status = :confirmed AND #end <= :now)',
        values: { ':completed': 'completed', ':confirmed': 'confirmed', ':now': at },
      };
    case 'cancelled':
      return { expression: '#status = :cancelled', values: { ':cancelled': 'cancelled' } };
  }
}

const holdRefSchema = z.object({ userId: z.string(), id: z.string(), dueAt: z.string() });
const seatsSchema = z.object({ start: z.string(), taken: z.number().int() });

export class DynamoBookingStore implements BookingStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly pause: Sleep = sleep,
  ) {}

  async create(booking: Booking, service: SeatRules): Promise<Booking> {
    if (booking.serviceId !== service.id) throw new Error(`Booking ${booking.id} is for ${booking.serviceId}, not ${service.id}`);
    if (!SEAT_HOLDING_STATUSES.includes(booking.status))
      throw new Error(`A new booking is pending_payment or confirmed, not ${booking.status}`);
    if ((booking.status === 'pending_payment') !== (booking.holdExpiresAt !== undefined)) {
      throw new Error('A pending_payment booking has holdExpiresAt, and only it');
    }
    const busy = busyUpdates(this.tableName, booking.userId, undefined, booking);
    const refusal = await this.transact(
      [
        takeSeat(this.tableName, booking.serviceId, booking, service.capacity),
        {
          Put: {
            TableName: this.tableName,
            Item: bookingItem(booking),
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        ...busy.map((b) => b.update),
      ],
      { index: 0, serviceId: booking.serviceId, start: booking.start, capacity: service.capacity },
    );
    if (!refusal) return booking;
    if (refusal.codes[1] === CONDITION_FAILED) {
      // The id is taken: by this very booking (a create sent again), or a bug in making ids.
      if (!refusal.items[1]) throw new Error(`Booking id ${booking.id} is taken (the item did not come back)`);
      const stored = toBooking(refusal.items[1]);
      if (stored.userId === booking.userId && stored.serviceId === booking.serviceId && stored.start === booking.start) return stored;
      throw new Error(`Booking id ${booking.id} is already another booking's`);
    }
    if (refusal.codes.slice(2).includes(CONDITION_FAILED)) throw new BookingConflict();
    if (refusal.codes[0] === CONDITION_FAILED) throw new SlotTaken();
    throw new Error(`Booking ${booking.id}: transaction cancelled (${refusal.codes.join(', ')})`);
  }

  async get(userId: string, bookingId: string): Promise<Booking | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: bookingKey(userId, bookingId), ConsistentRead: true }),
    );
    return out.Item ? toBooking(out.Item) : undefined;
  }

  async cancel(booking: Booking, at: Date): Promise<Booking | undefined> {
    if (!SEAT_HOLDING_STATUSES.includes(booking.status)) throw new BookingNotChangeable('cancel', booking.status);
    return this.giveBack(booking, 'cancelled', at);
  }

  async expire(booking: Booking, now: Date): Promise<Booking | undefined> {
    if (booking.status !== 'pending_payment') return undefined;
    // Checked by DynamoDB too: a job running early (or a clock behind) expires nothing.
    return this.giveBack(booking, 'expired', now, { condition: 'holdExpiresAt <= :now', values: { ':now': now.toISOString() } });
  }

  async reschedule(booking: Booking, to: SlotTime, service: SeatRules, at: Date): Promise<Booking | undefined> {
    if (booking.status !== 'confirmed') throw new BookingNotChangeable('reschedule', booking.status);
    if (booking.serviceId !== service.id) throw new Error(`Booking ${booking.id} is for ${booking.serviceId}, not ${service.id}`);
    if (to.start === booking.start) throw new Error(`Booking ${booking.id} already starts at ${to.start}`);
    const moved: Booking = { ...booking, start: to.start, end: to.end, updatedAt: at.toISOString() };
    const busy = busyUpdates(this.tableName, booking.userId, booking, to);
    const refusal = await this.transact(
      [
        {
          Update: {
            TableName: this.tableName,
            Key: bookingKey(booking.userId, booking.id),
            UpdateExpression: 'SET #start = :start, #end = :end, bookingStart = :start, updatedAt = :at',
            ConditionExpression: '#status = :status AND #start = :oldStart',
            ExpressionAttributeNames: { '#status': 'status', '#start': 'start', '#end': 'end' },
            ExpressionAttributeValues: {
              ':status': booking.status,
              ':oldStart': booking.start,
              ':start': to.start,
              ':end': to.end,
              ':at': moved.updatedAt,
            },
          },
        },
        takeSeat(this.tableName, booking.serviceId, to, service.capacity),
        giveSeatBack(this.tableName, booking.serviceId, booking.start),
        ...busy.map((b) => b.update),
      ],
      { index: 1, serviceId: booking.serviceId, start: to.start, capacity: service.capacity },
    );
    if (!refusal) return moved;
    if (refusal.codes[0] === CONDITION_FAILED) return undefined;
    // A busy hour refuses a claim when another booking holds one of the new minutes; refusing
    // anything else means the guard lost track of this booking, which no write here allows.
    const overlap = busy.some(
      (b, i) => refusal.codes[3 + i] === CONDITION_FAILED && b.claims.some((name) => refusal.items[3 + i]?.[name] !== undefined),
    );
    if (overlap) throw new BookingConflict();
    if (refusal.codes[1] === CONDITION_FAILED) throw new SlotTaken();
    throw new Error(`Booking ${booking.id}: its seat or busy minutes are not where it says (${refusal.codes.join(', ')})`);
  }

  async confirm(booking: Booking, at: Date): Promise<Booking | undefined> {
    if (booking.status !== 'pending_payment') return undefined;
    const { holdExpiresAt: _hold, ...rest } = booking;
    const confirmed: Booking = { ...rest, status: 'confirmed', updatedAt: at.toISOString() };
    const done = await this.updateBooking(booking, {
      update: 'SET #status = :to, updatedAt = :at REMOVE holdExpiresAt, dueBucket, dueSort, dueAt',
      condition: '#status = :from AND #start = :start AND holdExpiresAt > :at',
      values: { ':to': 'confirmed', ':from': 'pending_payment', ':start': booking.start, ':at': confirmed.updatedAt },
    });
    return done ? confirmed : undefined;
  }

  async complete(booking: Booking, now: Date): Promise<Booking | undefined> {
    if (booking.status !== 'confirmed') return undefined;
    const completed: Booking = { ...booking, status: 'completed', updatedAt: now.toISOString() };
    const done = await this.updateBooking(booking, {
      update: 'SET #status = :to, updatedAt = :at',
      condition: '#status = :from AND #start = :start AND #end <= :at',
      values: { ':to': 'completed', ':from': 'confirmed', ':start': booking.start, ':at': completed.updatedAt },
    });
    return done ? completed : undefined;
  }

  async takenSeats(serviceId: string, from: Date, to: Date): Promise<Map<string, number>> {
    if (!(from.getTime() <= to.getTime())) throw new Error(`takenSeats: from ${from.toISOString()} is after to ${to.toISOString()}`);
    const taken = new Map<string, number>();
    let startKey: Record<string, unknown> | undefined;
    // One query; a second page only past 1 MB of counters (~7,000 booked slots).
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeNames: { '#start': 'start', '#taken': 'taken' },
          ExpressionAttributeValues: {
            ':pk': `SERVICE#${serviceId}`,
            ':from': `SLOT#${from.toISOString()}`,
            ':to': `SLOT#${to.toISOString()}`,
          },
          ProjectionExpression: '#start, #taken',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of (out.Items as unknown[] | undefined) ?? []) {
        const seats = seatsSchema.parse(item);
        taken.set(seats.start, seats.taken);
      }
      startKey = out.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (startKey);
    return taken;
  }

  async list(userId: string, query: ListQuery): Promise<BookingPage> {
    const { limit } = query;
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
    const pk = `USER#${userId}`;
    const from =
      query.cursor === undefined
        ? undefined
        : decodeCursor(
            query.cursor,
            (key) =>
              Object.keys(key).length === 3 &&
              key.pk === pk &&
              /^BOOKING#[^#]{1,128}$/.test(key.sk ?? '') &&
              ISO_INSTANT.test(key.bookingStart ?? ''),
          );
    const filter = query.status === undefined ? undefined : statusFilter(query.status, query.now);
    const found: Booking[] = [];
    let startKey: Record<string, unknown> | undefined = from;
    let queries = 0;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: USER_BOOKINGS_INDEX.name,
          KeyConditionExpression: 'pk = :pk',
          ScanIndexForward: query.order === 'asc',
          // One more than the page tells whether there is a next one without another query.
          Limit: filter ? FILTERED_QUERY_LIMIT : limit + 1 - found.length,
          ...(filter
            ? {
                FilterExpression: filter.expression,
                ExpressionAttributeNames: { '#status': 'status', ...(filter.expression.includes('#end') ? { '#end': 'end' } : {}) },
                ExpressionAttributeValues: { ':pk': pk, ...filter.values },
              }
            : { ExpressionAttributeValues: { ':pk': pk } }),
          // Always the caller's pk: a cursor only carries a position within it.
          ExclusiveStartKey: startKey,
        }),
      );
      found.push(...((out.Items as unknown[] | undefined) ?? []).map(toBooking));
      startKey = out.LastEvaluatedKey as Record<string, unknown> | undefined;
      queries++;
    } while (found.length <= limit && startKey !== undefined && queries < MAX_QUERIES_PER_PAGE);
    if (found.length > limit) {
      const page = found.slice(0, limit);
      return { bookings: page, next: encodeCursor(pageKey(page.at(-1)!)) };
    }
    // A filter that dropped most of what it read: the page is short, and goes on where reading stopped.
    const next = nextCursor(startKey);
    return { bookings: found, ...(next ? { next } : {}) };
  }

  async expiredHolds(now: Date, since: Date): Promise<HoldRef[]> {
    const first = Math.floor(since.getTime() / HOUR_MS) * HOUR_MS;
    const last = Math.floor(now.getTime() / HOUR_MS) * HOUR_MS;
    if ((last - first) / HOUR_MS > MAX_HOLD_LOOKBACK_HOURS)
      throw new Error(`expiredHolds looks back ${MAX_HOLD_LOOKBACK_HOURS} hours at most`);
    const holds: HoldRef[] = [];
    for (let hour = first; hour <= last; hour += HOUR_MS) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: DUE_INDEX.name,
            KeyConditionExpression: '#bucket = :bucket AND #sort <= :until',
            ExpressionAttributeNames: { '#bucket': DUE_INDEX.partitionKey, '#sort': DUE_INDEX.sortKey },
            // '~' sorts after '#' and every character of an id: every hold lapsed at or before `now`.
            ExpressionAttributeValues: { ':bucket': holdBucket(new Date(hour)), ':until': `${now.toISOString()}~` },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of (out.Items as unknown[] | undefined) ?? []) {
          const ref = holdRefSchema.parse(item);
          holds.push({ userId: ref.userId, bookingId: ref.id, holdExpiresAt: ref.dueAt });
        }
        startKey = out.LastEvaluatedKey as Record<string, unknown> | undefined;
      } while (startKey);
    }
    return holds;
  }

  /** Cancel and expiry: the status changed, the seat given back and the busy minutes released, in one transaction. */
  private async giveBack(
    booking: Booking,
    to: 'cancelled' | 'expired',
    at: Date,
    also?: { readonly condition: string; readonly values: Record<string, string> },
  ): Promise<Booking | undefined> {
    const { holdExpiresAt: _hold, ...rest } = booking;
    const when = at.toISOString();
    const next: Booking = { ...rest, status: to, updatedAt: when, ...(to === 'cancelled' ? { cancelledAt: when } : {}) };
    const refusal = await this.transact([
      {
        Update: {
          TableName: this.tableName,
          Key: bookingKey(booking.userId, booking.id),
          UpdateExpression: `SET #status = :to, updatedAt = :at${to === 'cancelled' ? ', cancelledAt = :at' : ''} REMOVE holdExpiresAt, dueBucket, dueSort, dueAt`,
          // The booking as read: still holding its seat at this start (a reschedule moves both).
          ConditionExpression: `#status = :from AND #start = :start${also ? ` AND ${also.condition}` : ''}`,
          ExpressionAttributeNames: { '#status': 'status', '#start': 'start' },
          ExpressionAttributeValues: { ':to': to, ':at': when, ':from': booking.status, ':start': booking.start, ...also?.values },
        },
      },
      giveSeatBack(this.tableName, booking.serviceId, booking.start),
      ...busyUpdates(this.tableName, booking.userId, booking, undefined).map((b) => b.update),
    ]);
    if (!refusal) return next;
    if (refusal.codes[0] === CONDITION_FAILED) return undefined;
    throw new Error(`Booking ${booking.id}: its seat or busy minutes are not where it says (${refusal.codes.join(', ')})`);
  }

  /** One conditional update of the booking item; false when the condition failed. */
  private async updateBooking(
    booking: Booking,
    change: { readonly update: string; readonly condition: string; readonly values: Record<string, unknown> },
  ): Promise<boolean> {
    const command = new UpdateCommand({
      TableName: this.tableName,
      Key: bookingKey(booking.userId, booking.id),
      UpdateExpression: change.update,
      ConditionExpression: change.condition,
      ExpressionAttributeNames: {
        '#status': 'status',
        '#start': 'start',
        ...(change.condition.includes('#end') ? { '#end': 'end' } : {}),
      },
      ExpressionAttributeValues: change.values,
    });
    try {
      await retry(() => this.client.send(command), { ...TRANSACT_RETRY, sleep: this.pause, retryable: isTransient });
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Runs a transaction, retrying it while only timing cancelled it. Answers undefined when it
   * committed, the refusal when a condition failed. A conflict on the counter of `seat` reads the
   * counter: a full slot is answered as a failed condition on it, without trying again.
   */
  private async transact(items: readonly object[], seat?: SeatTaken): Promise<Refusal | undefined> {
    const attempt = async (): Promise<Refusal | undefined> => {
      try {
        await this.client.send(new TransactWriteCommand({ TransactItems: items as never }));
        return undefined;
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal) return refusal;
        if (seat && cancellationReasons(error)?.[seat.index] === 'TransactionConflict' && (await this.isFull(seat))) {
          return { codes: items.map((_, i) => (i === seat.index ? CONDITION_FAILED : 'None')), items: [] };
        }
        throw error;
      }
    };
    try {
      return await retry(attempt, { ...TRANSACT_RETRY, sleep: this.pause, retryable: isTransient });
    } catch (error) {
      if (isTransient(error)) throw new BookingBusy();
      throw error;
    }
  }

  private async isFull(seat: SeatTaken): Promise<boolean> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: slotCounterKey(seat.serviceId, seat.start),
        ProjectionExpression: '#taken',
        ExpressionAttributeNames: { '#taken': 'taken' },
        ConsistentRead: true,
      }),
    );
    const taken = (out.Item as { taken?: unknown } | undefined)?.taken;
    return typeof taken === 'number' && taken >= seat.capacity;
  }
}
