import { describe, expect, it } from 'vitest';
import { periodBoundary, toSecond } from '../../lambdas/shared/billing/periods';

const monthly = { interval: 'month', intervalCount: 1 } as const;
const yearly = { interval: 'year', intervalCount: 1 } as const;
const iso = (d: Date) => d.toISOString();

describe('periodBoundary (calendar-anchored)', () => {
  it('Jan 31 renews Feb 28, then Mar 31, Apr 30: every boundary from the anchor, no drift', () => {
    const anchor = new Date('2027-01-31T10:20:30.000Z');
    expect([1, 2, 3, 4].map((n) => iso(periodBoundary(anchor, monthly, n)))).toEqual([
      '2027-02-28T10:20:30.000Z',
      '2027-03-31T10:20:30.000Z',
      '2027-04-30T10:20:30.000Z',
      '2027-05-31T10:20:30.000Z',
    ]);
  });

  it('Feb 29 in a leap year for a Jan 31 anchor', () => {
    expect(iso(periodBoundary(new Date('2028-01-31T00:00:00Z'), monthly, 1))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('yearly from Feb 29 renews Feb 28, and Feb 29 again in the next leap year', () => {
    const anchor = new Date('2028-02-29T12:00:00Z');
    expect([1, 2, 3, 4].map((n) => iso(periodBoundary(anchor, yearly, n)))).toEqual([
      '2029-02-28T12:00:00.000Z',
      '2030-02-28T12:00:00.000Z',
      '2031-02-28T12:00:00.000Z',
      '2032-02-29T12:00:00.000Z',
    ]);
  });

  it('crosses year ends and honours intervalCount', () => {
    const anchor = new Date('2026-11-30T00:00:00Z');
    expect(iso(periodBoundary(anchor, monthly, 3))).toBe('2027-02-28T00:00:00.000Z');
    expect(iso(periodBoundary(anchor, { interval: 'month', intervalCount: 3 }, 1))).toBe('2027-02-28T00:00:00.000Z');
    expect(iso(periodBoundary(anchor, monthly, 0))).toBe(iso(anchor));
  });

  it('periods are contiguous: each starts where the last ended, 12 months add up to a year', () => {
    const anchor = new Date('2027-03-31T08:00:00Z');
    const ends = Array.from({ length: 13 }, (_, n) => periodBoundary(anchor, monthly, n).getTime());
    for (let n = 1; n < ends.length; n++) expect(ends[n]).toBeGreaterThan(ends[n - 1]!);
    expect(iso(new Date(ends[12]!))).toBe('2028-03-31T08:00:00.000Z');
  });

  it('refuses a negative or fractional period index', () => {
    expect(() => periodBoundary(new Date(), monthly, -1)).toThrow(RangeError);
    expect(() => periodBoundary(new Date(), monthly, 1.5)).toThrow(RangeError);
  });

  it('toSecond drops milliseconds', () => {
    expect(iso(toSecond(new Date('2027-01-01T00:00:00.999Z')))).toBe('2027-01-01T00:00:00.000Z');
  });
});
