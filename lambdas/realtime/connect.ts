/**
 * WebSocket `$connect`: records the connection (with a TTL and its user) in the realtime table so
 * fan-out can find it. Answering 200 accepts the upgrade; throwing makes API Gateway refuse it,
 * which is right when the record cannot be written (an unrecorded connection would never receive
 * anything). The ticket authorizer (`connect-authorizer.ts`) runs first and puts the user in
 * `requestContext.authorizer`; a connect without it is refused, never recorded anonymously.
 *
 * Before recording, the connection claims one of its user's slots (limits.ts: at most
 * MAX_CONNECTIONS_PER_USER open at once). With none free the answer is 429 `rate_limited` with
 * `Retry-After`: a Lambda proxy `$connect` that answers a non-2xx status refuses the upgrade, and
 * API Gateway hands the client that status (the local cloud does the same). `$disconnect`
 * releases the slot; a slot whose `$disconnect` never came frees itself after 2 hours.
 *
 * Not a `frameRoute`: `$connect` carries no frame, and refusing means failing the invocation or
 * answering a status, not an error frame, so `instrument` alone wraps it.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), MAX_CONNECTIONS_PER_USER.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { toErrorResponse } from '../shared/http/response';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { ConnectionStore } from '../shared/realtime/dynamo-connections';
import { DynamoConnectionSlots } from '../shared/realtime/dynamo-limits';
import { LIMIT_ENV, positiveIntegerEnv, TooManyConnections } from '../shared/realtime/limits';

const db = createDocumentClient();
const table = requireEnv('REALTIME_TABLE_NAME');
const store = new ConnectionStore(db, table);
const slots = new DynamoConnectionSlots(db, table, positiveIntegerEnv(LIMIT_ENV.connectionsPerUser, process.env));

/**
 * The parts of the `$connect` event we use. `identity` is present on real events but missing from
 * the `aws-lambda` WebSocket types, so the event is parsed rather than cast.
 */
const connectEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
    authorizer: z.object({ userId: z.string().min(1), role: z.string().min(1) }),
    identity: z
      .object({
        sourceIp: z.string().optional(),
        userAgent: z.string().optional(),
      })
      .optional(),
  }),
});

export const handler = instrument<unknown, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId, authorizer, identity } = connectEventSchema.parse(event).requestContext;
    const { userId, role } = authorizer;
    const slot = await slots.claim(userId, connectionId);
    if (slot === undefined) {
      // An outcome, not an error: the user is at the cap.
      logger.info('Connection refused: too many open connections', { connectionId, userId, cap: slots.cap });
      metrics.addMetric('ConnectionRefusedTooMany', MetricUnit.Count, 1);
      return toErrorResponse(new TooManyConnections(slots.cap));
    }
    try {
      await store.put(connectionId, { userId, role, sourceIp: identity?.sourceIp, userAgent: identity?.userAgent });
    } catch (error) {
      // The upgrade is refused, so no $disconnect will come for this connection: free its slot now.
      await slots.release(userId, connectionId).catch(() => undefined);
      throw error;
    }
    logger.info('Connection opened', { connectionId, userId });
    metrics.addMetric('ConnectionOpened', MetricUnit.Count, 1);
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
