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
import { paymentSchema } from './dynamo-payments';
import { subscriptionItemSchema } from './dynamo-subscriptions';
import { paymentView } from './payments';
import { subscriptionView } from './subscription';

function viewOf(image: unknown) {
  const item = subscriptionItemSchema.safeParse(image);
  return item.success ? subscriptionView(item.data) : undefined;
}

function subscriptionUpdated(change: DomainChange) {
  const item = subscriptionItemSchema.safeParse(change.newImage);
  if (!item.success) return [];
  const view = subscriptionView(item.data);
  // A lease taken or released, a payment method changed: nothing the client sees.
  if (JSON.stringify(viewOf(change.oldImage)) === JSON.stringify(view)) return [];
  return [{ topic: `user:${item.data.userId}`, event: 'subscription.updated', payload: { subscription: view }, ts: change.occurredAt }];
}

function paymentRecorded(change: DomainChange) {
  const item = paymentSchema.safeParse(change.newImage);
  if (!item.success) return [];
  const payment = item.data;
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
