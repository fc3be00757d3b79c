/**
 * POST /api/v1/realtime/ticket (authorized) → 201 `{ticket, expiresAt}`: a 60-second, single-use
 * ticket for opening the WebSocket (`?ticket=`). The user comes from the authorizer context, never
 * from the body (the route takes none). At most TICKETS_PER_USER_PER_MINUTE per user in a minute
 * (limits.ts); past it 429 `rate_limited` with `Retry-After` (the seconds left in the minute).
 *
 * Relies on: REALTIME_TABLE_NAME (write: the ticket item and the user's ticket counter),
 * TICKETS_PER_USER_PER_MINUTE.
 */
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { json } from '../shared/http/response';
import { httpRoute } from '../shared/http/route';
import { TicketStore } from '../shared/identity/dynamo-tickets';
import { metrics, MetricUnit } from '../shared/observability';
import { DynamoTicketQuota } from '../shared/realtime/dynamo-limits';
import { LIMIT_ENV, positiveIntegerEnv } from '../shared/realtime/limits';

const db = createDocumentClient();
const table = requireEnv('REALTIME_TABLE_NAME');
const tickets = new TicketStore(db, table);
const quota = new DynamoTicketQuota(db, table, positiveIntegerEnv(LIMIT_ENV.ticketsPerMinute, process.env));

export const handler = httpRoute({
  caller: 'authorized',
  failureLog: 'Ticket request failed',
  handle: async ({ principal }) => {
    // Throws TooManyTickets (429 with Retry-After) past the user's budget for this minute.
    await quota.take(principal.userId, Date.now());
    const issued = await tickets.issue(principal);
    metrics.addMetric('TicketIssued', MetricUnit.Count, 1);
    return json(201, issued);
  },
});
