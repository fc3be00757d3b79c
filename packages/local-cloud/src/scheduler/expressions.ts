/**
 * EventBridge Scheduler schedule expressions: `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` and
 * `cron(minutes hours day-of-month month day-of-week year)`, evaluated in an IANA time zone with
 * `Intl.DateTimeFormat` (no time-zone database of our own).
 *
 * Semantics follow the EventBridge Scheduler user guide ("Schedule types"):
 * - `at()` is a wall-clock time in the schedule's time zone (default UTC).
 * - `rate()` is a fixed duration (a day is 24 hours, whatever DST does) counted from the start
 *   date, or from the moment the schedule was created/updated ("starts invoking immediately").
 * - `cron()` is matched against the wall clock of the time zone. When clocks spring forward, an
 *   occurrence that falls on a non-existent local time is skipped; when they fall back, a local
 *   time that happens twice fires once (on its first occurrence).
 * - Cron syntax: `, - * /` everywhere; `?` in day-of-month or day-of-week (exactly one of the two
 *   must be `?`); `L` and `W` (`nW`, `LW`) in day-of-month; `L` (`nL`) and `#` (`n#k`) in
 *   day-of-week; months 1-12 or JAN-DEC; days of week 1-7 = SUN-SAT or SUN-SAT; years 1970-2199.
 */

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

/** A local date and time without a zone. `month` is 1-12. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export type RateUnit = 'minute' | 'hour' | 'day';

export interface CronDayOfMonth {
  readonly kind: 'any' | 'values' | 'last' | 'lastWeekday' | 'nearestWeekday';
  readonly values?: ReadonlySet<number>;
  /** `nearestWeekday`: the day n of `nW`. */
  readonly day?: number;
}

export interface CronDayOfWeek {
  readonly kind: 'any' | 'values' | 'lastOfMonth' | 'nth';
  /** 1-7 = SUN-SAT. */
  readonly values?: ReadonlySet<number>;
  /** `lastOfMonth` (`nL`) and `nth` (`n#k`): the weekday n (1-7). */
  readonly weekday?: number;
  /** `nth`: k (1-5). */
  readonly nth?: number;
}

export interface CronSpec {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: CronDayOfMonth;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: CronDayOfWeek;
  /** Sorted years; the whole range when `*`. */
  readonly years: readonly number[];
}

export type ScheduleExpression =
  | { readonly kind: 'at'; readonly text: string; readonly wall: WallTime }
  | { readonly kind: 'rate'; readonly text: string; readonly value: number; readonly unit: RateUnit; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly text: string; readonly cron: CronSpec };

const MINUTE = 60_000;
const UNIT_MS: Record<RateUnit, number> = { minute: MINUTE, hour: 60 * MINUTE, day: 24 * 60 * MINUTE };
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

/** Parses a schedule expression or throws an `ExpressionError` saying what is wrong. */
export function parseScheduleExpression(text: string): ScheduleExpression {
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(text);
  if (at) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
      throw new ExpressionError(`${text}: not a valid date and time`);
    }
    return { kind: 'at', text, wall: { year, month, day, hour, minute, second } };
  }
  if (text.startsWith('at(')) throw new ExpressionError(`${text}: expected at(yyyy-mm-ddThh:mm:ss)`);

  const rate = /^rate\((\S+) (\S+)\)$/.exec(text);
  if (rate || text.startsWith('rate(')) {
    if (!rate) throw new ExpressionError(`${text}: expected rate(value unit)`);
    const [, valueText, unitText] = rate as unknown as [string, string, string];
    if (!/^[1-9]\d{0,8}$/.test(valueText)) throw new ExpressionError(`${text}: the value must be a positive integer`);
    const unit = ({ minute: 'minute', minutes: 'minute', hour: 'hour', hours: 'hour', day: 'day', days: 'day' } as Record<string, RateUnit>)[unitText];
    if (!unit) throw new ExpressionError(`${text}: the unit must be minute | minutes | hour | hours | day | days`);
    const value = Number(valueText);
    return { kind: 'rate', text, value, unit, periodMs: value * UNIT_MS[unit] };
  }

  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) return { kind: 'cron', text, cron: parseCron(cron[1]!.trim(), text) };
  throw new ExpressionError(`${text}: expected at(...), rate(...) or cron(...)`);
}

