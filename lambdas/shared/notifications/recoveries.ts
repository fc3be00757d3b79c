/**
 * Recovered notices (docs/billing.md "Dunning", decision 28): whichever way a `past_due`
 * subscription was paid (the saga's retry, a payment by the user, a new payment method), the
 * stream raises `Subscription.Recovered`, a rule sends it from the bus to the notification queue
 * whole, and the notifier makes the `subscription_recovered` notice here. One source for every
 * way out, rather than one notice per way.
 *
 * The notice id is `recovered:<subscriptionId>:<period>`: the event delivered twice, or published
 * twice by a retried stream batch, is one notice; a recovery of a later period is another.
 */
import { z } from 'zod';
import { EVENT_SOURCE, SUBSCRIPTION_RECOVERED, subscriptionDetailSchema, type SubscriptionDetail } from '../events/catalog';
import type { NoticeOf } from './notices';

/** The event as EventBridge delivers it to a queue. */
export const recoveredEventSchema = z.object({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(SUBSCRIPTION_RECOVERED),
  detail: subscriptionDetailSchema,
});

/** The notice of a recovery; undefined when the event has no period end (never, for an active subscription). */
export function recoveredNotice(detail: SubscriptionDetail): NoticeOf<'subscription_recovered'> | undefined {
  if (detail.currentPeriodEnd === undefined) return undefined;
  return {
    noticeId: `recovered:${detail.subscriptionId}:${detail.period}`,
    userId: detail.userId,
    template: 'subscription_recovered',
    data: { planId: detail.planId, currentPeriodEnd: detail.currentPeriodEnd },
  };
}
