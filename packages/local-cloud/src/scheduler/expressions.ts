/**
 * EventBridge Scheduler schedule expressions: `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` and
 * `cron(minutes hours day-of-month month day-of-week year)`, evaluated in an IANA time zone.
 *
 * Semantics follow the EventBridge Scheduler user guide ("Schedule types"):
 * - `at()` is a wall-clock time in the schedule's time zone (default UTC).
 * - `rate()` is a fixed duration (a day is 24 hours, whatever DST does) counted from the start
 *   date, or from the moment the schedule was created/updated ("starts invoking immediately").
 * - `cron()` is matched against the wall clock of the time zone (syntax and DST: `../cron`).
 */
import { CronError, nextCronOccurrence, parseCron, type CronSpec } from '../cron';
import { daysInMonth, instantsOf, offsetAt, wallAsUtc, type WallTime } from '../time-zones';

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError';
}

export type RateUnit = 'minute' | 'hour' | 'day';

export type ScheduleExpression =
  | { readonly kind: 'at'; readonly text: string; readonly wall: WallTime }
  | { readonly kind: 'rate'; readonly text: string; readonly value: number; readonly unit: RateUnit; readonly periodMs: number }
  | { readonly kind: 'cron'; readonly text: string; readonly cron: CronSpec };

const MINUTE = 60_000;
const UNIT_MS: Record<RateUnit, number> = { minute: MINUTE, hour: 60 * MINUTE, day: 24 * 60 * MINUTE };

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
    const unit = (
      { minute: 'minute', minutes: 'minute', hour: 'hour', hours: 'hour', day: 'day', days: 'day' } as Record<string, RateUnit>
    )[unitText];
    if (!unit) throw new ExpressionError(`${text}: the unit must be minute | minutes | hour | hours | day | days`);
    const value = Number(valueText);
    return { kind: 'rate', text, value, unit, periodMs: value * UNIT_MS[unit] };
  }

  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) {
    try {
      return { kind: 'cron', text, cron: parseCron(cron[1]!.trim()) };
    } catch (error) {
      if (error instanceof CronError) throw new ExpressionError(`${text}: ${error.message}`);
      throw error;
    }
  }
  throw new ExpressionError(`${text}: expected at(...), rate(...) or cron(...)`);
}

/**
 * The instant of a one-time `at()` wall time: the first one when the time happens twice; in a
 * spring-forward gap, the same distance past the gap's start (02:30 in a 02:00→03:00 gap is 03:30).
 */
export function atInstant(wall: WallTime, timeZone: string): number {
  // UTC has no offsets to search for, and most one-time schedules use it: without the time-zone
  // lookups (two per schedule: when armed, and after it fires) a CreateSchedule costs the service
  // a third of what it did, which shows in a renewal storm of thousands.
  if (timeZone === 'UTC') return wallAsUtc(wall);
  const found = instantsOf(wall, timeZone);
  if (found.length > 0) return found[0]!;
  return wallAsUtc(wall) - offsetAt(wallAsUtc(wall) - 14 * 3_600_000, timeZone);
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
