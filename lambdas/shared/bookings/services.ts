/**
 * Bookable services (DESIGN.md section 6): what `GET /services` lists and `POST /services` (admin)
 * creates. A service has a duration, a number of seats per slot (`capacity`), a price or none, the
 * cut-offs for cancelling and rescheduling, and a weekly availability written in its own IANA time
 * zone (`{"mon": [{"start": "09:00", "end": "17:00"}], ...}`), which slots.ts cuts into slots.
 *
 * Availability rules: times are `HH:MM` wall-clock times in the service's zone; a window lies within
 * one day (`end` after `start`; `24:00` is the midnight that ends the day); a day may have several
 * windows, which must not overlap (touching is fine: `09:00-12:00` and `12:00-17:00`), and each must
 * fit at least one slot of the service's duration. A day that is absent or `[]` is closed.
 */
import { z } from 'zod';
import { moneySchema, type Money } from '../billing/money';
import { isTimeZone } from './zoned-time';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** `Date#getUTCDay()` (0 = Sunday) to our weekday keys. */
export const WEEKDAY_BY_UTC_DAY: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export const DURATION_MINUTES = { min: 5, max: 480 } as const;
export const CAPACITY = { min: 1, max: 1000 } as const;
/** The longest cut-off a service may set: 30 days before start. */
export const MAX_CUTOFF_MINUTES = 30 * 24 * 60;
/** More windows in one day than anyone schedules; bounds the work a hostile body can cause. */
export const MAX_WINDOWS_PER_DAY = 24;
export const MAX_NAME_LENGTH = 100;

export interface TimeWindow {
  /** `HH:MM`, wall-clock time in the service's zone. */
  readonly start: string;
  /** `HH:MM` after `start`, at most `24:00`. */
  readonly end: string;
}

export type WeeklyAvailability = Partial<Record<Weekday, readonly TimeWindow[]>>;

export interface Service {
  readonly id: string;
  readonly name: string;
  readonly durationMinutes: number;
  /** Seats per slot: 1 for an appointment, more for a class. */
  readonly capacity: number;
  /** What a booking costs; `null` for a free service (booked straight to `confirmed`). */
  readonly price: Money | null;
  /** A booking may be cancelled until this many minutes before its start. */
  readonly cancelCutoffMinutes: number;
  /** A booking may be rescheduled until this many minutes before its (current) start. */
  readonly rescheduleCutoffMinutes: number;
  /** IANA time zone of the availability (`Europe/London`). */
  readonly timeZone: string;
  readonly availability: WeeklyAvailability;
}

