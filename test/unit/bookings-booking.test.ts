import { describe, expect, it } from 'vitest';
import {
  assertCanCancel,
  assertCanReschedule,
  BOOKING_STATUSES,
  type Booking,
  type BookingStatus,
  bookingView,
  canCancel,
  canReschedule,
  canTransition,
  HOLD_MINUTES,
  holdExpiresAt,
  isCompleted,
  isHoldExpired,
  overlaps,
  statusAt,
} from '../../lambdas/shared/bookings/booking';
import {
  BookingConflict,
  BookingNotChangeable,
  CutoffPassed,
  NotASlot,
  SlotTaken,
  SubscriptionRequired,
} from '../../lambdas/shared/bookings/errors';
import { RateLimitedError } from '../../lambdas/shared/errors';
import { toErrorResponse } from '../../lambdas/shared/http/response';

const booking = (overrides: Partial<Booking> = {}): Booking => ({
  id: 'bk_1',
  userId: 'u_1',
  serviceId: 'svc',
  start: '2026-06-01T10:00:00.000Z',
  end: '2026-06-01T11:00:00.000Z',
  status: 'confirmed',
  price: null,
  createdAt: '2026-05-01T00:00:00.000Z',
  updatedAt: '2026-05-01T00:00:00.000Z',
  ...overrides,
});

const t = (iso: string) => new Date(iso);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('transitions (DESIGN.md section 6)', () => {
  // Every pair, written out: the rows are `from`, the allowed `to`s (staying put is always allowed).
  const allowed: Record<BookingStatus, BookingStatus[]> = {
    pending_payment: ['pending_payment', 'confirmed', 'cancelled', 'expired'],
    confirmed: ['confirmed', 'completed', 'cancelled'],
    completed: ['completed'],
    cancelled: ['cancelled'],
    expired: ['expired'],
  };

  it.each(BOOKING_STATUSES.flatMap((from) => BOOKING_STATUSES.map((to) => [from, to] as const)))('%s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(allowed[from].includes(to));
  });

  it('has the five statuses of the contract', () => {
    expect([...BOOKING_STATUSES].sort()).toEqual(['cancelled', 'completed', 'confirmed', 'expired', 'pending_payment']);
  });
});

describe('the payment hold', () => {
  it('lasts 15 minutes from the booking', () => {
    expect(HOLD_MINUTES).toBe(15);
    expect(holdExpiresAt(t('2026-06-01T08:00:00Z'), '2026-06-01T10:00:00.000Z')).toBe('2026-06-01T08:15:00.000Z');
  });

  it('never outlasts the slot start', () => {
    expect(holdExpiresAt(t('2026-06-01T09:50:00Z'), '2026-06-01T10:00:00.000Z')).toBe('2026-06-01T10:00:00.000Z');
  });

  it('has lapsed at its expiry instant, not a millisecond before', () => {
    const held = booking({ status: 'pending_payment', holdExpiresAt: '2026-06-01T08:15:00.000Z' });
    expect(isHoldExpired(held, t('2026-06-01T08:14:59.999Z'))).toBe(false);
    expect(isHoldExpired(held, t('2026-06-01T08:15:00.000Z'))).toBe(true);
    expect(statusAt(held, t('2026-06-01T08:15:00.000Z'))).toBe('expired');
    expect(isHoldExpired({ ...held, status: 'confirmed' }, t('2026-06-01T09:00:00Z'))).toBe(false);
  });
});

describe('completion', () => {
  it('a confirmed booking is completed at its end, not before', () => {
    expect(isCompleted(booking(), t('2026-06-01T10:59:59.999Z'))).toBe(false);
    expect(isCompleted(booking(), t('2026-06-01T11:00:00.000Z'))).toBe(true);
    expect(statusAt(booking(), t('2026-06-01T11:00:00.000Z'))).toBe('completed');
  });

  it('a cancelled or expired booking never completes; a completed one stays so', () => {
    const later = t('2026-07-01T00:00:00Z');
    expect(isCompleted(booking({ status: 'cancelled' }), later)).toBe(false);
    expect(isCompleted(booking({ status: 'expired' }), later)).toBe(false);
    expect(isCompleted(booking({ status: 'completed' }), t('2026-01-01T00:00:00Z'))).toBe(true);
    expect(statusAt(booking({ status: 'cancelled' }), later)).toBe('cancelled');
  });
});

