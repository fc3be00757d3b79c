/**
 * POST /api/v1/realtime/ticket (authorized) → 201 `{ticket, expiresAt}`: a 60-second, single-use
 * ticket for opening the WebSocket (`?ticket=`). The user comes from the authorizer context, never
 * from the body (the route takes none).
 *
 * Relies on: REALTIME_TABLE_NAME (write: the ticket item).
 */
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { json } from '../shared/http/response';
import { httpRoute } from '../shared/http/route';
import { TicketStore } from '../shared/identity/dynamo-tickets';
import { metrics, MetricUnit } from '../shared/observability';

const tickets = new TicketStore(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

export const handler = httpRoute({
  caller: 'authorized',
  failureLog: 'Ticket request failed',
  handle: async ({ principal }) => {
    const issued = await tickets.issue(principal);
    metrics.addMetric('TicketIssued', MetricUnit.Count, 1);
    return json(201, issued);
  },
});
