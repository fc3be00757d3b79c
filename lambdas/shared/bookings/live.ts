/**
 * What bookings show live (DESIGN.md section 6): every change reaches its topic through the
 * stream (decision 10), never from a handler. realtime/cdc.ts lists these sources with the
 * others; fan-out's stream filter follows.
 *
 *   service:{id}  slot.updated     {start, remaining}   a seat of that slot was taken or freed
 *   user:{id}     booking.updated  {booking: BookingView} the user's booking changed
 *
 * `remaining` comes from the slot counter's own image (`capacity − taken`, never below 0), so a
 * frame never needs a read; in one stream batch only a slot's latest count is sent (coalesced).
 * The busy-hour guards are not shown to anyone.
 */
import type { DomainChange } from '../cdc/change';
import type { TopicSource } from '../realtime/cdc';
import { bookingView } from './booking';
import { BOOKING_ENTITY, bookingItemSchema, SLOT_COUNTER_ENTITY, slotCounterItemSchema } from './dynamo-bookings';

function slotUpdated(change: DomainChange) {
  const item = slotCounterItemSchema.safeParse(change.newImage);
  if (!item.success) return [];
  const { serviceId, start, taken, capacity } = item.data;
  const old = slotCounterItemSchema.safeParse(change.oldImage ?? {});
  if (old.success && old.data.taken === taken && old.data.capacity === capacity) return [];
  return [
    {
      topic: `service:${serviceId}`,
      event: 'slot.updated',
      payload: { start, remaining: Math.max(0, capacity - taken) },
      ts: change.occurredAt,
      coalesceKey: `slot:${start}`,
    },
  ];
}

function bookingUpdated(change: DomainChange) {
  const item = bookingItemSchema.safeParse(change.newImage);
  if (!item.success) return [];
  const { entity: _entity, ...booking } = item.data;
  // The status as of the change: a lapsed hold or a past booking shows as what it is.
  const view = bookingView(booking, new Date(change.occurredAt));
  const old = bookingItemSchema.safeParse(change.oldImage ?? {});
  if (old.success) {
    const { entity: _old, ...before } = old.data;
    if (JSON.stringify(bookingView(before, new Date(change.occurredAt))) === JSON.stringify(view)) return [];
  }
  return [{ topic: `user:${booking.userId}`, event: 'booking.updated', payload: { booking: view }, ts: change.occurredAt }];
}

export const BOOKING_TOPIC_SOURCES: readonly TopicSource[] = [
  { entity: SLOT_COUNTER_ENTITY, change: 'INSERT', map: slotUpdated },
  { entity: SLOT_COUNTER_ENTITY, change: 'MODIFY', map: slotUpdated },
  { entity: BOOKING_ENTITY, change: 'INSERT', map: bookingUpdated },
  { entity: BOOKING_ENTITY, change: 'MODIFY', map: bookingUpdated },
];
