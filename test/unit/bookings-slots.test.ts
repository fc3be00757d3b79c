/**
 * Slots cut from a weekly availability in the service's own zone. Expected instants are written
 * out by hand from the zones' rules (2026: Europe/London and Europe/Berlin change on Mar 29 and
 * Oct 25 at 01:00Z; America/New_York on Mar 8 at 07:00Z and Nov 1 at 06:00Z; Australia/Lord_Howe
 * moves by 30 minutes on Apr 5 and Oct 4), never computed with the code under test.
 */
import { describe, expect, it } from 'vitest';
import { DEMO_SERVICES, type Service, type WeeklyAvailability } from '../../lambdas/shared/bookings/services';
import { MAX_SLOT_RANGE_DAYS, slotAt, slotsBetween, slotsQuerySchema } from '../../lambdas/shared/bookings/slots';
import { instantsOfWall, instantsOfWallOn, isTimeZone, offsetAt, offsetsAroundDay } from '../../lambdas/shared/bookings/zoned-time';
import { BadRequestError } from '../../lambdas/shared/errors';

const LONG_AGO = new Date('2000-01-01T00:00:00Z');
const DAY = 86_400_000;

function service(timeZone: string, availability: WeeklyAvailability, durationMinutes = 60, capacity = 1): Service {
  return {
    id: 'svc',
    name: 'Test',
    durationMinutes,
    capacity,
    price: null,
    cancelCutoffMinutes: 60,
    rescheduleCutoffMinutes: 60,
    timeZone,
    availability,
  };
}

const weekdays = (start: string, end: string): WeeklyAvailability => {
  const windows = [{ start, end }];
  return { mon: windows, tue: windows, wed: windows, thu: windows, fri: windows };
};

const starts = (s: Service, from: string, to: string, now = LONG_AGO) =>
  slotsBetween(s, { from: new Date(from), to: new Date(to), now }).map((slot) => slot.start);

/** `T<hh:mm>` at each of `dates`, as the ISO strings slots carry. */
const at = (dates: string[], time: string) => dates.map((date) => `${date}T${time}:00.000Z`);

