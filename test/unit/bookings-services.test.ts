import { describe, expect, it } from 'vitest';
import { createServiceBodySchema, DEMO_SERVICES, serviceView } from '../../lambdas/shared/bookings/services';
import { BadRequestError } from '../../lambdas/shared/errors';
import type { FieldIssue } from '../../lambdas/shared/validation';

const valid = {
  name: 'Consultation',
  durationMinutes: 60,
  capacity: 1,
  price: { amount: 4_900, currency: 'USD' },
  cancelCutoffMinutes: 1_440,
  rescheduleCutoffMinutes: 720,
  timeZone: 'America/New_York',
  availability: {
    mon: [
      { start: '09:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ],
    fri: [{ start: '09:00', end: '17:00' }],
  },
};

/** The field-level details a 400 would carry, as `field: message` lines. */
function issues(body: unknown): FieldIssue[] {
  const result = createServiceBodySchema.safeParse(body);
  if (result.success) return [];
  return [...BadRequestError.fromZod(result.error).details];
}

const fields = (body: unknown) => issues(body).map((issue) => issue.field);

describe('createServiceBodySchema', () => {
  it('accepts a valid body, free or paid', () => {
    expect(issues(valid)).toEqual([]);
    expect(issues({ ...valid, price: null })).toEqual([]);
  });

  it('accepts every demo service, so a fresh stage seeds only valid services', () => {
    for (const { id, ...body } of DEMO_SERVICES) expect(issues(body), id).toEqual([]);
  });

  it('has the three demo services of the issue: free, paid, and a class of 5 seats', () => {
    expect(DEMO_SERVICES.filter((s) => s.price === null && s.capacity === 1)).toHaveLength(1);
    expect(DEMO_SERVICES.filter((s) => s.price !== null)).toHaveLength(1);
    expect(DEMO_SERVICES.filter((s) => s.capacity === 5)).toHaveLength(1);
    expect(new Set(DEMO_SERVICES.map((s) => s.id)).size).toBe(DEMO_SERVICES.length);
  });

  it('refuses what is not an object', () => {
    for (const body of [null, [], 'service', 42, undefined]) expect(fields(body)).toEqual(['(root)']);
  });

  it('names each unknown field, at the root and in the availability', () => {
    expect(fields({ ...valid, id: 'mine', admin: true })).toEqual(['id', 'admin']);
    expect(fields({ ...valid, availability: { ...valid.availability, monday: [] } })).toEqual(['availability.monday']);
    expect(fields({ ...valid, availability: { mon: [{ start: '09:00', end: '10:00', note: 'x' }] } })).toEqual(['availability.mon.0.note']);
  });

  it('requires every field (price: null for a free service)', () => {
    for (const field of Object.keys(valid)) {
      const body: Record<string, unknown> = { ...valid };
      delete body[field];
      expect(fields(body), field).toEqual([field]);
    }
  });

  describe('name', () => {
    it.each([
      ['empty', ''],
      ['blank', '   '],
      ['too long', 'x'.repeat(101)],
      ['a number', 42],
      ['a control character', 'Yoga\u0000class'],
      ['a newline', 'Yoga\nclass'],
    ])('refuses %s', (_, name) => {
      expect(fields({ ...valid, name })).toEqual(['name']);
    });

    it('is trimmed, up to 100 characters', () => {
      expect(createServiceBodySchema.parse({ ...valid, name: '  Yoga  ' }).name).toBe('Yoga');
      expect(issues({ ...valid, name: 'é'.repeat(100) })).toEqual([]);
    });
  });

  describe('durationMinutes (5 to 480)', () => {
    it.each([5, 480, 45])('accepts %s', (durationMinutes) => {
      expect(issues({ ...valid, durationMinutes, availability: { mon: [{ start: '00:00', end: '24:00' }] } })).toEqual([]);
    });

    it.each([4, 481, 0, -30, 30.5, 1e308, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Number.POSITIVE_INFINITY, '60', null, true])(
      'refuses %s',
      (durationMinutes) => {
        expect(fields({ ...valid, durationMinutes, availability: { mon: [{ start: '00:00', end: '24:00' }] } })).toEqual([
          'durationMinutes',
        ]);
      },
    );

    it('says what it expects', () => {
      expect(issues({ ...valid, durationMinutes: 481 })[0]!.message).toBe('durationMinutes must be at most 480');
      expect(issues({ ...valid, durationMinutes: 30.5 })[0]!.message).toBe('durationMinutes must be a whole number of minutes');
    });
  });

  describe('capacity (1 to 1000)', () => {
    it.each([1, 5, 1000])('accepts %s', (capacity) => expect(issues({ ...valid, capacity })).toEqual([]));

    it.each([0, 1001, -1, 2.5, 2 ** 53, 1e300, '5', null, Number.NaN])('refuses %s', (capacity) => {
      expect(fields({ ...valid, capacity })).toEqual(['capacity']);
    });
  });

  describe('price ({amount, currency} in minor units, or null)', () => {
    it.each([
      [{ amount: 0, currency: 'USD' }, ['price.amount']],
      [{ amount: -100, currency: 'USD' }, ['price.amount']],
      [{ amount: 9.99, currency: 'USD' }, ['price.amount']],
      [{ amount: 1e12, currency: 'USD' }, ['price.amount']],
      [{ amount: '999', currency: 'USD' }, ['price.amount']],
      [{ amount: 999, currency: 'usd' }, ['price.currency']],
      [{ amount: 999, currency: 'XXX' }, ['price.currency']],
      [{ amount: 999 }, ['price.currency']],
      [{ amount: 999, currency: 'USD', tax: 1 }, ['price.tax']],
      [0, ['price']],
      ['free', ['price']],
    ])('refuses %j', (price, expected) => {
      expect(fields({ ...valid, price })).toEqual(expected);
    });
  });

  describe.each(['cancelCutoffMinutes', 'rescheduleCutoffMinutes'])('%s (0 to 30 days)', (field) => {
    it.each([0, 60, 43_200])('accepts %s', (value) => expect(issues({ ...valid, [field]: value })).toEqual([]));

    it.each([-1, 43_201, 1.5, 1e308, '60', null, Number.NEGATIVE_INFINITY])('refuses %s', (value) => {
      expect(fields({ ...valid, [field]: value })).toEqual([field]);
    });
  });

  describe('timeZone (an IANA name the runtime knows)', () => {
    it.each(['Europe/London', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'UTC', 'Etc/GMT+5'])('accepts %s', (timeZone) => {
      expect(issues({ ...valid, timeZone })).toEqual([]);
    });

    it.each([
      'Mars/Phobos',
      'Europe/Atlantis',
      '',
      '+05:30',
      'UTC+1',
      'Europe/London\n',
      ' Europe/London',
      '../../etc/passwd',
      'x'.repeat(1000),
      1,
      null,
    ])('refuses %j', (timeZone) => {
      expect(fields({ ...valid, timeZone })).toEqual(['timeZone']);
    });

    it('says what it expects', () => {
      expect(issues({ ...valid, timeZone: 'Mars/Phobos' })[0]!.message).toMatch(/Unknown time zone.*IANA/);
    });
  });

  describe('availability', () => {
    const withDay = (windows: unknown) => ({ ...valid, availability: { wed: windows } });

    it('needs at least one window', () => {
      expect(issues({ ...valid, availability: {} })).toEqual([
        { field: 'availability', message: 'At least one window is needed, or the service has no slots' },
      ]);
      expect(fields({ ...valid, availability: { mon: [], tue: [] } })).toEqual(['availability']);
    });

    it('accepts several windows a day, touching ones, unsorted ones, and a window to 24:00', () => {
      expect(
        issues(
          withDay([
            { start: '13:00', end: '17:00' },
            { start: '09:00', end: '12:00' },
            { start: '12:00', end: '13:00' },
            { start: '23:00', end: '24:00' },
          ]),
        ),
      ).toEqual([]);
      expect(issues({ ...valid, durationMinutes: 480, availability: { sun: [{ start: '00:00', end: '24:00' }] } })).toEqual([]);
    });

    it.each([
      ['9:00', '17:00', 'availability.wed.0.start'],
      ['09:00', '17:0', 'availability.wed.0.end'],
      ['25:00', '26:00', 'availability.wed.0.start', 'availability.wed.0.end'],
      ['12:60', '13:00', 'availability.wed.0.start'],
      ['09:00:00', '17:00', 'availability.wed.0.start'],
      ['24:00', '24:00', 'availability.wed.0.end'],
      ['17:00', '09:00', 'availability.wed.0.end'],
      ['09:00', '09:00', 'availability.wed.0.end'],
      ['22:00', '02:00', 'availability.wed.0.end'],
      ['09:00', '24:01', 'availability.wed.0.end'],
    ])('refuses the window %s-%s (%s)', (start, end, ...expected) => {
      expect(fields(withDay([{ start, end }]))).toEqual(expected);
    });

    it('says a window lies within one day', () => {
      expect(issues(withDay([{ start: '22:00', end: '02:00' }]))[0]!.message).toMatch(/within one day/);
    });

    it('refuses overlapping windows, naming the later one and the window it overlaps', () => {
      expect(
        issues(
          withDay([
            { start: '13:00', end: '17:00' },
            { start: '09:00', end: '13:30' },
          ]),
        ),
      ).toEqual([{ field: 'availability.wed.0.start', message: 'Overlaps the window 09:00-13:30 of the same day' }]);
      expect(
        fields(
          withDay([
            { start: '09:00', end: '17:00' },
            { start: '10:00', end: '11:00' },
          ]),
        ),
      ).toEqual(['availability.wed.1.start']);
      expect(
        fields(
          withDay([
            { start: '09:00', end: '10:00' },
            { start: '09:00', end: '10:00' },
          ]),
        ),
      ).toEqual(['availability.wed.1.start']);
    });

    it('refuses a window shorter than the duration (it would have no slot)', () => {
      expect(issues({ ...valid, durationMinutes: 90, availability: { tue: [{ start: '09:00', end: '10:00' }] } })).toEqual([
        { field: 'availability.tue.0', message: 'The window 09:00-10:00 is shorter than durationMinutes (90): it has no slot' },
      ]);
    });

    it('refuses more than 24 windows a day and wrong types', () => {
      const many = Array.from({ length: 25 }, (_, i) => ({
        start: `${String(i).padStart(2, '0')}:00`,
        end: `${String(i).padStart(2, '0')}:30`,
      }));
      expect(fields({ ...valid, durationMinutes: 30, availability: { mon: many } })).toEqual(['availability.mon']);
      expect(fields(withDay({ start: '09:00', end: '17:00' }))).toEqual(['availability.wed']);
      expect(fields(withDay(['09:00-17:00']))).toEqual(['availability.wed.0']);
      expect(fields(withDay([{ start: 900, end: 1700 }]))).toEqual(['availability.wed.0.start', 'availability.wed.0.end']);
      expect(fields({ ...valid, availability: [] })).toEqual(['availability']);
      expect(fields({ ...valid, availability: null })).toEqual(['availability']);
    });
  });

  it('reports every bad field of a hostile body at once, prototype keys included', () => {
    const body = JSON.parse(
      JSON.stringify({
        name: '',
        durationMinutes: 1e308,
        capacity: -1,
        price: { amount: 1.5, currency: 'XXX' },
        cancelCutoffMinutes: '5',
        rescheduleCutoffMinutes: -1,
        timeZone: 'Mars/Phobos',
        availability: { mon: [{ start: '09:00', end: '12:00' }] },
        constructor: 'x',
      }).replace('{', '{"__proto__":{"admin":true},'),
    );
    expect(issues(body)).toEqual([
      { field: 'name', message: 'name must not be empty' },
      { field: 'durationMinutes', message: 'durationMinutes must be at most 480' },
      { field: 'capacity', message: 'capacity must be at least 1' },
      { field: 'price.amount', message: 'Expected an integer number of minor units (999 is 9.99)' },
      { field: 'price.currency', message: expect.stringContaining('USD') },
      { field: 'cancelCutoffMinutes', message: 'cancelCutoffMinutes must be a number of minutes' },
      { field: 'rescheduleCutoffMinutes', message: 'rescheduleCutoffMinutes must be at least 0' },
      { field: 'timeZone', message: expect.stringMatching(/^Unknown time zone/) },
      { field: '__proto__', message: 'Unknown field' },
      { field: 'constructor', message: 'Unknown field' },
    ]);
  });
});

describe('serviceView', () => {
  it('shows the contract fields of DESIGN.md section 6 and the availability', () => {
    const [free] = DEMO_SERVICES;
    expect(Object.keys(serviceView(free!)).sort()).toEqual(
      [
        'id',
        'name',
        'durationMinutes',
        'capacity',
        'price',
        'cancelCutoffMinutes',
        'rescheduleCutoffMinutes',
        'timeZone',
        'availability',
      ].sort(),
    );
    expect(serviceView(free!).price).toBeNull();
  });
});