describe('cut-offs (allowed before the deadline; at it and after, cutoff_passed)', () => {
  const rules = { cancelCutoffMinutes: 60, rescheduleCutoffMinutes: 120 };

  it('cancel: allowed at 08:59 for a 10:00 start with a 60-minute cut-off, refused from 09:00', () => {
    expect(canCancel(booking(), rules, t('2026-06-01T08:59:00.000Z'))).toEqual({ allowed: true });
    expect(canCancel(booking(), rules, t('2026-06-01T08:59:59.999Z'))).toEqual({ allowed: true });
    const refused = { allowed: false, reason: 'cutoff_passed', deadline: '2026-06-01T09:00:00.000Z' };
    expect(canCancel(booking(), rules, t('2026-06-01T09:00:00.000Z'))).toEqual(refused);
    expect(canCancel(booking(), rules, t('2026-06-01T09:01:00.000Z'))).toEqual(refused);
    expect(canCancel(booking(), rules, t('2026-06-01T10:30:00.000Z'))).toEqual(refused);
  });

  it('reschedule: uses its own cut-off (120 minutes), from the current start', () => {
    expect(canReschedule(booking(), rules, t('2026-06-01T07:59:00.000Z'))).toEqual({ allowed: true });
    expect(canReschedule(booking(), rules, t('2026-06-01T08:00:00.000Z'))).toEqual({
      allowed: false,
      reason: 'cutoff_passed',
      deadline: '2026-06-01T08:00:00.000Z',
    });
    // Between the two deadlines: cancel still allowed, reschedule not.
    expect(canCancel(booking(), rules, t('2026-06-01T08:30:00.000Z')).allowed).toBe(true);
    expect(canReschedule(booking(), rules, t('2026-06-01T08:30:00.000Z')).allowed).toBe(false);
  });

  it('a cut-off of 0 allows a change until the start, never at it', () => {
    const none = { cancelCutoffMinutes: 0, rescheduleCutoffMinutes: 0 };
    expect(canCancel(booking(), none, t('2026-06-01T09:59:59.999Z')).allowed).toBe(true);
    expect(canCancel(booking(), none, t('2026-06-01T10:00:00.000Z'))).toMatchObject({ reason: 'cutoff_passed' });
    expect(canReschedule(booking(), none, t('2026-06-01T09:59:00.000Z')).allowed).toBe(true);
    expect(canReschedule(booking(), none, t('2026-06-01T10:00:00.000Z'))).toMatchObject({ reason: 'cutoff_passed' });
  });

  it('an unpaid hold may be cancelled after the cut-off while it lasts, not rescheduled', () => {
    const held = booking({ status: 'pending_payment', holdExpiresAt: '2026-06-01T09:50:00.000Z' });
    expect(canCancel(held, rules, t('2026-06-01T09:40:00.000Z'))).toEqual({ allowed: true });
    expect(canCancel(held, rules, t('2026-06-01T09:50:00.000Z'))).toEqual({ allowed: false, reason: 'not_changeable', status: 'expired' });
    expect(canReschedule(held, rules, t('2026-06-01T07:00:00.000Z'))).toEqual({
      allowed: false,
      reason: 'not_changeable',
      status: 'pending_payment',
    });
  });

  it.each(['cancelled', 'completed', 'expired'] as const)('a %s booking cannot be changed at all', (status) => {
    const early = t('2026-05-01T00:00:00Z');
    expect(canCancel(booking({ status }), rules, early)).toEqual({ allowed: false, reason: 'not_changeable', status });
    expect(canReschedule(booking({ status }), rules, early)).toEqual({ allowed: false, reason: 'not_changeable', status });
  });

  it('the assert forms throw what the routes answer: 409 cutoff_passed, 409 conflict', () => {
    expect(() => assertCanCancel(booking(), rules, t('2026-06-01T08:59:00Z'))).not.toThrow();
    expect(() => assertCanCancel(booking(), rules, t('2026-06-01T09:00:00Z'))).toThrow(CutoffPassed);
    expect(() => assertCanReschedule(booking(), rules, t('2026-06-01T08:00:00Z'))).toThrow(CutoffPassed);
    expect(() => assertCanCancel(booking({ status: 'cancelled' }), rules, t('2026-05-01T00:00:00Z'))).toThrow(BookingNotChangeable);
    const response = toErrorResponse(thrown(() => assertCanCancel(booking(), rules, t('2026-06-01T09:00:00Z'))));
    expect(response.statusCode).toBe(409);
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'cutoff_passed',
      message: expect.stringContaining('2026-06-01T09:00:00.000Z'),
    });
  });
});

