/**
 * WebSocket route `unsubscribe`: `{"type":"unsubscribe","id"}` → `unsubscribed` (two-way route:
 * API Gateway returns the body to the sender). Idempotent: an unknown id is already unsubscribed,
 * and is remembered for a few minutes so that a subscribe sent before this frame but run after it
 * changes nothing. An unsubscribe overtaken by a later subscribe of its id is answered with
 * nothing: the client's last frame wins (subscription-registry.ts). Frames of the subscription
 * already in flight may still arrive; clients drop ids they no longer hold.
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
  handle: async ({ connectionId, receivedAt, frame: { id } }) => {
    const result = await registry.unregister(connectionId, id, receivedAt);
    logger.info('Unsubscribe', {
      connectionId,
      outcome: result.status,
      topic: result.status === 'removed' ? result.subscription.topic : undefined,
    });
    if (result.status === 'superseded') {
      metrics.addMetric('UnsubscribeSkipped', MetricUnit.Count, 1);
      return undefined;
    }
    metrics.addMetric('Unsubscribed', MetricUnit.Count, 1);
    return { type: 'unsubscribed', id };
  },
});