describe('slots across DST changes (31 days, a 09:00-10:00 local weekday window)', () => {
  const nineToTen = weekdays('09:00', '10:00');

  it('Europe/London, spring: 09:00 local is 09:00Z before Mar 29 and 08:00Z after', () => {
    expect(starts(service('Europe/London', nineToTen), '2026-03-15T00:00:00Z', '2026-04-15T00:00:00Z')).toEqual([
      ...at(['2026-03-16', '2026-03-17', '2026-03-18', '2026-03-19', '2026-03-20'], '09:00'),
      ...at(['2026-03-23', '2026-03-24', '2026-03-25', '2026-03-26', '2026-03-27'], '09:00'),
      ...at(['2026-03-30', '2026-03-31', '2026-04-01', '2026-04-02', '2026-04-03'], '08:00'),
      ...at(['2026-04-06', '2026-04-07', '2026-04-08', '2026-04-09', '2026-04-10'], '08:00'),
      ...at(['2026-04-13', '2026-04-14'], '08:00'),
    ]);
  });

  it('Europe/London, autumn: 08:00Z before Oct 25 and 09:00Z after', () => {
    expect(starts(service('Europe/London', nineToTen), '2026-10-10T00:00:00Z', '2026-11-10T00:00:00Z')).toEqual([
      ...at(['2026-10-12', '2026-10-13', '2026-10-14', '2026-10-15', '2026-10-16'], '08:00'),
      ...at(['2026-10-19', '2026-10-20', '2026-10-21', '2026-10-22', '2026-10-23'], '08:00'),
      ...at(['2026-10-26', '2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30'], '09:00'),
      ...at(['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06'], '09:00'),
      ...at(['2026-11-09'], '09:00'),
    ]);
  });

  it('America/New_York, spring: 14:00Z before Mar 8 and 13:00Z after', () => {
    expect(starts(service('America/New_York', nineToTen), '2026-02-25T00:00:00Z', '2026-03-28T00:00:00Z')).toEqual([
      ...at(['2026-02-25', '2026-02-26', '2026-02-27'], '14:00'),
      ...at(['2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'], '14:00'),
      ...at(['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12', '2026-03-13'], '13:00'),
      ...at(['2026-03-16', '2026-03-17', '2026-03-18', '2026-03-19', '2026-03-20'], '13:00'),
      ...at(['2026-03-23', '2026-03-24', '2026-03-25', '2026-03-26', '2026-03-27'], '13:00'),
    ]);
  });

  it('America/New_York, autumn: 13:00Z before Nov 1 and 14:00Z after', () => {
    expect(starts(service('America/New_York', nineToTen), '2026-10-20T00:00:00Z', '2026-11-20T00:00:00Z')).toEqual([
      ...at(['2026-10-20', '2026-10-21', '2026-10-22', '2026-10-23'], '13:00'),
      ...at(['2026-10-26', '2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30'], '13:00'),
      ...at(['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06'], '14:00'),
      ...at(['2026-11-09', '2026-11-10', '2026-11-11', '2026-11-12', '2026-11-13'], '14:00'),
      ...at(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19'], '14:00'),
    ]);
  });

  it('a Mon-Fri 09:00-17:00 hourly service has 8 slots every weekday of a DST month, each an hour long', () => {
    const slots = slotsBetween(service('Europe/London', weekdays('09:00', '17:00')), {
      from: new Date('2026-03-01T00:00:00Z'),
      to: new Date('2026-04-01T00:00:00Z'),
      now: LONG_AGO,
    });
    expect(slots).toHaveLength(22 * 8);
    for (const slot of slots) expect(Date.parse(slot.end) - Date.parse(slot.start)).toBe(3_600_000);
    expect(slots.filter((slot) => slot.start.startsWith('2026-03-30')).map((slot) => slot.start)).toEqual(
      ['08', '09', '10', '11', '12', '13', '14', '15'].map((h) => `2026-03-30T${h}:00:00.000Z`),
    );
  });

  it('the demo class in Europe/Berlin has the right slots in its DST week', () => {
    const yoga = DEMO_SERVICES.find((s) => s.id === 'demo-yoga-class')!;
    expect(starts(yoga, '2026-03-23T00:00:00Z', '2026-04-02T00:00:00Z')).toEqual([
      '2026-03-23T17:00:00.000Z', // Mon 18:00 CET
      '2026-03-25T06:00:00.000Z', // Wed 07:00 CET
      '2026-03-25T17:00:00.000Z',
      '2026-03-27T17:00:00.000Z', // Fri
      '2026-03-28T09:00:00.000Z', // Sat 10:00 and 11:00 CET, the day before the change
      '2026-03-28T10:00:00.000Z',
      '2026-03-30T16:00:00.000Z', // Mon 18:00 CEST
      '2026-04-01T05:00:00.000Z', // Wed 07:00 CEST
      '2026-04-01T16:00:00.000Z',
    ]);
  });
});

describe('the hours the clocks skip and repeat', () => {
  it('spring forward: a grid time in the skipped hour gives no slot, never a shifted one', () => {
    // New York, Sun Mar 8 2026: 02:00 EST becomes 03:00 EDT.
    const s = service('America/New_York', { sun: [{ start: '01:00', end: '04:00' }] });
    expect(slotsBetween(s, { from: new Date('2026-03-08T00:00:00Z'), to: new Date('2026-03-09T00:00:00Z'), now: LONG_AGO })).toEqual([
      { start: '2026-03-08T06:00:00.000Z', end: '2026-03-08T07:00:00.000Z', remaining: 1 }, // 01:00 EST
      { start: '2026-03-08T07:00:00.000Z', end: '2026-03-08T08:00:00.000Z', remaining: 1 }, // 03:00 EDT
    ]);
  });

  it('spring forward: a window entirely in the skipped hour has no slot that day, and its usual ones otherwise', () => {
    const s = service('America/New_York', { sun: [{ start: '02:00', end: '03:00' }] }, 30);
    expect(starts(s, '2026-03-01T00:00:00Z', '2026-03-16T00:00:00Z')).toEqual([
      '2026-03-01T07:00:00.000Z', // 02:00 EST
      '2026-03-01T07:30:00.000Z',
      '2026-03-15T06:00:00.000Z', // 02:00 EDT
      '2026-03-15T06:30:00.000Z',
    ]);
  });

  it('spring forward: a slot that would start before the previous one ends in real time is dropped', () => {
    // London, Sun Mar 29 2026, 45-minute grid: 00:00 and 00:45 GMT; 01:30 does not exist; 02:15 BST
    // is 01:15Z, inside 00:45-01:30Z, so it goes; 03:00 BST is 02:00Z.
    const s = service('Europe/London', { sun: [{ start: '00:00', end: '03:45' }] }, 45);
    expect(starts(s, '2026-03-29T00:00:00Z', '2026-03-30T00:00:00Z')).toEqual([
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T00:45:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
  });

  it('fall back: the repeated hour gives one slot per grid time (its first occurrence), no duplicate', () => {
    // New York, Sun Nov 1 2026: 02:00 EDT becomes 01:00 EST; 01:00-02:00 happens twice.
    const s = service('America/New_York', { sun: [{ start: '00:00', end: '03:00' }] }, 30);
    const slots = starts(s, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z');
    expect(slots).toEqual([
      '2026-11-01T04:00:00.000Z', // 00:00 EDT
      '2026-11-01T04:30:00.000Z',
      '2026-11-01T05:00:00.000Z', // 01:00 EDT (the first 01:00)
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T07:00:00.000Z', // 02:00 EST
      '2026-11-01T07:30:00.000Z',
    ]);
    expect(new Set(slots).size).toBe(slots.length);
  });

  it('fall back in London: 01:00 local once, at 00:00Z', () => {
    const s = service('Europe/London', { sun: [{ start: '00:00', end: '04:00' }] });
    expect(starts(s, '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z')).toEqual([
      '2026-10-24T23:00:00.000Z', // 00:00 BST
      '2026-10-25T00:00:00.000Z', // 01:00 BST
      '2026-10-25T02:00:00.000Z', // 02:00 GMT
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  it('a zone that moves its clocks by 30 minutes (Australia/Lord_Howe), both ways', () => {
    const s = service('Australia/Lord_Howe', { sun: [{ start: '01:00', end: '04:00' }] }, 30);
    // Apr 5: 02:00 (+11:00) becomes 01:30 (+10:30); 01:30-02:00 happens twice.
    expect(starts(s, '2026-04-04T00:00:00Z', '2026-04-05T00:00:00Z')).toEqual([
      '2026-04-04T14:00:00.000Z',
      '2026-04-04T14:30:00.000Z', // the first 01:30
      '2026-04-04T15:30:00.000Z', // 02:00 +10:30
      '2026-04-04T16:00:00.000Z',
      '2026-04-04T16:30:00.000Z',
      '2026-04-04T17:00:00.000Z',
    ]);
    // Oct 4: 02:00 (+10:30) becomes 02:30 (+11:00); 02:00-02:30 does not exist.
    expect(starts(s, '2026-10-03T00:00:00Z', '2026-10-04T00:00:00Z')).toEqual([
      '2026-10-03T14:30:00.000Z',
      '2026-10-03T15:00:00.000Z',
      '2026-10-03T15:30:00.000Z', // 02:30 +11:00
      '2026-10-03T16:00:00.000Z',
      '2026-10-03T16:30:00.000Z',
    ]);
  });

  it('slots never overlap and are in order, whatever the zone and the grid', () => {
    for (const zone of ['Europe/London', 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata']) {
      for (const duration of [5, 25, 45, 60, 90, 480]) {
        const all: WeeklyAvailability = Object.fromEntries(
          ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ start: '00:00', end: '24:00' }]]),
        );
        for (const [from, to] of [
          ['2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z'],
          ['2026-09-20T00:00:00Z', '2026-10-21T00:00:00Z'],
          ['2026-10-20T00:00:00Z', '2026-11-20T00:00:00Z'],
        ] as const) {
          const slots = slotsBetween(service(zone, all, duration), { from: new Date(from), to: new Date(to), now: LONG_AGO });
          for (let i = 1; i < slots.length; i++) {
            expect(Date.parse(slots[i]!.start), `${zone} ${duration} ${slots[i]!.start}`).toBeGreaterThanOrEqual(
              Date.parse(slots[i - 1]!.end),
            );
          }
        }
      }
    }
  });
});

describe('zones without DST', () => {
  it('Asia/Kolkata (+05:30): 09:00 local is 03:30Z all year, across the European and American changes', () => {
    const s = service('Asia/Kolkata', { mon: [{ start: '09:00', end: '10:00' }] }, 30);
    expect(starts(s, '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z')).toEqual(
      ['2026-03-02', '2026-03-09', '2026-03-16', '2026-03-23', '2026-03-30'].flatMap((d) => [`${d}T03:30:00.000Z`, `${d}T04:00:00.000Z`]),
    );
  });

  it('Asia/Tokyo (+09:00): a Monday 08:00 slot is Sunday 23:00Z', () => {
    const s = service('Asia/Tokyo', { mon: [{ start: '08:00', end: '09:00' }] });
    expect(starts(s, '2026-10-20T00:00:00Z', '2026-11-10T00:00:00Z')).toEqual([
      '2026-10-25T23:00:00.000Z',
      '2026-11-01T23:00:00.000Z',
      '2026-11-08T23:00:00.000Z',
    ]);
  });

  it('UTC, with a window that ends at 24:00', () => {
    const s = service('UTC', { sat: [{ start: '22:00', end: '24:00' }] });
    expect(starts(s, '2026-10-24T00:00:00Z', '2026-10-26T00:00:00Z')).toEqual(['2026-10-24T22:00:00.000Z', '2026-10-24T23:00:00.000Z']);
  });
});

describe('the range', () => {
  const s = service('Europe/London', { mon: [{ start: '09:00', end: '12:00' }] });

  it('is [from, to) on the start', () => {
    expect(starts(s, '2026-03-30T07:00:00Z', '2026-03-30T08:00:00Z')).toEqual([]);
    expect(starts(s, '2026-03-30T08:00:00Z', '2026-03-30T09:00:00Z')).toEqual(['2026-03-30T08:00:00.000Z']);
    expect(starts(s, '2026-03-30T08:00:00.001Z', '2026-03-30T09:00:00.001Z')).toEqual(['2026-03-30T09:00:00.000Z']);
  });

  it('may be 31 days, not a millisecond more; an empty or reversed one is refused', () => {
    const from = new Date('2026-03-01T00:00:00Z');
    expect(() => slotsBetween(s, { from, to: new Date(from.getTime() + 31 * DAY), now: LONG_AGO })).not.toThrow();
    for (const to of [new Date(from.getTime() + 31 * DAY + 1), from, new Date(from.getTime() - DAY), new Date(Number.NaN)]) {
      expect(() => slotsBetween(s, { from, to, now: LONG_AGO })).toThrow(BadRequestError);
    }
    let refusal: unknown;
    try {
      slotsBetween(s, { from, to: new Date(from.getTime() + 32 * DAY), now: LONG_AGO });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(BadRequestError);
    expect((refusal as BadRequestError).details).toEqual([
      { field: 'to', message: `The range may span at most ${MAX_SLOT_RANGE_DAYS} days` },
    ]);
  });

  it('offers only slots that start after now', () => {
    const range = { from: new Date('2026-03-30T00:00:00Z'), to: new Date('2026-03-31T00:00:00Z') };
    const startsAt = (now: string) => slotsBetween(s, { ...range, now: new Date(now) }).map((slot) => slot.start);
    expect(startsAt('2026-03-30T07:59:59.999Z')).toHaveLength(3);
    expect(startsAt('2026-03-30T08:00:00.000Z')).toEqual(['2026-03-30T09:00:00.000Z', '2026-03-30T10:00:00.000Z']);
    expect(startsAt('2026-03-30T10:00:00.000Z')).toEqual([]);
  });

  it('slotsQuerySchema takes ISO instants and names the field at fault', () => {
    expect(slotsQuerySchema.parse({ from: '2026-03-01T00:00:00Z', to: '2026-03-01T02:00:00+01:00' })).toEqual({
      from: new Date('2026-03-01T00:00:00Z'),
      to: new Date('2026-03-01T01:00:00Z'),
    });
    const fieldsOf = (query: unknown) => {
      const result = slotsQuerySchema.safeParse(query);
      return result.success ? [] : BadRequestError.fromZod(result.error).details.map((d) => d.field);
    };
    expect(fieldsOf({ from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' })).toEqual([]);
    expect(fieldsOf({ from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:01Z' })).toEqual(['to']);
    expect(fieldsOf({ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' })).toEqual(['to']);
    expect(fieldsOf({ from: '2026-03-01', to: 'tomorrow' })).toEqual(['from', 'to']);
    expect(fieldsOf({ from: '2026-03-01T00:00:00Z' })).toEqual(['to']);
    expect(fieldsOf({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z', extra: '1' })).toEqual(['extra']);
  });
});

describe('remaining seats', () => {
  it('is capacity minus the seats taken at that start, never below 0', () => {
    const s = service('Europe/London', { mon: [{ start: '09:00', end: '13:00' }] }, 60, 5);
    const taken = new Map([
      ['2026-03-30T08:00:00.000Z', 2],
      ['2026-03-30T09:00:00.000Z', 5],
      ['2026-03-30T10:00:00.000Z', 7],
      ['2026-03-30T09:30:00.000Z', 4], // not a slot: ignored
    ]);
    const slots = slotsBetween(s, { from: new Date('2026-03-30T00:00:00Z'), to: new Date('2026-03-31T00:00:00Z'), now: LONG_AGO }, taken);
    expect(slots).toEqual([
      { start: '2026-03-30T08:00:00.000Z', end: '2026-03-30T09:00:00.000Z', remaining: 3 },
      { start: '2026-03-30T09:00:00.000Z', end: '2026-03-30T10:00:00.000Z', remaining: 0 },
      { start: '2026-03-30T10:00:00.000Z', end: '2026-03-30T11:00:00.000Z', remaining: 0 },
      { start: '2026-03-30T11:00:00.000Z', end: '2026-03-30T12:00:00.000Z', remaining: 5 },
    ]);
  });
});

describe('slotAt', () => {
  const s = service('Europe/London', { sun: [{ start: '00:00', end: '03:45' }], mon: [{ start: '09:00', end: '12:00' }] }, 45);
  const now = new Date('2026-03-01T00:00:00Z');

  it('finds a future on-grid start, whatever its spelling, with the canonical strings', () => {
    expect(slotAt(s, new Date('2026-03-30T09:45:00+01:00'), now)).toEqual({
      start: '2026-03-30T08:45:00.000Z',
      end: '2026-03-30T09:30:00.000Z',
    });
  });

  it('refuses off-grid, closed, past and dropped starts', () => {
    expect(slotAt(s, new Date('2026-03-30T08:30:00Z'), now)).toBeUndefined(); // off the 45-minute grid
    expect(slotAt(s, new Date('2026-03-31T08:00:00Z'), now)).toBeUndefined(); // Tuesday: closed
    expect(slotAt(s, new Date('2026-03-30T08:00:00Z'), new Date('2026-03-30T08:00:00Z'))).toBeUndefined(); // starting now
    expect(slotAt(s, new Date('2026-03-29T01:15:00Z'), now)).toBeUndefined(); // 02:15 BST, dropped (overlap)
    expect(slotAt(s, new Date(Number.NaN), now)).toBeUndefined();
  });

  it('agrees with slotsBetween on every 5 minutes of a month with a DST change', () => {
    const from = Date.parse('2026-03-27T00:00:00Z');
    const to = Date.parse('2026-04-01T00:00:00Z');
    const listed = new Set(starts(s, new Date(from).toISOString(), new Date(to).toISOString(), now));
    for (let t = from; t < to; t += 5 * 60_000) {
      expect(slotAt(s, new Date(t), now)?.start, new Date(t).toISOString()).toBe(
        listed.has(new Date(t).toISOString()) ? new Date(t).toISOString() : undefined,
      );
    }
  });
});

describe('zoned-time', () => {
  it('isTimeZone knows IANA names and refuses offsets and nonsense', () => {
    for (const zone of ['Europe/London', 'UTC', 'Asia/Kolkata', 'America/Argentina/Buenos_Aires', 'Etc/GMT-14'])
      expect(isTimeZone(zone), zone).toBe(true);
    for (const zone of ['', '+05:30', 'Mars/Phobos', 'Europe/London ', 'Europe//London', `Europe/${'x'.repeat(80)}`]) {
      expect(isTimeZone(zone), zone).toBe(false);
    }
  });

  it('offsetAt and offsetsAroundDay find the change to the second', () => {
    expect(offsetAt('Asia/Kolkata', Date.parse('2026-06-01T00:00:00Z'))).toBe(5.5 * 3_600_000);
    expect(offsetsAroundDay('Europe/London', Date.UTC(2026, 2, 29))).toEqual({
      before: 0,
      after: 3_600_000,
      changesAt: Date.parse('2026-03-29T01:00:00Z'),
    });
    expect(offsetsAroundDay('Europe/London', Date.UTC(2026, 5, 1))).toEqual({
      before: 3_600_000,
      after: 3_600_000,
      changesAt: Number.POSITIVE_INFINITY,
    });
  });

  it('instantsOfWallOn (arithmetic on the day found once) agrees with instantsOfWall (asking Intl) around every change', () => {
    const days: [string, number][] = [
      ['Europe/London', Date.UTC(2026, 2, 29)],
      ['Europe/London', Date.UTC(2026, 9, 25)],
      ['America/New_York', Date.UTC(2026, 2, 8)],
      ['America/New_York', Date.UTC(2026, 10, 1)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 5)],
      ['Australia/Lord_Howe', Date.UTC(2026, 9, 4)],
      ['America/Santiago', Date.UTC(2026, 3, 5)],
      ['America/Santiago', Date.UTC(2026, 8, 6)],
    ];
    for (const [zone, day] of days) {
      const offsets = offsetsAroundDay(zone, day);
      expect(offsets.changesAt, `${zone} changes near ${new Date(day).toISOString()}`).toBeLessThan(Number.POSITIVE_INFINITY);
      for (let wall = day; wall < day + DAY; wall += 15 * 60_000) {
        expect(instantsOfWallOn(offsets, wall), `${zone} ${new Date(wall).toISOString()}`).toEqual(instantsOfWall(zone, wall));
      }
    }
  });

  it('instantsOfWall: none in a skipped hour, two in a repeated one', () => {
    expect(instantsOfWall('Europe/London', Date.UTC(2026, 2, 29, 1, 30))).toEqual([]);
    expect(instantsOfWall('Europe/London', Date.UTC(2026, 9, 25, 1, 30))).toEqual([
      Date.parse('2026-10-25T00:30:00Z'),
      Date.parse('2026-10-25T01:30:00Z'),
    ]);
    expect(instantsOfWall('Europe/London', Date.UTC(2026, 5, 1, 9))).toEqual([Date.parse('2026-06-01T08:00:00Z')]);
  });
});
