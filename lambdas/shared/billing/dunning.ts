/**
 * Dunning (DESIGN.md section 5, seed 003 "Payment Retries" and "Grace Period Handling"): what
 * happens after a renewal is declined. Free of AWS: the saga runs in Step Functions
 * (lib/constructs/dunning.ts), sfn-dunning.ts starts and stops it, and each of its steps calls
 * `BillingService` (billing-service.ts `dunningStep`).
 *
 * The timeline is in days after the declined renewal's due time, computed once when the saga is
 * planned, so a slow step never shifts what follows:
 *
 *   day 0  payment-failed notice
 *   day 1, 3, 5  a retry with the subscription's current payment method; declined → a reminder
 *         with the days left (6, 4, 2)
 *   day 7  still unpaid → `expired` (access removed), expired notice
 *
 * Ways out at any time: a retry that succeeds, a payment by the user, a new payment method (which
 * retries at once), or a cancel; each leaves the subscription not `past_due` for that period, and
 * every later step of the saga then ends it without charging or notifying (the saga is also
 * stopped, but the steps do not rely on it).
 */
import type { Subscription } from './subscription';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The retry days after the failed renewal. */
export const DUNNING_RETRY_DAYS = [1, 3, 5] as const;
/** The day the grace period ends: `expired` if still unpaid. */
export const DUNNING_GRACE_DAYS = 7;

export interface DunningRetry {
  /** 1, 2, 3: part of the charge key, so each attempt charges at most once. */
  readonly attempt: number;
  /** When it runs (ISO 8601 UTC). */
  readonly at: string;
  /** Days of access left after it, for the reminder when it is declined. */
  readonly daysLeft: number;
}

/** The saga's input: everything its steps need, fixed when the renewal was declined. */
export interface DunningPlan {
  readonly subscriptionId: string;
  readonly userId: string;
  /** The end of the last paid period: the declined renewal's due time, and day 0. */
  readonly periodEnd: string;
  readonly retries: readonly DunningRetry[];
  /** When access ends if nothing was paid. */
  readonly expireAt: string;
}

/** The plan of the saga for a subscription that became `past_due` at the end of `periodEnd`. */
export function dunningPlan(subscription: Pick<Subscription, 'id' | 'userId'>, periodEnd: string): DunningPlan {
  const start = new Date(periodEnd).getTime();
  const at = (days: number) => new Date(start + days * DAY_MS).toISOString();
  return {
    subscriptionId: subscription.id,
    userId: subscription.userId,
    periodEnd,
    retries: DUNNING_RETRY_DAYS.map((day, i) => ({ attempt: i + 1, at: at(day), daysLeft: DUNNING_GRACE_DAYS - day })),
    expireAt: at(DUNNING_GRACE_DAYS),
  };
}

/**
 * The saga's execution name: one per subscription and period, so a second start (a redelivered
 * due job) is a no-op. Step Functions allows 80 characters of [A-Za-z0-9_-].
 */
export function dunningExecutionName(subscriptionId: string, periodEnd: string): string {
  const when = periodEnd.replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  const name = `${subscriptionId}-${when}`.replace(/[^A-Za-z0-9_-]/g, '_');
  if (name.length > 80) throw new Error(`Dunning execution name over 80 characters: ${name}`);
  return name;
}

/** Starts and stops sagas (sfn-dunning.ts). */
export interface DunningSaga {
  /** Starts the saga of `plan`; starting it again is a no-op. */
  start(plan: DunningPlan): Promise<void>;
  /** Stops the saga of that period if it runs; a saga that ended or never started is fine. */
  stop(subscriptionId: string, periodEnd: string): Promise<void>;
}

/** What a step of the saga decided (the state machine's Choice states read `outcome`). */
export type DunningOutcome =
  /** Still `past_due`, notice sent next (day 0). */
  | 'pending'
  /** The retry was declined: a reminder next. */
  | 'declined'
  /** The retry paid the next period. */
  | 'recovered'
  /** Day 7: access removed. */
  | 'expired'
  /** Not `past_due` for this period any more (paid, cancelled, replaced): nothing more to do. */
  | 'ended';

export type DunningStep =
  | { readonly action: 'begin' }
  | { readonly action: 'retry'; readonly attempt: number }
  | { readonly action: 'expire' };

/**
 * The error names a step fails with when it must run again later; the state machine retries
 * them (lib/constructs/dunning.ts). Any other error is a bug: the step fails after the Lambda
 * service retries.
 */
export const DUNNING_RETRY_LATER = {
  /** A payment by the user holds the subscription: retried within minutes. */
  chargeInProgress: 'Dunning.ChargeInProgress',
  /** No provider could charge: nothing was charged, retried later that day (not a decline). */
  providersUnavailable: 'Dunning.ProvidersUnavailable',
} as const;
