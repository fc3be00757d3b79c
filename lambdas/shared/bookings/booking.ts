/**
 * Bookings (DESIGN.md section 6): the statuses, the only transitions allowed between them, what a
 * client sees, and the time rules as pure functions of `now`. Free of AWS: the store persists these
 * values and makes each transition one conditional write.
 *
 *   (none) ──book a free service──▶ confirmed
 *   (none) ──book a paid service──▶ pending_payment ──paid within the hold──▶ confirmed
 *   pending_payment ──hold lapsed unpaid──▶ expired
 *   pending_payment | confirmed ──cancel──▶ cancelled
 *   confirmed ──its end passed──▶ completed
 *   confirmed ──reschedule──▶ confirmed (another start; same status)
 *
 * Boundaries: a deadline is the first instant at which it is too late. Cancelling is allowed while
 * `now < start − cancelCutoffMinutes`; at that exact instant and after, `cutoff_passed` (likewise
 * for rescheduling). A hold lasts while `now < holdExpiresAt`; a booking is completed once
 * `now >= end`. A cut-off of 0 therefore allows a change until the start, never at it.
 * Cut-offs apply to `confirmed` bookings; an unpaid `pending_payment` hold may be cancelled until
 * it lapses (it costs nobody anything and frees the seat sooner). Only `confirmed` bookings are
 * rescheduled: an unpaid hold is paid first or cancelled.
 */
import type { Money } from '../billing/money';
import { BookingNotChangeable, CutoffPassed } from './errors';
import type { Service } from './services';
import { MINUTE_MS } from './zoned-time';

export const BOOKING_STATUSES = ['pending_payment', 'confirmed', 'completed', 'cancelled', 'expired'] as const;
export type BookingStatus = (typeof BOOKING_STATUSES)[number];

const TRANSITIONS: Readonly<Record<BookingStatus, readonly BookingStatus[]>> = {
  pending_payment: ['confirmed', 'cancelled', 'expired'],
  confirmed: ['completed', 'cancelled'],
  completed: [],
  cancelled: [],
  expired: [],
};

