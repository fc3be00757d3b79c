/**
 * WebSocket `$disconnect`: forgets the connection. API Gateway calls it best-effort and ignores the
 * answer; a missed call is covered by the record's TTL.
 *
 * Relies on: REALTIME_TABLE_NAME (write access).
 */
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { ConnectionStore } from '../shared/realtime/connections';

const store = new ConnectionStore(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

export const handler = instrument<APIGatewayProxyWebsocketEventV2, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId } = event.requestContext;
    await store.delete(connectionId);
    logger.info('Connection closed', { connectionId });
    metrics.addMetric('ConnectionClosed', MetricUnit.Count, 1);
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
