/**
 * WebSocket route `unsubscribe`: `{"type":"unsubscribe","id"}` → `unsubscribed` (two-way route:
 * API Gateway returns the body to the sender). Idempotent: an unknown id is already unsubscribed.
 * Frames of the subscription already in flight may still arrive; clients drop ids they no longer
 * hold.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write).
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { frameContext } from '../shared/realtime/frame-context';
import { parseClientFrame, serializeFrame, toErrorFrame, unsubscribeFrameSchema } from '../shared/realtime/frames';
import { DynamoSubscriptionRegistry } from '../shared/realtime/dynamo-subscription-registry';

const registry = new DynamoSubscriptionRegistry(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

export const handler = instrument<unknown, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId, body } = frameContext(event);
    const parsed = parseClientFrame(body, unsubscribeFrameSchema);
    if (!parsed.ok) return { statusCode: 200, body: serializeFrame(parsed.error) };
    const { id } = parsed.frame;
    try {
      const removed = await registry.unregister(connectionId, id);
      logger.info('Unsubscribe', { connectionId, topic: removed?.topic });
      metrics.addMetric('Unsubscribed', MetricUnit.Count, 1);
      return { statusCode: 200, body: serializeFrame({ type: 'unsubscribed', id }) };
    } catch (error) {
      logger.error('Unsubscribe failed', error as Error);
      return { statusCode: 200, body: serializeFrame(toErrorFrame(error, id)) };
    }
  },
  { correlationId: apiGatewayRequestId },
);
