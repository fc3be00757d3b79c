/**
 * Schedule expressions of EventBridge rules (`ScheduleExpression`), evaluated in UTC as rules do
 * (time zones belong to EventBridge Scheduler, not to rules):
 *
 *  - `rate(value unit)`: unit minute|minutes|hour|hours|day|days, singular exactly when the value
 *    is 1. Counted from when the rule is set up (locally: start-up or PutRule).
 *  - `cron(minutes hours day-of-month month day-of-week year)`, the syntax EventBridge Scheduler
 *    shares (`../cron`). Fires at second 0 of each matching minute.
 */
import { CronError, nextCronOccurrence, parseCron, type CronSpec } from '../cron';

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
      throw new ScheduleError(
        `${expression}: use "${unit.replace(/s$/, '')}" for a value of 1 and "${unit.replace(/s?$/, 's')}" otherwise`,
      );
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
    let spec: CronSpec;
    try {
      spec = parseCron(cron[1]!.trim());
    } catch (error) {
      if (error instanceof CronError) throw new ScheduleError(`${expression}: ${error.message}`);
      throw error;
    }
    return { expression, next: (afterMs) => nextCronOccurrence(spec, 'UTC', afterMs) };
  }
  throw new ScheduleError(`${expression}: a schedule expression is rate(...) or cron(...)`);
}
