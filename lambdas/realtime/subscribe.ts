/**
 * WebSocket route `subscribe`: `{"type":"subscribe","id","topic","lastEventId"?}`. Authorizes the
 * topic, registers the subscription, and sends `subscribed`, any replay (or `reset`), all through
 * `@connections` so they arrive in that order before live data (subscriptions.ts explains the
 * order). Errors go back as an `error` frame with the subscription id.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), WEBSOCKET_CALLBACK_URL (ManageConnections).
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { AppError, UnauthorizedError } from '../shared/errors';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { frameContext } from '../shared/realtime/frame-context';
import { parseClientFrame, subscribeFrameSchema, toErrorFrame } from '../shared/realtime/frames';
import { ApiGatewayPoster, connectionsEndpoint } from '../shared/realtime/apigw-poster';
import { DynamoSubscriptionRegistry } from '../shared/realtime/dynamo-subscription-registry';
import { DynamoTopicLog } from '../shared/realtime/dynamo-topic-log';
import { SubscriptionService } from '../shared/realtime/subscriptions';

const db = createDocumentClient();
const table = requireEnv('REALTIME_TABLE_NAME');
const poster = new ApiGatewayPoster({ endpoint: connectionsEndpoint(requireEnv('WEBSOCKET_CALLBACK_URL')) });
const service = new SubscriptionService(new DynamoSubscriptionRegistry(db, table), new DynamoTopicLog(db, table), poster);

export const handler = instrument<unknown, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId, who, body } = frameContext(event);
    const parsed = parseClientFrame(body, subscribeFrameSchema);
    if (!parsed.ok) {
      metrics.addMetric('FrameRejected', MetricUnit.Count, 1);
      await poster.post(connectionId, parsed.error);
      return { statusCode: 200 };
    }
    const { id, topic, lastEventId } = parsed.frame;
    try {
      if (!who) throw new UnauthorizedError('The connection carries no user');
      const outcome = await service.subscribe({ connectionId, who, id, topic, lastEventId });
      logger.info('Subscribe', { connectionId, topic, outcome, resumed: lastEventId !== undefined });
      metrics.addMetric(outcome === 'subscribed' ? 'Subscribed' : 'SubscribeSkipped', MetricUnit.Count, 1);
    } catch (error) {
      if (!(error instanceof AppError)) logger.error('Subscribe failed', error as Error);
      metrics.addMetric('SubscribeRefused', MetricUnit.Count, 1);
      await poster.post(connectionId, toErrorFrame(error, id));
    }
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
