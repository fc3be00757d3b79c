/**
 * WebSocket route `unsubscribe`: `{"type":"unsubscribe","id"}` → `unsubscribed` (two-way route:
 * API Gateway returns the body to the sender). Idempotent: an unknown id is already unsubscribed.
 * Frames of the subscription already in flight may still arrive; clients drop ids they no longer
 * hold.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write).
 */
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { logger, metrics, MetricUnit } from '../shared/observability';
import { DynamoSubscriptionRegistry } from '../shared/realtime/dynamo-subscription-registry';
import { frameRoute } from '../shared/realtime/frame-route';
import { unsubscribeFrameSchema } from '../shared/realtime/frames';

const registry = new DynamoSubscriptionRegistry(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

export const handler = frameRoute({
  frame: unsubscribeFrameSchema,
  failureLog: 'Unsubscribe failed',
  handle: async ({ connectionId, frame: { id } }) => {
    const removed = await registry.unregister(connectionId, id);
    logger.info('Unsubscribe', { connectionId, topic: removed?.topic });
    metrics.addMetric('Unsubscribed', MetricUnit.Count, 1);
    return { type: 'unsubscribed', id };
  },
});
