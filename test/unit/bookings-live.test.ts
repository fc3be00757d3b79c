/**
 * What bookings' item changes show live (lambdas/shared/bookings/live.ts): a slot counter's change
 * as `slot.updated` on `service:{id}`, a booking's as `booking.updated` on its user's topic; the
 * busy-hour guards never.
 */
import { describe, expect, it } from 'vitest';
import { BOOKING_TOPIC_SOURCES } from '../../lambdas/shared/bookings/live';
import type { DomainChange } from '../../lambdas/shared/cdc/change';
import { TOPIC_SOURCES, topicEventsForChange } from '../../lambdas/shared/realtime/cdc';
import { authorizeSubscription, parseTopic } from '../../lambdas/shared/realtime/topics';

let n = 0;
const change = (
  type: DomainChange['type'],
  newImage?: object,
  oldImage?: object,
  occurredAt = '2027-03-01T08:00:00.000Z',
): DomainChange => ({
  id: `e${++n}`,
  type,
  occurredAt,
  ...(newImage ? { newImage: newImage as DomainChange['newImage'] } : {}),
  ...(oldImage ? { oldImage: oldImage as DomainChange['oldImage'] } : {}),
});
const frames = (c: DomainChange) => topicEventsForChange(c, BOOKING_TOPIC_SOURCES);

const counter = {
  pk: 'SERVICE#demo-yoga-class',
  sk: 'SLOT#2027-03-02T09:00:00.000Z',
  entity: 'SlotCounter',
  serviceId: 'demo-yoga-class',
  start: '2027-03-02T09:00:00.000Z',
  taken: 1,
  capacity: 5,
};
const booking = {
  pk: 'USER#u1',
  sk: 'BOOKING#b1',
  entity: 'Booking',
  id: 'b1',
  userId: 'u1',
  serviceId: 'demo-yoga-class',
  start: '2027-03-02T09:00:00.000Z',
  end: '2027-03-02T10:00:00.000Z',
  status: 'confirmed',
  price: null,
  createdAt: '2027-03-01T08:00:00.000Z',
  updatedAt: '2027-03-01T08:00:00.000Z',
  bookingStart: '2027-03-02T09:00:00.000Z',
};

describe('slot.updated', () => {
  it('shows the seats left of the slot on service:{id} when a seat is taken or freed, coalesced per slot', () => {
    expect(frames(change('INSERT', counter))).toEqual([
      {
        topic: 'service:demo-yoga-class',
        event: 'slot.updated',
        payload: { start: '2027-03-02T09:00:00.000Z', remaining: 4 },
        ts: '2027-03-01T08:00:00.000Z',
        coalesceKey: 'slot:2027-03-02T09:00:00.000Z',
        src: expect.any(String),
      },
    ]);
    expect(frames(change('MODIFY', { ...counter, taken: 5 }, counter))[0]?.payload).toEqual({ start: counter.start, remaining: 0 });
    expect(frames(change('MODIFY', { ...counter, taken: 0 }, counter))[0]?.payload).toEqual({ start: counter.start, remaining: 5 });
  });

  it('never shows a negative count, and nothing when the count did not change', () => {
    expect(frames(change('MODIFY', { ...counter, taken: 7 }, counter))[0]?.payload).toMatchObject({ remaining: 0 });
    expect(frames(change('MODIFY', { ...counter }, counter))).toEqual([]);
  });
});

describe('booking.updated', () => {
  it("shows the user's booking on user:{id} when created and when its status changes", () => {
    const [created] = frames(change('INSERT', booking));
    expect(created).toMatchObject({
      topic: 'user:u1',
      event: 'booking.updated',
      payload: { booking: { id: 'b1', status: 'confirmed', start: booking.start } },
    });
    const [cancelled] = frames(change('MODIFY', { ...booking, status: 'cancelled', cancelledAt: '2027-03-01T09:00:00.000Z' }, booking));
    expect(cancelled?.payload).toMatchObject({ booking: { status: 'cancelled', cancelledAt: '2027-03-01T09:00:00.000Z' } });
  });

  it('shows nothing for a change the user cannot see (an internal field)', () => {
    expect(frames(change('MODIFY', { ...booking, updatedAt: '2027-03-01T08:30:00.000Z' }, booking))).toEqual([]);
  });

  it('never shows the busy-hour guards or malformed items', () => {
    const guard = { pk: 'USER#u1', sk: 'BUSY#2027-03-02T09', entity: 'BusyHour', userId: 'u1', m00: 1 };
    expect(topicEventsForChange(change('INSERT', guard), TOPIC_SOURCES)).toEqual([]);
    expect(frames(change('INSERT', { ...counter, taken: 'many' }))).toEqual([]);
    expect(frames(change('INSERT', { ...booking, status: 'teleported' }))).toEqual([]);
  });
});

describe('service:{id}', () => {
  it('is a topic any signed-in user may subscribe to', () => {
    const topic = parseTopic('service:demo-yoga-class');
    expect(topic.kind).toBe('service');
    expect(() => authorizeSubscription({ userId: 'anyone', role: 'user' }, topic)).not.toThrow();
  });
});
