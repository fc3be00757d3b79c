/**
 * What billing needs from its subscription storage. Each user has at most one current
 * subscription; every change is one conditional write on it, checked against what the caller
 * last saw (`Expect`), so concurrent requests, duplicate queue messages and the worker never
 * apply a change twice or over a newer one. A failed condition answers `undefined`: the caller
 * re-reads and decides again. dynamo-subscriptions.ts is the DynamoDB implementation.
 */
import type { Subscription, SubscriptionStatus } from './subscription';

/** What the subscription must still be for a change to apply. */
export interface Expect {
  readonly id: string;
  readonly status: readonly SubscriptionStatus[];
  /** The due time the caller acted on (absent: any). */
  readonly dueAt?: string;
  /** The end of the current period the caller acted on (absent: any); dunning acts on one period. */
  readonly periodEnd?: string;
  /** Refuse while another invocation holds the charge lease (a charge is under way). */
  readonly noLiveLeaseAt?: number;
}

/** Fields to set, and optional fields to remove. */
export interface Change {
  readonly set: Partial<Omit<Subscription, 'id' | 'userId' | 'createdAt'>>;
  readonly remove?: readonly ('dueAt' | 'canceledAt' | 'leaseUntil')[];
}

/** A subscription whose due time has come, as the due index returns it. */
export interface DueRef {
  readonly userId: string;
  readonly subscriptionId: string;
  readonly dueAt: string;
}

export type BeginResult = 'begun' | 'already_subscribed' | 'in_progress';

export interface SubscriptionStore {
  /** The user's current subscription (strongly consistent). */
  get(userId: string): Promise<Subscription | undefined>;
  /**
   * Starts a subscribe: writes `subscription` (status `incomplete`) holding the charge lease
   * until `leaseUntil` (epoch ms), replacing an ended subscription or an `incomplete` one whose
   * lease has lapsed. `already_subscribed` when the user's subscription gives access;
   * `in_progress` when another subscribe holds the lease.
   */
  begin(subscription: Subscription, leaseUntil: number, now: number): Promise<BeginResult>;
  /**
   * Takes the charge lease of an existing subscription (for a payment by the user): undefined
   * when `expect` does not hold or another charge holds it.
   */
  lease(userId: string, expect: Expect, leaseUntil: number, now: number): Promise<Subscription | undefined>;
  /** Applies `change` if `expect` holds; the new subscription, or undefined when it did not. */
  update(userId: string, expect: Expect, change: Change): Promise<Subscription | undefined>;
  /** Subscriptions due on the UTC day of `day` with `dueAt` <= `until` (the due index). */
  due(day: Date, until: Date): Promise<DueRef[]>;
}