/** Minutes since midnight of an `HH:MM` time (`24:00` is 1440). */
export function minuteOfDay(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

/**
 * Cross-field checks run only on fields that parsed: zod runs a refinement after non-fatal issues
 * (a bad format, a number out of range), and comparing a malformed time or a 1e308 duration would
 * add a second, misleading message to the one that names the real problem.
 */
const noIssues = (payload: { issues: readonly unknown[] }) => payload.issues.length === 0;

const timeOfDaySchema = z.string().regex(/^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/, 'Expected a time of day as HH:MM, from 00:00 to 24:00');

const windowSchema = z
  .strictObject({ start: timeOfDaySchema, end: timeOfDaySchema })
  .refine((w) => minuteOfDay(w.end) > minuteOfDay(w.start), {
    message: 'A window ends after it starts, within one day (24:00 is the midnight at its end)',
    path: ['end'],
    when: noIssues,
  });

const daySchema = z
  .array(windowSchema)
  .max(MAX_WINDOWS_PER_DAY, `At most ${MAX_WINDOWS_PER_DAY} windows a day`)
  .superRefine(
    (windows, ctx) => {
      const byStart = windows.map((w, index) => ({ ...w, index })).sort((a, b) => minuteOfDay(a.start) - minuteOfDay(b.start));
      for (let i = 1; i < byStart.length; i++) {
        const previous = byStart[i - 1]!;
        const current = byStart[i]!;
        if (minuteOfDay(current.start) < minuteOfDay(previous.end)) {
          ctx.addIssue({
            code: 'custom',
            message: `Overlaps the window ${previous.start}-${previous.end} of the same day`,
            path: [current.index, 'start'],
          });
        }
      }
    },
    { when: noIssues },
  );

export const availabilitySchema = z
  .strictObject(Object.fromEntries(WEEKDAYS.map((day) => [day, daySchema.optional()])) as Record<Weekday, z.ZodOptional<typeof daySchema>>)
  .refine((availability) => WEEKDAYS.some((day) => (availability[day]?.length ?? 0) > 0), {
    message: 'At least one window is needed, or the service has no slots',
    when: noIssues,
  });

/**
 * A whole number of `unit` for `field`, in `[min, max]`. The range is checked first and stops the
 * checks, so 1e308 is answered "at most 480", not also "not a whole number" (zod's `int` refuses
 * unsafe integers).
 */
const boundedInt = (field: string, unit: string, min: number, max: number) =>
  z
    .number(`${field} must be a number of ${unit}`)
    .min(min, { error: `${field} must be at least ${min}`, abort: true })
    .max(max, { error: `${field} must be at most ${max}`, abort: true })
    .int(`${field} must be a whole number of ${unit}`);

export const timeZoneSchema = z
  .string('timeZone must be a string')
  .refine(isTimeZone, 'Unknown time zone: expected an IANA name such as Europe/London or America/New_York');

/**
 * The body of `POST /services` (admin). Strict: an unknown field is a typo the admin should hear
 * about. Every field is required (`price: null` for a free service): a service is created rarely,
 * and a silent default for a cut-off or a price is a business rule nobody chose.
 */
export const createServiceBodySchema = z
  .strictObject({
    name: z
      .string('name must be a string')
      .trim()
      .min(1, 'name must not be empty')
      .max(MAX_NAME_LENGTH, `name must be at most ${MAX_NAME_LENGTH} characters`)
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
      .regex(/^[^\u0000-\u001f\u007f]*$/, 'name must not contain control characters'),
    durationMinutes: boundedInt('durationMinutes', 'minutes', DURATION_MINUTES.min, DURATION_MINUTES.max),
    capacity: boundedInt('capacity', 'seats', CAPACITY.min, CAPACITY.max),
    price: moneySchema.nullable(),
    cancelCutoffMinutes: boundedInt('cancelCutoffMinutes', 'minutes', 0, MAX_CUTOFF_MINUTES),
    rescheduleCutoffMinutes: boundedInt('rescheduleCutoffMinutes', 'minutes', 0, MAX_CUTOFF_MINUTES),
    timeZone: timeZoneSchema,
    availability: availabilitySchema,
  })
  .superRefine(
    (body, ctx) => {
      for (const day of WEEKDAYS) {
        body.availability[day]?.forEach((w, index) => {
          const length = minuteOfDay(w.end) - minuteOfDay(w.start);
          if (length < body.durationMinutes) {
            ctx.addIssue({
              code: 'custom',
              message: `The window ${w.start}-${w.end} is shorter than durationMinutes (${body.durationMinutes}): it has no slot`,
              path: ['availability', day, index],
            });
          }
        });
      }
    },
    // Setting `when` replaces zod's own guard, so a body that is not an object (an issue at the root) must stop it too.
    {
      when: (payload) =>
        !payload.issues.some((issue) => ['durationMinutes', 'availability', undefined].includes(issue.path?.[0] as string)),
    },
  );

export type CreateServiceBody = z.infer<typeof createServiceBodySchema>;

/** A service as `GET /services` lists it: the contract's fields and, added, its availability. */
export interface ServiceView {
  readonly id: string;
  readonly name: string;
  readonly durationMinutes: number;
  readonly capacity: number;
  readonly price: Money | null;
  readonly cancelCutoffMinutes: number;
  readonly rescheduleCutoffMinutes: number;
  readonly timeZone: string;
  readonly availability: WeeklyAvailability;
}

export function serviceView(s: Service): ServiceView {
  return {
    id: s.id,
    name: s.name,
    durationMinutes: s.durationMinutes,
    capacity: s.capacity,
    price: s.price,
    cancelCutoffMinutes: s.cancelCutoffMinutes,
    rescheduleCutoffMinutes: s.rescheduleCutoffMinutes,
    timeZone: s.timeZone,
    availability: s.availability,
  };
}

const weekdays = (windows: readonly TimeWindow[]): WeeklyAvailability => ({
  mon: windows,
  tue: windows,
  wed: windows,
  thu: windows,
  fri: windows,
});

/**
 * The demo services every fresh stage has (issue 14): one free, one paid, one class of 5 seats.
 * Fixed ids, so seeding them twice writes the same items. Each passes `createServiceBodySchema`
 * (a unit test checks it).
 */
export const DEMO_SERVICES: readonly Service[] = [
  {
    id: 'demo-intro-call',
    name: 'Intro call',
    durationMinutes: 30,
    capacity: 1,
    price: null,
    cancelCutoffMinutes: 60,
    rescheduleCutoffMinutes: 60,
    timeZone: 'Europe/London',
    availability: weekdays([{ start: '09:00', end: '17:00' }]),
  },
  {
    id: 'demo-consultation',
    name: 'Consultation',
    durationMinutes: 60,
    capacity: 1,
    price: { amount: 4_900, currency: 'USD' },
    cancelCutoffMinutes: 24 * 60,
    rescheduleCutoffMinutes: 12 * 60,
    timeZone: 'America/New_York',
    availability: weekdays([
      { start: '09:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ]),
  },
  {
    id: 'demo-yoga-class',
    name: 'Yoga class',
    durationMinutes: 60,
    capacity: 5,
    price: null,
    cancelCutoffMinutes: 120,
    rescheduleCutoffMinutes: 120,
    timeZone: 'Europe/Berlin',
    availability: {
      mon: [{ start: '18:00', end: '19:00' }],
      wed: [
        { start: '07:00', end: '08:00' },
        { start: '18:00', end: '19:00' },
      ],
      fri: [{ start: '18:00', end: '19:00' }],
      sat: [{ start: '10:00', end: '12:00' }],
    },
  },
];
