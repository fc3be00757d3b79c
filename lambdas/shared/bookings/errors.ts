/**
 * Bookings' typed errors (STYLE 8); `http/response.ts` maps each code to its status. A user over
 * the booking-write rate gets the shared `RateLimitedError` (429 `rate_limited`, `Retry-After`).
 */
import { AppError, BadRequestError } from '../errors';
import type { BookingStatus } from './booking';

/** Every seat of the slot is taken (or held). → 409 slot_taken */
export class SlotTaken extends AppError {
  constructor() {
    super('slot_taken', 'This slot has no seats left; choose another');
  }
}

/** The user already holds a booking that overlaps this slot. → 409 booking_conflict */
export class BookingConflict extends AppError {
  constructor() {
    super('booking_conflict', 'You already have a booking at an overlapping time');
  }
}

/**
 * DynamoDB kept cancelling the booking's transaction for others on the same items (a slot being
 * booked by many at once) and the retries ran out with seats still left: nothing was written, and
 * trying again is safe. → 409 conflict
 */
export class BookingBusy extends AppError {
  constructor() {
    super('conflict', 'Many bookings of this slot are being made at once; nothing was changed, try again');
  }
}

/** Too late to cancel or reschedule under the service's cut-off. → 409 cutoff_passed */
export class CutoffPassed extends AppError {
  constructor(
    readonly action: 'cancel' | 'reschedule',
    /** The first instant at which it was too late (ISO 8601 UTC). */
    readonly deadline: string,
  ) {
    super('cutoff_passed', `This booking could be ${action === 'cancel' ? 'cancelled' : 'rescheduled'} until ${deadline}`);
  }
}

/** Booking needs access: an `active` or `past_due` subscription. → 403 subscription_required */
export class SubscriptionRequired extends AppError {
  constructor() {
    super('subscription_required', 'Booking needs an active subscription');
  }
}

/** The booking's status does not allow the change (already cancelled, unpaid, over). → 409 conflict */
export class BookingNotChangeable extends AppError {
  constructor(
    readonly action: 'cancel' | 'reschedule',
    readonly status: BookingStatus,
  ) {
    super(
      'conflict',
      status === 'pending_payment'
        ? 'An unpaid booking cannot be rescheduled: pay for it or cancel it'
        : `The booking is ${status}: it cannot be ${action === 'cancel' ? 'cancelled' : 'rescheduled'}`,
    );
  }
}

/** `start` is not a future slot of the service (off the grid, closed, past). → 400 naming `start` */
export class NotASlot extends BadRequestError {
  constructor(message = 'start is not a future slot of this service') {
    super(message, [{ field: 'start', message }]);
  }
}
