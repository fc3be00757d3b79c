/**
 * Billing periods, calendar-anchored like Stripe's: period n of a subscription ends n intervals
 * after its anchor (the start of its first paid period), clamped to the end of a shorter month,
 * and every boundary is computed from the anchor, never from the previous boundary. So a monthly
 * subscription started Jan 31 renews Feb 28 (Feb 29 in a leap year), then Mar 31, Apr 30: no drift
 * and no free days; a yearly one started Feb 29 renews Feb 28, and Feb 29 again in leap years.
 * The time of day is the anchor's, in UTC.
 */
import type { Interval } from './plans';

export interface Cadence {
  readonly interval: Interval;
  readonly intervalCount: number;
}

/** The end of period `n` (1-based): `n` cadences after `anchor`. Period 0 "ends" at the anchor. */
export function periodBoundary(anchor: Date, cadence: Cadence, n: number): Date {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`period index must be a non-negative integer, got ${n}`);
  const months = n * cadence.intervalCount * (cadence.interval === 'year' ? 12 : 1);
  const year = anchor.getUTCFullYear();
  const month = anchor.getUTCMonth() + months;
  const targetYear = year + Math.floor(month / 12);
  const targetMonth = ((month % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(targetYear, targetMonth + 1, 0)).getUTCDate();
  const day = Math.min(anchor.getUTCDate(), lastDay);
  return new Date(
    Date.UTC(
      targetYear,
      targetMonth,
      day,
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/** Truncates to whole seconds: periods are stored and scheduled to the second (Scheduler's `at()`). */
export function toSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
