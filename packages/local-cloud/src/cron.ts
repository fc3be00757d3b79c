/**
 * AWS cron expressions, shared by EventBridge rules (always UTC) and EventBridge Scheduler (any
 * IANA time zone): `cron(minutes hours day-of-month month day-of-week year)`.
 *
 * - Syntax, as the EventBridge user guides document it: `, - * /` everywhere; `?` in day-of-month
 *   or day-of-week (exactly one of the two must be `?`); `L` and `W` (`nW`, `LW`) in day-of-month;
 *   `L` (`nL`) and `#` (`n#k`) in day-of-week; months 1-12 or JAN-DEC; days of week 1-7 = SUN-SAT
 *   or SUN-SAT; years 1970-2199. Validated here, with a reason, as AWS refuses what it does not
 *   document (croner accepts more: `?` anywhere, years to 9999, `1,L`, both day fields set).
 * - Occurrences come from croner, given the same expression in its syntax (a seconds field, Quartz
 *   weekday numbers, day-of-month AND day-of-week).
 * - DST, as EventBridge Scheduler does it: when clocks spring forward, an occurrence on a local
 *   time that does not exist is skipped; when they fall back, a local time that happens twice
 *   fires once (its first occurrence). Croner runs the first after the gap and the second twice,
 *   so those instants are passed over here.
 */
import { Cron } from 'croner';
import { instantsOf, toWallTime } from './time-zones';

/** Raised for an expression AWS would refuse; the message says why. */
export class CronError extends Error {
  override readonly name = 'CronError';
}

export interface CronSpec {
  /** Sorted minutes the expression allows. */
  readonly minutes: readonly number[];
  /** Sorted hours the expression allows. */
  readonly hours: readonly number[];
  /** The same expression in croner's syntax. */
  readonly pattern: string;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MIN_YEAR = 1970;
const MAX_YEAR = 2199;

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

const fail = (message: string): never => {
  throw new CronError(message);
};

/** Validates the six fields between `cron(` and `)`; throws a CronError saying what is wrong. */
export function parseCron(body: string): CronSpec {
  const parts = body.split(/\s+/);
  if (parts.length !== 6 || parts.some((p) => p === '')) {
    fail(`a cron expression has six fields (minutes hours day-of-month month day-of-week year), got ${parts.length}`);
  }
  const [min, hour, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) {
    fail('exactly one of day-of-month and day-of-week must be ? (a value or * in one requires ? in the other)');
  }
  const minutes = [...parseList(min, FIELDS.minutes)].sort((a, b) => a - b);
  const hours = [...parseList(hour, FIELDS.hours)].sort((a, b) => a - b);
  checkDayOfMonth(dom);
  parseList(month, FIELDS.month);
  checkDayOfWeek(dow);
  parseList(year, FIELDS.year);
  // Croner: seconds first; `nL` is `n#L` and a lone `L` is Saturday; `*` in years is croner's 1-9999.
  const weekdays = dow === 'L' ? '7' : dow.replace(/^(\w+)L$/, '$1#L');
  const pattern = ['0', min, hour, dom, month, weekdays, year.replaceAll('*', `${MIN_YEAR}-${MAX_YEAR}`)].join(' ');
  // Croner refuses some of what passes the checks above (a step larger than its field, as in
  // `1/40` days): refused here, as a CronError, not later when a timer asks for the next run.
  try {
    job({ minutes, hours, pattern }, 'UTC');
  } catch (error) {
    fail((error as Error).message);
  }
  return { minutes, hours, pattern };
}

function checkDayOfMonth(field: string): void {
  if (field === '?' || field === 'L' || field === 'LW') return;
  const w = /^(\d{1,2})W$/.exec(field);
  if (w) {
    const day = Number(w[1]);
    if (day < 1 || day > 31) fail(`day-of-month ${field}: the day must be 1-31`);
    return;
  }
  if (/[LW#]/.test(field)) fail(`day-of-month ${field}: L and W stand alone (L, LW or nW)`);
  parseList(field, FIELDS.dayOfMonth);
}

function checkDayOfWeek(field: string): void {
  if (field === '?' || field === 'L') return;
  const last = /^(\w+)L$/.exec(field);
  if (last) {
    parseValue(last[1]!, FIELDS.dayOfWeek);
    return;
  }
  const nth = /^(\w+)#(\d)$/.exec(field);
  if (nth) {
    const k = Number(nth[2]);
    if (k < 1 || k > 5) fail(`day-of-week ${field}: the occurrence after # must be 1-5`);
    parseValue(nth[1]!, FIELDS.dayOfWeek);
    return;
  }
  if (/[LW#]/.test(field)) fail(`day-of-week ${field}: L and # stand alone (nL or n#k)`);
  parseList(field, FIELDS.dayOfWeek);
}

function parseValue(token: string, range: FieldRange): number {
  const upper = token.toUpperCase();
  const named = range.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + 1;
  if (!/^\d+$/.test(token))
    fail(`${range.name}: ${JSON.stringify(token)} is not a number${range.names ? ` or one of ${range.names.join(',')}` : ''}`);
  const value = Number(token);
  if (value < range.min || value > range.max) fail(`${range.name}: ${value} is outside ${range.min}-${range.max}`);
  return value;
}

function parseList(field: string, range: FieldRange): Set<number> {
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
      from = parseValue(a!, range);
      to = parseValue(b!, range);
      if (from > to) fail(`${range.name}: the range ${base} goes backwards`);
    } else {
      from = parseValue(base!, range);
      to = stepText !== undefined ? range.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/** Croner jobs (never started: only asked for their next run) by pattern and time zone. */
const jobs = new Map<string, Cron>();

function job(cron: CronSpec, timeZone: string): Cron {
  const key = `${cron.pattern}\n${timeZone}`;
  let found = jobs.get(key);
  if (!found) {
    // sloppyRanges: AWS writes `0/15` where croner expects `*/15` or `0-59/15`.
    found = new Cron(cron.pattern, { timezone: timeZone, mode: '7-part', alternativeWeekdays: true, domAndDow: true, sloppyRanges: true });
    if (jobs.size > 1_000) jobs.clear();
    jobs.set(key, found);
  }
  return found;
}

/**
 * The first instant strictly after `afterMs` at which `cron` fires in `timeZone` (whole minutes),
 * or undefined when there is none before the end of year 2199.
 */
export function nextCronOccurrence(cron: CronSpec, timeZone: string, afterMs: number): number | undefined {
  const runs = job(cron, timeZone);
  let from = afterMs;
  // Each further pass passes over one instant croner gives and AWS does not (see above).
  for (let guard = 0; guard < 10_000; guard++) {
    const next = runs.nextRun(new Date(from))?.getTime();
    if (next === undefined) return undefined;
    const wall = toWallTime(next, timeZone);
    const onTheWallClock = cron.hours.includes(wall.hour) && cron.minutes.includes(wall.minute);
    if (onTheWallClock && instantsOf(wall, timeZone)[0] === next) return next;
    from = next;
  }
  return undefined;
}
