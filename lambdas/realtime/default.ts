/**
 * WebSocket `$default`: answers every frame no route claimed with an error frame
 * (`unknown_type`, or `bad_request` when the frame is not a JSON object with a `type`). The route
 * is two-way, so API Gateway sends the returned `body` to the sender; no `@connections` call and
 * no ManageConnections permission are needed.
 *
 * Relies on: nothing beyond the Powertools variables.
 */
import type { APIGatewayProxyStructuredResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { serializeFrame } from '../shared/realtime/frames';
import { answerUnroutedFrame } from '../shared/realtime/unrouted-frame';

export const handler = instrument<APIGatewayProxyWebsocketEventV2, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const frame = answerUnroutedFrame(event.body);
    logger.info('Unrouted frame rejected', { connectionId: event.requestContext.connectionId, code: frame.code });
    metrics.addMetric('FrameRejected', MetricUnit.Count, 1);
    return { statusCode: 200, body: serializeFrame(frame) };
  },
  { correlationId: apiGatewayRequestId },
);
