/**
 * Subscriptions (DESIGN.md section 5): the statuses, the only transitions allowed between them,
 * and what a client sees. Free of AWS: the store (dynamo-subscriptions.ts) persists these values
 * and makes each transition one conditional write.
 *
 *   (none) ──subscribe──▶ incomplete ──first charge ok──▶ active
 *   incomplete ──23 h unpaid──▶ incomplete_expired
 *   active ──renewal declined──▶ past_due ──paid──▶ active
 *   past_due ──dunning ran out──▶ expired
 *   active | past_due ──cancel now, or period end with cancelAtPeriodEnd──▶ canceled
 */
import type { Currency } from './money';
import type { Interval } from './plans';

export const SUBSCRIPTION_STATUSES = ['incomplete', 'incomplete_expired', 'active', 'past_due', 'canceled', 'expired'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

const TRANSITIONS: Readonly<Record<SubscriptionStatus, readonly SubscriptionStatus[]>> = {
  incomplete: ['active', 'incomplete_expired'],
  incomplete_expired: [],
  active: ['past_due', 'canceled'],
  past_due: ['active', 'expired', 'canceled'],
  canceled: [],
  expired: [],
};

export function canTransition(from: SubscriptionStatus, to: SubscriptionStatus): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** Statuses that give access, and that block a new subscribe (`already_subscribed`). */
export const ACCESS_STATUSES: readonly SubscriptionStatus[] = ['active', 'past_due'];
/** Statuses a subscription never leaves: a new subscribe replaces it. */
export const ENDED_STATUSES: readonly SubscriptionStatus[] = ['incomplete_expired', 'canceled', 'expired'];

export function hasAccess(status: SubscriptionStatus): boolean {
  return ACCESS_STATUSES.includes(status);
}

/** How long an unpaid `incomplete` subscription waits before `incomplete_expired`. */
export const INCOMPLETE_TTL_MS = 23 * 60 * 60 * 1000;

/** A user's current subscription, as the domain sees it. Times are ISO 8601 UTC strings. */
export interface Subscription {
  readonly id: string;
  readonly userId: string;
  readonly planId: string;
  readonly status: SubscriptionStatus;
  /** The price and cadence copied from the plan at subscribe. */
  readonly amount: number;
  readonly currency: Currency;
  readonly interval: Interval;
  readonly intervalCount: number;
  /** Start of the first paid period: every boundary is computed from it (periods.ts). */
  readonly anchor?: string;
  /** Index of the current period (1 for the first paid one); its end is periodBoundary(anchor, n). */
  readonly period: number;
  readonly currentPeriodStart?: string;
  readonly currentPeriodEnd?: string;
  readonly cancelAtPeriodEnd: boolean;
  /** The payment method renewals charge (a provider token; never in events or frames). */
  readonly paymentToken: string;
  /**
   * When something is due for this subscription (a renewal, the end of a cancelled period, the
   * expiry of an `incomplete` one); absent when nothing is (ended, or `past_due` in dunning).
   */
  readonly dueAt?: string;
  /** Epoch ms until which a charge holds the subscription (a subscribe, a payment by the user). */
  readonly leaseUntil?: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly canceledAt?: string;
  /** When dunning ran out (`expired`). */
  readonly expiredAt?: string;
}

/** What `GET /subscriptions/status` and the subscribe response show (DESIGN.md section 5). */
export interface SubscriptionView {
  readonly id: string;
  readonly planId: string;
  readonly status: SubscriptionStatus;
  readonly currentPeriodStart: string | null;
  readonly currentPeriodEnd: string | null;
  readonly cancelAtPeriodEnd: boolean;
  readonly amount: number;
  readonly currency: Currency;
  readonly interval: Interval;
  readonly intervalCount: number;
  readonly createdAt: string;
  readonly canceledAt?: string;
  readonly expiredAt?: string;
}

export function subscriptionView(s: Subscription): SubscriptionView {
  return {
    id: s.id,
    planId: s.planId,
    status: s.status,
    currentPeriodStart: s.currentPeriodStart ?? null,
    currentPeriodEnd: s.currentPeriodEnd ?? null,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    amount: s.amount,
    currency: s.currency,
    interval: s.interval,
    intervalCount: s.intervalCount,
    createdAt: s.createdAt,
    ...(s.canceledAt ? { canceledAt: s.canceledAt } : {}),
    ...(s.expiredAt ? { expiredAt: s.expiredAt } : {}),
  };
}