describe('overlaps ([start, end): touching is not overlapping)', () => {
  const i = (start: string, end: string) => ({ start: `2026-06-01T${start}:00.000Z`, end: `2026-06-01T${end}:00.000Z` });

  it.each([
    ['touching, a before b', i('09:00', '10:00'), i('10:00', '11:00'), false],
    ['touching, b before a', i('10:00', '11:00'), i('09:00', '10:00'), false],
    ['disjoint', i('09:00', '10:00'), i('11:00', '12:00'), false],
    ['identical', i('09:00', '10:00'), i('09:00', '10:00'), true],
    ['one minute in common', i('09:00', '10:00'), i('09:59', '11:00'), true],
    ['contained', i('09:00', '12:00'), i('10:00', '11:00'), true],
    ['containing', i('10:00', '11:00'), i('09:00', '12:00'), true],
    ['same start, different ends', i('09:00', '09:30'), i('09:00', '10:00'), true],
    ['same end, different starts', i('09:30', '10:00'), i('09:00', '10:00'), true],
    ['an empty interval inside another', i('09:30', '09:30'), i('09:00', '10:00'), false],
    ['a reversed interval', i('10:00', '09:00'), i('09:00', '10:00'), false],
  ])('%s → %s', (_, a, b, expected) => {
    expect(overlaps(a, b)).toBe(expected);
    expect(overlaps(b, a)).toBe(expected);
  });

  it('by the millisecond, with Dates or strings', () => {
    expect(overlaps({ start: t('2026-06-01T09:00:00Z'), end: '2026-06-01T10:00:00.001Z' }, i('10:00', '11:00'))).toBe(true);
    expect(overlaps({ start: t('2026-06-01T09:00:00Z'), end: t('2026-06-01T10:00:00Z') }, i('10:00', '11:00'))).toBe(false);
  });
});

describe('bookingView', () => {
  it('has the contract fields and the price', () => {
    expect(bookingView(booking(), t('2026-05-01T00:00:00Z'))).toEqual({
      id: 'bk_1',
      serviceId: 'svc',
      start: '2026-06-01T10:00:00.000Z',
      end: '2026-06-01T11:00:00.000Z',
      status: 'confirmed',
      price: null,
      createdAt: '2026-05-01T00:00:00.000Z',
    });
  });

  it('shows holdExpiresAt only while the hold lasts, and the status the clock gives', () => {
    const held = booking({
      status: 'pending_payment',
      holdExpiresAt: '2026-05-01T00:15:00.000Z',
      price: { amount: 4_900, currency: 'USD' },
    });
    expect(bookingView(held, t('2026-05-01T00:10:00Z'))).toMatchObject({
      status: 'pending_payment',
      holdExpiresAt: '2026-05-01T00:15:00.000Z',
    });
    const lapsed = bookingView(held, t('2026-05-01T00:15:00Z'));
    expect(lapsed.status).toBe('expired');
    expect(lapsed).not.toHaveProperty('holdExpiresAt');
    expect(bookingView(booking({ userId: 'secret' }), t('2026-05-01T00:00:00Z'))).not.toHaveProperty('userId');
  });
});

describe('errors', () => {
  it.each([
    [new SlotTaken(), 409, 'slot_taken'],
    [new BookingConflict(), 409, 'booking_conflict'],
    [new CutoffPassed('reschedule', '2026-06-01T08:00:00.000Z'), 409, 'cutoff_passed'],
    [new SubscriptionRequired(), 403, 'subscription_required'],
    [new BookingNotChangeable('cancel', 'completed'), 409, 'conflict'],
    [new NotASlot(), 400, 'bad_request'],
    [new RateLimitedError('At most 10 booking writes a minute', 12), 429, 'rate_limited'],
  ])('%s → %s %s', (error, status, code) => {
    const response = toErrorResponse(error);
    expect(response.statusCode).toBe(status);
    expect(JSON.parse(response.body).error.code).toBe(code);
  });

  it('a bad start names the field', () => {
    expect(JSON.parse(toErrorResponse(new NotASlot()).body).error.details).toEqual([
      { field: 'start', message: 'start is not a future slot of this service' },
    ]);
  });
});
