/**
 * What billing shows live (DESIGN.md section 5): every change of a subscription or payment item
 * reaches its user's private topic `user:{id}` through the stream (decision 10), never from a
 * handler. realtime/cdc.ts lists these sources with the others.
 *
 *   subscription.updated  {subscription: SubscriptionView}  when what the client sees changed
 *   payment.succeeded     {payment: PaymentView}
 *   payment.failed        {payment: PaymentView}
 *   payment.refunded      {payment: PaymentView}   (bookings)
 */
import type { DomainChange } from '../cdc/change';
import type { TopicSource } from '../realtime/cdc';
import { subscriptionItemSchema } from './dynamo-subscriptions';
import { CURRENCIES } from './money';
import { PAYMENT_STATUSES, paymentView } from './payments';
import { subscriptionView } from './subscription';
import { z } from 'zod';

function viewOf(image: unknown) {
  const item = subscriptionItemSchema.safeParse(image);
  return item.success ? subscriptionView(item.data) : undefined;
}

function subscriptionUpdated(change: DomainChange) {
  const view = viewOf(change.newImage);
  if (!view) return [];
  // A lease taken or released, a payment method changed: nothing the client sees.
  if (JSON.stringify(viewOf(change.oldImage)) === JSON.stringify(view)) return [];
  const userId = (change.newImage as { userId: string }).userId;
  return [{ topic: `user:${userId}`, event: 'subscription.updated', payload: { subscription: view }, ts: change.occurredAt }];
}

/** The fields of a payment item a client is shown (the item has more: chargeKey, reason). */
const paymentItemSchema = z.object({
  entity: z.literal('Payment'),
  id: z.string(),
  userId: z.string(),
  purpose: z.enum(['subscription', 'booking']),
  reason: z.enum(['subscribe', 'renewal', 'recovery']),
  subscriptionId: z.string().optional(),
  bookingId: z.string().optional(),
  amount: z.number().int(),
  currency: z.enum(CURRENCIES),
  status: z.enum(PAYMENT_STATUSES),
  provider: z.string(),
  failureCode: z.string().optional(),
  periodEnd: z.string().optional(),
  chargeKey: z.string(),
  createdAt: z.string(),
});

function paymentRecorded(change: DomainChange) {
  const item = paymentItemSchema.safeParse(change.newImage);
  if (!item.success) return [];
  const { entity: _entity, ...payment } = item.data;
  return [
    {
      topic: `user:${payment.userId}`,
      event: `payment.${payment.status}`,
      payload: { payment: paymentView(payment) },
      ts: change.occurredAt,
    },
  ];
}

export const BILLING_TOPIC_SOURCES: readonly TopicSource[] = [
  { entity: 'Subscription', change: 'INSERT', map: subscriptionUpdated },
  { entity: 'Subscription', change: 'MODIFY', map: subscriptionUpdated },
  { entity: 'Payment', change: 'INSERT', map: paymentRecorded },
];