// ------------------------------------------------------------------------------------------------
// cron

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldRange {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS = {
  minutes: { name: 'minutes', min: 0, max: 59 },
  hours: { name: 'hours', min: 0, max: 23 },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31 },
  month: { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  dayOfWeek: { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES },
  year: { name: 'year', min: MIN_YEAR, max: MAX_YEAR },
} satisfies Record<string, FieldRange>;

function parseCron(body: string, text: string): CronSpec {
  const parts = body.split(/\s+/);
  if (parts.length !== 6 || parts.some((p) => p === '')) {
    throw new ExpressionError(`${text}: a cron expression has six fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`);
  }
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  const fail = (message: string): never => {
    throw new ExpressionError(`${text}: ${message}`);
  };
  if ((dom === '?') === (dow === '?')) {
    fail('exactly one of day-of-month and day-of-week must be ? (a value or * in one requires ? in the other)');
  }
  return {
    minutes: [...parseList(min, FIELDS.minutes, fail)].sort((a, b) => a - b),
    hours: [...parseList(hour, FIELDS.hours, fail)].sort((a, b) => a - b),
    daysOfMonth: parseDayOfMonth(dom, fail),
    months: parseList(month, FIELDS.month, fail),
    daysOfWeek: parseDayOfWeek(dow, fail),
    years: [...parseList(year, FIELDS.year, fail)].sort((a, b) => a - b),
  };
}

function parseDayOfMonth(field: string, fail: (m: string) => never): CronDayOfMonth {
  if (field === '?') return { kind: 'any' };
  if (field === 'L') return { kind: 'last' };
  if (field === 'LW') return { kind: 'lastWeekday' };
  const w = /^(\d{1,2})W$/.exec(field);
  if (w) {
    const day = Number(w[1]);
    if (day < 1 || day > 31) fail(`day-of-month ${field}: the day must be 1-31`);
    return { kind: 'nearestWeekday', day };
  }
  if (/[LW#]/.test(field)) fail(`day-of-month ${field}: L and W stand alone (L, LW or nW)`);
  return { kind: 'values', values: parseList(field, FIELDS.dayOfMonth, fail) };
}

function parseDayOfWeek(field: string, fail: (m: string) => never): CronDayOfWeek {
  if (field === '?') return { kind: 'any' };
  if (field === 'L') return { kind: 'values', values: new Set([7]) };
  const last = /^(\w+)L$/.exec(field);
  if (last) return { kind: 'lastOfMonth', weekday: parseValue(last[1]!, FIELDS.dayOfWeek, fail) };
  const nth = /^(\w+)#(\d)$/.exec(field);
  if (nth) {
    const k = Number(nth[2]);
    if (k < 1 || k > 5) fail(`day-of-week ${field}: the occurrence after # must be 1-5`);
    return { kind: 'nth', weekday: parseValue(nth[1]!, FIELDS.dayOfWeek, fail), nth: k };
  }
  if (/[LW#]/.test(field)) fail(`day-of-week ${field}: L and # stand alone (nL or n#k)`);
  return { kind: 'values', values: parseList(field, FIELDS.dayOfWeek, fail) };
}

function parseValue(token: string, range: FieldRange, fail: (m: string) => never): number {
  const upper = token.toUpperCase();
  const named = range.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(token)) fail(`${range.name}: ${JSON.stringify(token)} is not a number${range.names ? ` or one of ${range.names.join(',')}` : ''}`);
  const value = Number(token);
  if (value < range.min || value > range.max) fail(`${range.name}: ${value} is outside ${range.min}-${range.max}`);
  return value;
}

function parseList(field: string, range: FieldRange, fail: (m: string) => never): Set<number> {
  const values = new Set<number>();
  for (const item of field.split(',')) {
    if (item === '') fail(`${range.name}: empty item in ${JSON.stringify(field)}`);
    if (item === '?') fail(`${range.name}: ? is only allowed in day-of-month or day-of-week`);
    const [base, stepText, extra] = item.split('/');
    if (extra !== undefined) fail(`${range.name}: ${item} has more than one /`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) fail(`${range.name}: the step in ${item} must be a positive integer`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (base === '*') {
      from = range.min;
      to = range.max;
    } else if (base!.includes('-')) {
      const [a, b, more] = base!.split('-');
      if (more !== undefined || !a || !b) fail(`${range.name}: ${item} is not a range`);
      from = parseValue(a!, range, fail);
      to = parseValue(b!, range, fail);
      if (from > to) fail(`${range.name}: the range ${base} goes backwards`);
    } else {
      from = parseValue(base!, range, fail);
      to = stepText !== undefined ? range.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

// ------------------------------------------------------------------------------------------------
// Time zones

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Whether `timeZone` is an IANA time zone this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time at instant `ms` in `timeZone`. */
export function toWallTime(ms: number, timeZone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const year = parts.era === 'BC' ? 1 - Number(parts.year) : Number(parts.year);
  return {
    year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

const wallAsUtc = (w: WallTime) => Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);

/** Offset of `timeZone` from UTC at instant `ms`, in ms (local = UTC + offset). */
function offsetAt(ms: number, timeZone: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  return wallAsUtc(toWallTime(whole, timeZone)) - whole;
}

/**
 * Every instant whose wall-clock time in `timeZone` is `wall`, earliest first: none in a
 * spring-forward gap, two in a fall-back overlap, one otherwise.
 */
export function instantsOf(wall: WallTime, timeZone: string): number[] {
  const local = wallAsUtc(wall);
  const offsets = new Set([offsetAt(local - 14 * 3_600_000, timeZone), offsetAt(local, timeZone), offsetAt(local + 14 * 3_600_000, timeZone)]);
  const found = new Set<number>();
  for (const offset of offsets) {
    const candidate = local - offset;
    if (wallAsUtc(toWallTime(candidate, timeZone)) === local) found.add(candidate);
  }
  return [...found].sort((a, b) => a - b);
}

/**
 * The instant of a one-time `at()` wall time: the first one when the time happens twice; in a
 * spring-forward gap, the same distance past the gap's start (02:30 in a 02:00→03:00 gap is 03:30).
 */
export function atInstant(wall: WallTime, timeZone: string): number {
  const found = instantsOf(wall, timeZone);
  if (found.length > 0) return found[0]!;
  return wallAsUtc(wall) - offsetAt(wallAsUtc(wall) - 14 * 3_600_000, timeZone);
}

// ------------------------------------------------------------------------------------------------
// Occurrences

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1-7 = SUN-SAT. */
function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function nearestWeekday(year: number, month: number, day: number): number | undefined {
  const last = daysInMonth(year, month);
  if (day > last) return undefined;
  const dow = weekday(year, month, day);
  if (dow === 7) return day === 1 ? 3 : day - 1; // Saturday: Friday before, or Monday after on the 1st
  if (dow === 1) return day === last ? day - 2 : day + 1; // Sunday: Monday after, or Friday before on the last
  return day;
}

function dayMatches(cron: CronSpec, year: number, month: number, day: number): boolean {
  const dom = cron.daysOfMonth;
  const last = daysInMonth(year, month);
  switch (dom.kind) {
    case 'values':
      if (!dom.values!.has(day)) return false;
      break;
    case 'last':
      if (day !== last) return false;
      break;
    case 'lastWeekday':
      if (day !== nearestWeekday(year, month, last)) return false;
      break;
    case 'nearestWeekday':
      if (day !== nearestWeekday(year, month, dom.day!)) return false;
      break;
    case 'any':
      break;
  }
  const dow = cron.daysOfWeek;
  const wd = weekday(year, month, day);
  switch (dow.kind) {
    case 'values':
      return dow.values!.has(wd);
    case 'lastOfMonth':
      return wd === dow.weekday && day + 7 > last;
    case 'nth':
      return wd === dow.weekday && Math.ceil(day / 7) === dow.nth;
    case 'any':
      return true;
  }
}

/**
 * The first instant strictly after `afterMs` at which `cron` fires in `timeZone` (whole minutes),
 * or undefined when there is none before the end of year 2199.
 */
export function nextCronOccurrence(cron: CronSpec, timeZone: string, afterMs: number): number | undefined {
  const from = toWallTime(afterMs, timeZone);
  let { year, month, day } = from;
  let firstDay = true;
  const nextDay = () => {
    firstDay = false;
    day++;
    if (day > daysInMonth(year, month)) {
      day = 1;
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
    }
  };
  for (let guard = 0; guard < 200_000; guard++) {
    if (!cron.years.includes(year)) {
      const nextYear = cron.years.find((y) => y > year);
      if (nextYear === undefined) return undefined;
      year = nextYear;
      month = 1;
      day = 1;
      firstDay = false;
      continue;
    }
    if (!cron.months.has(month)) {
      firstDay = false;
      day = 1;
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
      continue;
    }
    if (dayMatches(cron, year, month, day)) {
      for (const hour of cron.hours) {
        if (firstDay && hour < from.hour) continue;
        for (const minute of cron.minutes) {
          if (firstDay && hour === from.hour && minute < from.minute) continue;
          // Spring forward: no instant, skipped. Fall back: the first of the two instants only.
          const instant = instantsOf({ year, month, day, hour, minute, second: 0 }, timeZone)[0];
          if (instant !== undefined && instant > afterMs) return instant;
        }
      }
    }
    nextDay();
  }
  return undefined;
}

export interface OccurrenceBounds {
  readonly timeZone: string;
  /** Recurring schedules: no occurrence before this instant. */
  readonly startDate?: number;
  /** Recurring schedules: no occurrence at or after this instant. */
  readonly endDate?: number;
  /** `rate()` without a start date: when the schedule was created or last updated. */
  readonly anchor: number;
}

/**
 * The first occurrence of `expression` strictly after `afterMs` within `bounds`, or undefined when
 * the schedule has no further occurrence. (A one-time schedule ignores start and end dates, as
 * AWS does.)
 */
export function nextOccurrence(expression: ScheduleExpression, afterMs: number, bounds: OccurrenceBounds): number | undefined {
  if (expression.kind === 'at') {
    const at = atInstant(expression.wall, bounds.timeZone);
    return at > afterMs ? at : undefined;
  }
  let next: number | undefined;
  if (expression.kind === 'rate') {
    const origin = bounds.startDate ?? bounds.anchor;
    const k = afterMs < origin ? 0 : Math.floor((afterMs - origin) / expression.periodMs) + 1;
    next = origin + k * expression.periodMs;
  } else {
    const from = bounds.startDate !== undefined ? Math.max(afterMs, bounds.startDate - 1) : afterMs;
    next = nextCronOccurrence(expression.cron, bounds.timeZone, from);
  }
  if (next === undefined || (bounds.endDate !== undefined && next >= bounds.endDate)) return undefined;
  return next;
}

/** `2022-03-22T18:59:43Z`: the format of `<aws.scheduler.scheduled-time>`. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
