/**
 * What bookings need from storage (docs/bookings.md, "Storage and the reservation model"). A seat
 * is only ever taken or given back together with the booking that holds it and the user's overlap
 * guard, in one conditional transaction: never by reading the seats and then writing. Every change
 * of an existing booking is conditional on the booking the caller read (its status and its start),
 * so two requests racing on one booking (50 cancels, a cancel and a reschedule, the expiry job and
 * a payment) change it once: the others are told the booking moved on (`undefined`), re-read it
 * and decide again. dynamo-bookings.ts is the DynamoDB implementation.
 */
import type { Booking, BookingStatus } from './booking';
import type { Service } from './services';
import type { SlotTime } from './slots';

/** What the store needs of a service to take a seat: the counter is checked against `capacity`. */
export type SeatRules = Pick<Service, 'id' | 'capacity'>;

/** A hold whose time has come, as the expiry job finds it. */
export interface HoldRef {
  readonly userId: string;
  readonly bookingId: string;
  readonly holdExpiresAt: string;
}

export interface ListQuery {
  /** Page size, 1 to 100. */
  readonly limit: number;
  /** `nextCursor` of the previous page, as the client sent it (a tampered one is a 400). */
  readonly cursor?: string;
  /** Only bookings with the status the clock gives them at `now` (`statusAt`). */
  readonly status?: BookingStatus;
  /** The instant `status` is judged at. */
  readonly now: Date;
  /** By start: latest first (`desc`, the default: DESIGN.md's "newest first") or earliest first. */
  readonly order?: 'asc' | 'desc';
}

export interface BookingPage {
  readonly bookings: Booking[];
  /** The cursor of the next page; absent at the end. */
  readonly next?: string;
}

export interface BookingStore {
  /**
   * Takes a seat of `booking`'s slot and writes the booking (`confirmed`, or `pending_payment`
   * with `holdExpiresAt`), in one transaction. Throws `SlotTaken` when the slot's seats are all
   * taken, `BookingConflict` when the user holds a booking at an overlapping minute (any service),
   * `BookingBusy` when DynamoDB kept cancelling it for concurrent transactions. A second create of
   * the same booking (same id, user, service and start) answers the stored one.
   */
  create(booking: Booking, service: SeatRules): Promise<Booking>;
  /** The user's booking (strongly consistent); another user's id names nothing. */
  get(userId: string, bookingId: string): Promise<Booking | undefined>;
  /**
   * `pending_payment` or `confirmed` → `cancelled`: the seat and the guard given back. Throws
   * `BookingNotChangeable` when `booking` (as read) cannot be cancelled; undefined when it changed
   * since it was read. The cut-off is the caller's to check (`assertCanCancel`).
   */
  cancel(booking: Booking, at: Date): Promise<Booking | undefined>;
  /** `pending_payment` whose hold lapsed at `now` → `expired`, the seat and the guard given back; undefined otherwise. */
  expire(booking: Booking, now: Date): Promise<Booking | undefined>;
  /**
   * Moves a `confirmed` booking to `to` (another slot of its service): the old seat and guard given
   * back, the new ones taken, the booking's start and end changed, all or nothing. Throws
   * `SlotTaken` / `BookingConflict` (nothing changed), `BookingNotChangeable` for a booking that is
   * not `confirmed`; undefined when the booking changed since it was read.
   */
  reschedule(booking: Booking, to: SlotTime, service: SeatRules, at: Date): Promise<Booking | undefined>;
  /** `pending_payment` → `confirmed` (paid), while the hold lasts at `at`; undefined otherwise. */
  confirm(booking: Booking, at: Date): Promise<Booking | undefined>;
  /** `confirmed` whose end has passed at `now` → `completed`; undefined otherwise. */
  complete(booking: Booking, now: Date): Promise<Booking | undefined>;
  /**
   * Seats taken per slot start (UTC ISO) of a service for slots starting in `[from, to]`, as
   * `slotsBetween` wants them; slots nobody booked are absent. Queries only, never a scan.
   */
  takenSeats(serviceId: string, from: Date, to: Date): Promise<Map<string, number>>;
  /** The user's bookings by start, a page at a time. */
  list(userId: string, query: ListQuery): Promise<BookingPage>;
  /** `pending_payment` bookings whose hold lapsed at or before `now`, among holds lapsing from `since` on. */
  expiredHolds(now: Date, since: Date): Promise<HoldRef[]>;
}
