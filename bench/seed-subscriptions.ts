/**
 * Subscriptions written straight into the domain table for the billing benchmarks, in the item
 * layout of dynamo-subscriptions.ts (due index keys included), as the product would have left
 * them after a subscribe and some renewals.
 */
import { randomUUID } from 'node:crypto';
import type { DueJob } from '../lambdas/shared/billing/due-jobs';
import { dueBucket, SUBSCRIPTION_ENTITY, subscriptionItemSchema, subscriptionKey } from '../lambdas/shared/billing/dynamo-subscriptions';
import { periodBoundary } from '../lambdas/shared/billing/periods';
import { findPlan } from '../lambdas/shared/billing/plans';
import type { Subscription } from '../lambdas/shared/billing/subscription';
import { batchWriteAll } from '../lambdas/shared/dynamodb';
import { type Platform, pool } from './platform';

export const PLAN = findPlan('basic-monthly')!;

export interface Seeded {
  readonly subscription: Subscription;
  readonly job: DueJob;
  /** The due time after the renewal (the next period's end). */
  readonly nextDueAt: string;
}

/**
 * An `active` subscription of `basic-monthly` paying with `paymentToken`, whose current period
 * ends at `due`: anchored k months before it, k the fewest months whose boundary lands exactly on
 * `due` (a 31st needs an anchor on a 31st).
 */
export function seedSubscription(userId: string, due: Date, paymentToken = 'tok_ok'): Seeded {
  for (let k = 1; k <= 12; k++) {
    const anchor = new Date(due);
    anchor.setUTCDate(1);
    anchor.setUTCMonth(anchor.getUTCMonth() - k);
    anchor.setUTCDate(due.getUTCDate());
    if (anchor.getUTCDate() !== due.getUTCDate() || periodBoundary(anchor, PLAN, k).getTime() !== due.getTime()) continue;
    const iso = anchor.toISOString();
    const subscription: Subscription = {
      id: `sub_${randomUUID()}`,
      userId,
      planId: PLAN.id,
      status: 'active',
      amount: PLAN.amount,
      currency: PLAN.currency,
      interval: PLAN.interval,
      intervalCount: PLAN.intervalCount,
      anchor: iso,
      period: k,
      currentPeriodStart: periodBoundary(anchor, PLAN, k - 1).toISOString(),
      currentPeriodEnd: due.toISOString(),
      cancelAtPeriodEnd: false,
      paymentToken,
      dueAt: due.toISOString(),
      createdAt: iso,
      updatedAt: iso,
    };
    return {
      subscription,
      job: { userId, subscriptionId: subscription.id, dueAt: due.toISOString() },
      nextDueAt: periodBoundary(anchor, PLAN, k + 1).toISOString(),
    };
  }
  throw new Error(`no monthly anchor ends a period at ${due.toISOString()}`);
}

/** The item as DynamoSubscriptionStore writes it: keys, entity, the fields, and the due index keys. */
export function subscriptionItem(subscription: Subscription): Record<string, unknown> {
  const item = {
    ...subscriptionKey(subscription.userId),
    entity: SUBSCRIPTION_ENTITY,
    ...subscription,
    dueBucket: dueBucket(subscription.dueAt!),
    dueSort: `${subscription.dueAt}#${subscription.userId}`,
  };
  subscriptionItemSchema.parse(item);
  return item;
}

/** Writes the subscriptions' items (BatchWriteItem, 25 at a time, 8 batches of 250 at once). */
export async function writeSubscriptions(platform: Platform, seeded: readonly Seeded[]): Promise<void> {
  const chunks: Seeded[][] = [];
  for (let i = 0; i < seeded.length; i += 250) chunks.push(seeded.slice(i, i + 250));
  await pool(chunks, 8, (chunk) =>
    batchWriteAll(
      platform.db,
      platform.domainTable,
      chunk.map((s) => ({ PutRequest: { Item: subscriptionItem(s.subscription) } })),
    ),
  );
}

/** Writes `n` subscriptions paying with `tok_ok`, one new user each (no user items: the charge worker reads the subscription only). */
export async function seed(platform: Platform, due: (i: number) => Date, n: number): Promise<Seeded[]> {
  const seeded = Array.from({ length: n }, (_, i) => seedSubscription(randomUUID(), due(i)));
  await writeSubscriptions(platform, seeded);
  return seeded;
}