/** Whether a booking in `from` may become `to`; staying put is allowed (a reschedule, a retried write). */
export function canTransition(from: BookingStatus, to: BookingStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** Statuses that hold a seat (and count in the user's overlap guard). */
export const SEAT_HOLDING_STATUSES: readonly BookingStatus[] = ['pending_payment', 'confirmed'];
/** Statuses a booking never leaves. */
export const FINAL_STATUSES: readonly BookingStatus[] = ['completed', 'cancelled', 'expired'];

/** How long a paid booking holds its seat unpaid. */
export const HOLD_MINUTES = 15;

/** A booking, as the domain sees it. Times are ISO 8601 UTC strings. */
export interface Booking {
  readonly id: string;
  readonly userId: string;
  readonly serviceId: string;
  readonly start: string;
  readonly end: string;
  readonly status: BookingStatus;
  /** The service's price when booked (`null`: free); a later price does not change it. */
  readonly price: Money | null;
  /** Set while `pending_payment`: when the unpaid hold lapses (`holdExpiresAt`). */
  readonly holdExpiresAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly cancelledAt?: string;
}

/** What the booking routes answer: DESIGN's `{id, serviceId, start, end, status}`, plus fields a client needs. */
export interface BookingView {
  readonly id: string;
  readonly serviceId: string;
  readonly start: string;
  readonly end: string;
  readonly status: BookingStatus;
  readonly price: Money | null;
  readonly createdAt: string;
  /** Only while `pending_payment`: pay before this instant. */
  readonly holdExpiresAt?: string;
  readonly cancelledAt?: string;
}

/** The view at `now`: the status a booking has by the clock (`statusAt`), even before the store caught up. */
export function bookingView(b: Booking, now: Date): BookingView {
  const status = statusAt(b, now);
  return {
    id: b.id,
    serviceId: b.serviceId,
    start: b.start,
    end: b.end,
    status,
    price: b.price,
    createdAt: b.createdAt,
    ...(status === 'pending_payment' && b.holdExpiresAt ? { holdExpiresAt: b.holdExpiresAt } : {}),
    ...(status === 'cancelled' && b.cancelledAt ? { cancelledAt: b.cancelledAt } : {}),
  };
}

/**
 * When the unpaid hold of a booking made at `createdAt` lapses: 15 minutes later, or at the slot's
 * start if that comes first (nobody pays for a slot that has begun).
 */
export function holdExpiresAt(createdAt: Date, start: string): string {
  return new Date(Math.min(createdAt.getTime() + HOLD_MINUTES * MINUTE_MS, Date.parse(start))).toISOString();
}

/** Whether a `pending_payment` booking's hold has lapsed at `now` (at the expiry instant it has). */
export function isHoldExpired(b: Pick<Booking, 'status' | 'holdExpiresAt'>, now: Date): boolean {
  return b.status === 'pending_payment' && b.holdExpiresAt !== undefined && now.getTime() >= Date.parse(b.holdExpiresAt);
}

/** Whether a booking is over: `confirmed` and `now` at or after its end. */
export function isCompleted(b: Pick<Booking, 'status' | 'end'>, now: Date): boolean {
  return b.status === 'completed' || (b.status === 'confirmed' && now.getTime() >= Date.parse(b.end));
}

/**
 * The status the clock gives a booking at `now`: a lapsed hold is `expired` and a past `confirmed`
 * booking `completed`, whether or not the job that writes it has run yet.
 */
export function statusAt(b: Pick<Booking, 'status' | 'end' | 'holdExpiresAt'>, now: Date): BookingStatus {
  if (isHoldExpired(b, now)) return 'expired';
  if (isCompleted(b, now)) return 'completed';
  return b.status;
}

export type ChangeDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: 'cutoff_passed'; readonly deadline: string }
  | { readonly allowed: false; readonly reason: 'not_changeable'; readonly status: BookingStatus };

type Timed = Pick<Booking, 'status' | 'start' | 'end' | 'holdExpiresAt'>;

/** The first instant at which a change with `cutoffMinutes` is too late for a booking starting at `start`. */
export function cutoffDeadline(start: string, cutoffMinutes: number): string {
  return new Date(Date.parse(start) - cutoffMinutes * MINUTE_MS).toISOString();
}

function beforeDeadline(deadline: string, now: Date): ChangeDecision {
  return now.getTime() < Date.parse(deadline) ? { allowed: true } : { allowed: false, reason: 'cutoff_passed', deadline };
}

/** Whether `POST /bookings/cancel` may cancel `b` at `now` under the service's cancel cut-off. */
export function canCancel(b: Timed, service: Pick<Service, 'cancelCutoffMinutes'>, now: Date): ChangeDecision {
  const status = statusAt(b, now);
  // An unpaid hold is not bound by the cut-off, only by the start (the hold never outlasts it).
  if (status === 'pending_payment') return beforeDeadline(b.start, now);
  if (status !== 'confirmed') return { allowed: false, reason: 'not_changeable', status };
  return beforeDeadline(cutoffDeadline(b.start, service.cancelCutoffMinutes), now);
}

/**
 * Whether `POST /bookings/reschedule` may move `b` at `now` under the service's reschedule cut-off,
 * counted from the booking's current start. The new start is checked separately: it must be a
 * future slot of the same service (`slotAt`) other than the current one, with a seat left.
 */
export function canReschedule(b: Timed, service: Pick<Service, 'rescheduleCutoffMinutes'>, now: Date): ChangeDecision {
  const status = statusAt(b, now);
  if (status !== 'confirmed') return { allowed: false, reason: 'not_changeable', status };
  return beforeDeadline(cutoffDeadline(b.start, service.rescheduleCutoffMinutes), now);
}

/** `canCancel`, throwing the error a route answers: 409 `cutoff_passed` or 409 `conflict`. */
export function assertCanCancel(b: Timed, service: Pick<Service, 'cancelCutoffMinutes'>, now: Date): void {
  throwIfRefused(canCancel(b, service, now), 'cancel');
}

/** `canReschedule`, throwing the error a route answers: 409 `cutoff_passed` or 409 `conflict`. */
export function assertCanReschedule(b: Timed, service: Pick<Service, 'rescheduleCutoffMinutes'>, now: Date): void {
  throwIfRefused(canReschedule(b, service, now), 'reschedule');
}

function throwIfRefused(decision: ChangeDecision, action: 'cancel' | 'reschedule'): void {
  if (decision.allowed) return;
  if (decision.reason === 'cutoff_passed') throw new CutoffPassed(action, decision.deadline);
  throw new BookingNotChangeable(action, decision.status);
}

/** A span of time, `[start, end)`: it contains its start, not its end. */
export interface Interval {
  readonly start: string | Date;
  readonly end: string | Date;
}

const ms = (t: string | Date): number => (typeof t === 'string' ? Date.parse(t) : t.getTime());

/**
 * Whether two half-open intervals share an instant. Touching intervals (one ends when the other
 * starts) do not overlap, so back-to-back bookings are fine; an empty interval overlaps nothing.
 */
export function overlaps(a: Interval, b: Interval): boolean {
  const [aStart, aEnd, bStart, bEnd] = [ms(a.start), ms(a.end), ms(b.start), ms(b.end)];
  if (!(aStart < aEnd) || !(bStart < bEnd)) return false;
  return aStart < bEnd && bStart < aEnd;
}
