/**
 * The subscriptions route group of the HTTP API (DESIGN.md section 5):
 *
 *   GET  /api/v1/subscriptions/plans           → 200 {plans}                     (public)
 *   POST /api/v1/subscriptions/subscribe       {planId, paymentToken} → 201 {subscription, payment};
 *        402 card_declined | insufficient_funds; 409 already_subscribed; 503; Idempotency-Key
 *   GET  /api/v1/subscriptions/status          → 200 {subscription | null, access}
 *   POST /api/v1/subscriptions/cancel          {atPeriodEnd?: true} → 200 {subscription}
 *   PUT  /api/v1/subscriptions/payment-method  {paymentToken} → 200 {subscription, payment?}
 *        (`past_due`: charged at once with the new method; `payment` is that attempt, null when
 *        no provider was available)
 *
 * Parsing, one domain call, mapping: the logic is in `lambdas/shared/billing/`.
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write), and the due-job settings of scheduler-due-jobs.ts
 * (DUE_SCHEDULE_GROUP, CHARGE_QUEUE_ARN, CHARGE_QUEUE_URL, SCHEDULER_ROLE_ARN, SCHEDULER_DLQ_ARN).
 */
import { cancelBodySchema, paymentMethodBodySchema, subscribeBodySchema } from '../../shared/billing/schemas';
import { paymentView } from '../../shared/billing/payments';
import { billingFromEnvironment } from '../../shared/billing/wiring';
import { parseJsonBody } from '../../shared/http/body';
import { json } from '../../shared/http/response';
import { httpRoutes, route } from '../../shared/http/route';
import { metrics, MetricUnit } from '../../shared/observability';

const { billing, idempotent } = billingFromEnvironment();

export const handler = httpRoutes(
  {
    'GET /api/v1/subscriptions/plans': route({
      handle: async () => json(200, { plans: billing.plans() }),
    }),
    'POST /api/v1/subscriptions/subscribe': route({
      caller: 'authorized',
      body: subscribeBodySchema,
      handle: (request) =>
        idempotent(request, async () => {
          const { subscription, payment } = await billing.subscribe(
            request.principal.userId,
            request.body.planId,
            request.body.paymentToken,
          );
          metrics.addMetric('Subscribed', MetricUnit.Count, 1);
          return json(201, { subscription, payment: paymentView(payment) });
        }),
    }),
    'GET /api/v1/subscriptions/status': route({
      caller: 'authorized',
      handle: async ({ principal }) => json(200, await billing.status(principal.userId)),
    }),
    'POST /api/v1/subscriptions/cancel': route({
      caller: 'authorized',
      handle: async ({ principal, event }) => {
        // The body is optional: no body cancels at period end.
        const { atPeriodEnd } = event.body ? parseJsonBody(event, cancelBodySchema) : { atPeriodEnd: true };
        return json(200, { subscription: await billing.cancel(principal.userId, atPeriodEnd) });
      },
    }),
    'PUT /api/v1/subscriptions/payment-method': route({
      caller: 'authorized',
      body: paymentMethodBodySchema,
      handle: async ({ principal, body }) => {
        const { subscription, payment } = await billing.updatePaymentMethod(principal.userId, body.paymentToken);
        // `past_due`: the retry made at once with the new method (null: no provider to retry with).
        return json(200, { subscription, ...(payment === undefined ? {} : { payment: payment && paymentView(payment) }) });
      },
    }),
  },
  { failureLog: 'Subscriptions request failed', refusals: { log: 'Subscriptions request refused', metricPrefix: 'SubscriptionsRefused_' } },
);
