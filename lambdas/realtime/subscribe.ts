/**
 * WebSocket route `subscribe`: `{"type":"subscribe","id","topic","lastEventId"?}`. Authorizes the
 * topic, registers the subscription, and sends `subscribed`, any replay (or `reset`), all through
 * `@connections` so they arrive in that order before live data (subscriptions.ts explains the
 * order). Errors go back as an `error` frame with the subscription id. A subscribe overtaken by a
 * later frame for its id (an unsubscribe API Gateway received after it but ran before) is
 * answered with nothing: the client's last frame wins.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), WEBSOCKET_CALLBACK_URL (ManageConnections).
 */
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { logger, metrics, MetricUnit } from '../shared/observability';
import { ApiGatewayPoster, connectionsEndpoint } from '../shared/realtime/apigw-poster';
import { DynamoSubscriptionRegistry } from '../shared/realtime/dynamo-subscription-registry';
import { DynamoTopicLog } from '../shared/realtime/dynamo-topic-log';
import { frameRoute } from '../shared/realtime/frame-route';
import { subscribeFrameSchema } from '../shared/realtime/frames';
import { SubscriptionService } from '../shared/realtime/subscriptions';

const db = createDocumentClient();
const table = requireEnv('REALTIME_TABLE_NAME');
const poster = new ApiGatewayPoster({ endpoint: connectionsEndpoint(requireEnv('WEBSOCKET_CALLBACK_URL')) });
const service = new SubscriptionService(new DynamoSubscriptionRegistry(db, table), new DynamoTopicLog(db, table), poster);

export const handler = frameRoute({
  frame: subscribeFrameSchema,
  requireUser: true,
  // `subscribed` and the replay go out through @connections: an error frame must queue behind them.
  replyVia: poster,
  failureLog: 'Subscribe failed',
  rejected: { metric: 'FrameRejected' },
  refusedMetric: 'SubscribeRefused',
  handle: async ({ connectionId, receivedAt, who, frame: { id, topic, lastEventId } }) => {
    const outcome = await service.subscribe({ connectionId, who, id, topic, lastEventId, receivedAt });
    logger.info('Subscribe', { connectionId, topic, outcome, resumed: lastEventId !== undefined });
    metrics.addMetric(outcome === 'subscribed' ? 'Subscribed' : 'SubscribeSkipped', MetricUnit.Count, 1);
  },
});
