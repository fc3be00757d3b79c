/**
 * Schedule expressions of EventBridge rules (`ScheduleExpression`), evaluated in UTC as rules do
 * (time zones belong to EventBridge Scheduler, not to rules):
 *
 *  - `rate(value unit)`: unit minute|minutes|hour|hours|day|days, singular exactly when the value
 *    is 1. Counted from when the rule is set up (locally: start-up or PutRule).
 *  - `cron(minutes hours day-of-month month day-of-week year)`: `,` `-` `*` `/`; `?` in one of the
 *    two day fields (exactly one of them); `L` and `W` (`15W`, `LW`) in day-of-month; `L`, `nL`
 *    (last weekday n of the month) and `n#k` (k-th weekday n) in day-of-week; months JAN-DEC and
 *    days SUN-SAT (1 = Sunday). Fires at second 0 of each matching minute.
 */

export class ScheduleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export interface RuleSchedule {
  readonly expression: string;
  /** First firing strictly after `afterMs`; `anchorMs` is when a rate schedule started. */
  next(afterMs: number, anchorMs: number): number | undefined;
}

const MINUTE = 60_000;
const UNIT_MS: Record<string, number> = { minute: MINUTE, hour: 60 * MINUTE, day: 24 * 60 * MINUTE };

export function parseSchedule(expression: string): RuleSchedule {
  const rate = /^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$/.exec(expression.trim());
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2]!;
    if (value < 1) throw new ScheduleError(`${expression}: the rate must be a positive number`);
    if ((value === 1) !== !unit.endsWith('s')) {
      throw new ScheduleError(`${expression}: use "${unit.replace(/s$/, '')}" for a value of 1 and "${unit.replace(/s?$/, 's')}" otherwise`);
    }
    const period = value * UNIT_MS[unit.replace(/s$/, '')]!;
    return {
      expression,
      next(afterMs, anchorMs) {
        if (afterMs < anchorMs) return anchorMs + period;
        return anchorMs + (Math.floor((afterMs - anchorMs) / period) + 1) * period;
      },
    };
  }
  const cron = /^cron\((.*)\)$/.exec(expression.trim());
  if (cron) {
    const matcher = compileCron(cron[1]!.trim(), expression);
    return { expression, next: (afterMs) => matcher(afterMs) };
  }
  throw new ScheduleError(`${expression}: a schedule expression is rate(...) or cron(...)`);
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

type DayTest = (year: number, month: number, day: number) => boolean;

function compileCron(body: string, expression: string): (afterMs: number) => number | undefined {
  const fields = body.split(/\s+/);
  if (fields.length !== 6) throw new ScheduleError(`${expression}: cron needs 6 fields (minutes hours day-of-month month day-of-week year)`);
  const [minF, hourF, domF, monthF, dowF, yearF] = fields as [string, string, string, string, string, string];
  const minutes = values(minF, 0, 59, undefined, expression, 'minutes');
  const hours = values(hourF, 0, 23, undefined, expression, 'hours');
  const months = values(monthF, 1, 12, MONTHS, expression, 'month');
  const years = values(yearF, 1970, 2199, undefined, expression, 'year');
  if ((domF === '?') === (dowF === '?')) {
    throw new ScheduleError(`${expression}: exactly one of day-of-month and day-of-week must be "?"`);
  }
  const dayTest: DayTest = domF === '?' ? dayOfWeek(dowF, expression) : dayOfMonth(domF, expression);
  const hourList = [...hours].sort((a, b) => a - b);
  const minuteList = [...minutes].sort((a, b) => a - b);
  const maxYear = Math.max(...years);

  return (afterMs) => {
    const start = Math.floor(afterMs / MINUTE) * MINUTE + MINUTE;
    const first = new Date(start);
    let day = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate());
    for (let n = 0; n < 366 * 30; n++, day += 24 * 60 * MINUTE) {
      const d = new Date(day);
      const year = d.getUTCFullYear();
      if (year > maxYear) return undefined;
      const month = d.getUTCMonth() + 1;
      if (!years.has(year) || !months.has(month) || !dayTest(year, month, d.getUTCDate())) continue;
      for (const h of hourList) {
        for (const m of minuteList) {
          const at = day + (h * 60 + m) * MINUTE;
          if (at >= start) return at;
        }
      }
    }
    return undefined;
  };
}

/** Parses a plain field (`,` `-` `*` `/`, names) into the set of values it allows. */
function values(field: string, min: number, max: number, names: string[] | undefined, expression: string, label: string): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ScheduleError(`${expression}: bad step "${part}" in ${label}`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      lo = value(a, min, max, names, expression, label);
      hi = value(b, min, max, names, expression, label);
      if (hi < lo) throw new ScheduleError(`${expression}: range "${range}" in ${label} runs backwards`);
    } else {
      lo = value(range, min, max, names, expression, label);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

function value(text: string, min: number, max: number, names: string[] | undefined, expression: string, label: string): number {
  const named = names?.indexOf(text.toUpperCase()) ?? -1;
  const v = named >= 0 ? named + 1 : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(v) || v < min || v > max) throw new ScheduleError(`${expression}: "${text}" is not a valid ${label} value (${min}-${max})`);
  return v;
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const weekday = (year: number, month: number, day: number) => new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;

function dayOfMonth(field: string, expression: string): DayTest {
  if (field === 'L') return (y, m, d) => d === daysIn(y, m);
  if (field === 'LW') return (y, m, d) => d === nearestWeekday(y, m, daysIn(y, m));
  const w = /^(\d+)W$/.exec(field);
  if (w) {
    const target = value(w[1]!, 1, 31, undefined, expression, 'day-of-month');
    return (y, m, d) => d === nearestWeekday(y, m, Math.min(target, daysIn(y, m)));
  }
  const set = values(field, 1, 31, undefined, expression, 'day-of-month');
  return (_y, _m, d) => set.has(d);
}

/** The weekday nearest `day` within its month (Saturday → Friday, Sunday → Monday). */
function nearestWeekday(year: number, month: number, day: number): number {
  const wd = weekday(year, month, day);
  if (wd === 7) return day > 1 ? day - 1 : day + 2;
  if (wd === 1) return day < daysIn(year, month) ? day + 1 : day - 2;
  return day;
}

function dayOfWeek(field: string, expression: string): DayTest {
  if (field === 'L') return (y, m, d) => weekday(y, m, d) === 7;
  const last = /^(\w+)L$/.exec(field);
  if (last) {
    const wd = value(last[1]!, 1, 7, DAYS, expression, 'day-of-week');
    return (y, m, d) => weekday(y, m, d) === wd && d + 7 > daysIn(y, m);
  }
  const nth = /^(\w+)#(\d)$/.exec(field);
  if (nth) {
    const wd = value(nth[1]!, 1, 7, DAYS, expression, 'day-of-week');
    const k = Number(nth[2]);
    if (k < 1 || k > 5) throw new ScheduleError(`${expression}: "${field}" needs an occurrence 1-5`);
    return (y, m, d) => weekday(y, m, d) === wd && Math.ceil(d / 7) === k;
  }
  const set = values(field, 1, 7, DAYS, expression, 'day-of-week');
  return (y, m, d) => set.has(weekday(y, m, d));
}
