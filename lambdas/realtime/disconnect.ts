/**
 * WebSocket `$disconnect`: forgets the connection and everything it subscribed to (its edges
 * under each topic), and frees the connection slot it held of its user's (limits.ts). API Gateway
 * calls it best-effort and ignores the answer; a missed call is covered by the items' TTL, by the
 * slot freeing itself once the connection has certainly ended, and by fan-out, which forgets a
 * connection on its first 410.
 *
 * The user comes from the `$connect` authorizer's context, which API Gateway repeats on this
 * event; when it is missing, from the connection record, read before it is forgotten.
 *
 * Not a `frameRoute`: `$disconnect` carries no frame and its answer goes nowhere, so `instrument`
 * alone wraps it.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), MAX_CONNECTIONS_PER_USER.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { ConnectionStore } from '../shared/realtime/dynamo-connections';
import { DynamoConnectionSlots } from '../shared/realtime/dynamo-limits';
import { DynamoSubscriptionRegistry } from '../shared/realtime/dynamo-subscription-registry';
import { LIMIT_ENV, positiveIntegerEnv } from '../shared/realtime/limits';

const db = createDocumentClient();
const table = requireEnv('REALTIME_TABLE_NAME');
const registry = new DynamoSubscriptionRegistry(db, table);
const connections = new ConnectionStore(db, table);
const slots = new DynamoConnectionSlots(db, table, positiveIntegerEnv(LIMIT_ENV.connectionsPerUser, process.env));

const disconnectEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
    authorizer: z.object({ userId: z.string().min(1) }).optional(),
  }),
});

export const handler = instrument<unknown, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId, authorizer } = disconnectEventSchema.parse(event).requestContext;
    const userId = authorizer?.userId ?? (await connections.userOf(connectionId));
    const [removed] = await Promise.all([registry.forget(connectionId), userId ? slots.release(userId, connectionId) : undefined]);
    logger.info('Connection closed', { connectionId, userId, subscriptions: removed.length });
    metrics.addMetric('ConnectionClosed', MetricUnit.Count, 1);
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
