/**
 * WebSocket `$disconnect`: forgets the connection and everything it subscribed to (its edges
 * under each topic). API Gateway calls it best-effort and ignores the answer; a missed call is
 * covered by the items' TTL and by fan-out, which forgets a connection on its first 410.
 *
 * Not a `frameRoute`: `$disconnect` carries no frame and its answer goes nowhere, so `instrument`
 * alone wraps it.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write).
 */
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { DynamoSubscriptionRegistry } from '../shared/realtime/dynamo-subscription-registry';

const registry = new DynamoSubscriptionRegistry(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

export const handler = instrument<APIGatewayProxyWebsocketEventV2, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId } = event.requestContext;
    const removed = await registry.forget(connectionId);
    logger.info('Connection closed', { connectionId, subscriptions: removed.length });
    metrics.addMetric('ConnectionClosed', MetricUnit.Count, 1);
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
