/**
 * The payments route group of the HTTP API (DESIGN.md sections 4 and 5):
 *
 *   POST /api/v1/payments/process  {purpose: "subscription", subscriptionId, paymentToken}
 *        → 201 {subscription, payment}; 402; 404 (not the caller's); 409 no_payment_due; 503;
 *        {purpose: "booking", bookingId, paymentToken} → 404 until bookings exist. Idempotency-Key.
 *   GET  /api/v1/payments/history?limit=&cursor=  → 200 {payments, nextCursor} (own, newest first)
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write), and the due-job settings of scheduler-due-jobs.ts.
 */
import { processPaymentBodySchema } from '../../shared/billing/schemas';
import { paymentView } from '../../shared/billing/payments';
import { billingFromEnvironment } from '../../shared/billing/wiring';
import { NotFoundError } from '../../shared/errors';
import { pageQuerySchema } from '../../shared/http/cursor';
import { json } from '../../shared/http/response';
import { httpRoutes, route } from '../../shared/http/route';

const { billing, history, idempotent } = billingFromEnvironment();

export const handler = httpRoutes(
  {
    'POST /api/v1/payments/process': route({
      caller: 'authorized',
      body: processPaymentBodySchema,
      handle: (request) =>
        idempotent(request, async () => {
          const { body, principal } = request;
          if (body.purpose === 'booking') throw new NotFoundError(`No booking ${body.bookingId}`);
          const { subscription, payment } = await billing.payNow(principal.userId, body.subscriptionId, body.paymentToken);
          return json(201, { subscription, payment: paymentView(payment) });
        }),
    }),
    'GET /api/v1/payments/history': route({
      caller: 'authorized',
      query: pageQuerySchema,
      handle: async ({ principal, query }) => {
        const page = await history.list(principal.userId, query.limit, query.cursor);
        return json(200, { payments: page.payments.map(paymentView), nextCursor: page.next ?? null });
      },
    }),
  },
  { failureLog: 'Payments request failed', refusals: { log: 'Payments request refused', metricPrefix: 'PaymentsRefused_' } },
);
