/**
 * Renewal receipts (docs/decisions.md #26): billing does not send a notice when a renewal is paid;
 * an EventBridge rule sends the `Payment.Succeeded` event of a renewal (the whole event, no input
 * transformer) to the notification queue, and the notifier turns it into a `renewal_receipt`
 * notice here. The event carries the payment; the plan and the period it paid up to come from
 * the subscription (billing's store), computed from its anchor so a receipt read late (after the
 * next renewal) still names the right period.
 *
 * The notice id is `receipt:<paymentId>`: the event delivered twice, or published twice by a
 * retried stream batch, is one notice.
 */
import { z } from 'zod';
import { periodBoundary } from '../billing/periods';
import type { Subscription } from '../billing/subscription';
import { EVENT_SOURCE, PAYMENT_SUCCEEDED, paymentDetailSchema, type PaymentDetail } from '../events/catalog';
import type { NoticeOf } from './notices';

/** The event as EventBridge delivers it to a queue (fields the mapping does not read are kept out). */
export const receiptEventSchema = z.object({
  source: z.literal(EVENT_SOURCE),
  'detail-type': z.literal(PAYMENT_SUCCEEDED),
  detail: paymentDetailSchema,
});

/** Whether a queue message looks like an EventBridge event (rather than a notice) at all. */
export function isEventBridgeEvent(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'detail-type' in body && 'detail' in body;
}

/** The events the rule lets through: renewals of subscriptions (docs/notifications.md). */
export function isRenewal(detail: PaymentDetail): boolean {
  return detail.purpose === 'subscription' && detail.reason === 'renewal' && detail.subscriptionId !== undefined;
}

export type ReceiptResult =
  | { readonly kind: 'notice'; readonly notice: NoticeOf<'renewal_receipt'> }
  | { readonly kind: 'skipped'; readonly reason: string };

/**
 * The receipt notice of a renewal's payment, given the user's current subscription. Skipped (with
 * the reason) when the payment is not a renewal or the subscription is no longer the one it paid.
 */
export function receiptNotice(detail: PaymentDetail, subscription: Subscription | undefined): ReceiptResult {
  if (!isRenewal(detail) || detail.periodEnd === undefined) return { kind: 'skipped', reason: 'not a renewal' };
  if (subscription === undefined || subscription.id !== detail.subscriptionId)
    return { kind: 'skipped', reason: 'the subscription was replaced' };
  const currentPeriodEnd = periodPaidUpTo(subscription, detail.periodEnd);
  if (currentPeriodEnd === undefined) return { kind: 'skipped', reason: 'the paid period is not one of the subscription' };
  return {
    kind: 'notice',
    notice: {
      noticeId: `receipt:${detail.paymentId}`,
      userId: detail.userId,
      template: 'renewal_receipt',
      data: {
        planId: subscription.planId,
        amount: detail.amount,
        currency: detail.currency,
        paymentId: detail.paymentId,
        currentPeriodEnd,
      },
    },
  };
}

/** The end of the period after the one ending at `periodEnd` (the period the renewal paid). */
function periodPaidUpTo(s: Subscription, periodEnd: string): string | undefined {
  if (s.currentPeriodStart === periodEnd && s.currentPeriodEnd !== undefined) return s.currentPeriodEnd;
  if (s.anchor === undefined) return undefined;
  const anchor = new Date(s.anchor);
  const target = Date.parse(periodEnd);
  for (let n = s.period; n >= 1; n--) {
    if (periodBoundary(anchor, s, n).getTime() === target) return periodBoundary(anchor, s, n + 1).toISOString();
  }
  return undefined;
}
