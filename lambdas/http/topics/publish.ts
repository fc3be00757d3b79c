/**
 * POST /api/v1/topics/{topic}/events `{event, payload, coalesce?}` (admin only) → 202: a server-side
 * producer's event (e.g. `feed:prices`). It is written to the domain table only; fan-out delivers
 * it from the stream with its seq, so the answer says "accepted", not "delivered".
 *
 * Relies on: DOMAIN_TABLE_NAME (write: the domain table).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../../shared/dynamodb';
import { requireEnv } from '../../shared/env';
import { AppError, ForbiddenError } from '../../shared/errors';
import { parseJsonBody } from '../../shared/http/body';
import { authorizedPrincipal } from '../../shared/http/principal';
import { json, toErrorResponse, type HttpResponse } from '../../shared/http/response';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../../shared/observability';
import { TopicEventStore } from '../../shared/realtime/dynamo-topic-events';
import { publishBodySchema } from '../../shared/realtime/topic-events';
import { parseTopic } from '../../shared/realtime/topics';

const store = new TopicEventStore(createDocumentClient(), requireEnv('DOMAIN_TABLE_NAME'));

export const handler = instrument<APIGatewayProxyEventV2, HttpResponse>(
  async (event) => {
    try {
      const principal = authorizedPrincipal(event);
      if (principal.role !== 'admin') throw new ForbiddenError('Only admins may publish to topics');
      // API Gateway passes the path parameter URL-decoded.
      const topic = parseTopic(event.pathParameters?.topic ?? '', 'topic');
      const body = parseJsonBody(event, publishBodySchema);
      const accepted = await store.publish(topic.name, body, principal.userId);
      metrics.addMetric('TopicEventAccepted', MetricUnit.Count, 1);
      return json(202, accepted);
    } catch (error) {
      if (!(error instanceof AppError)) logger.error('Publish failed', error as Error);
      return toErrorResponse(error);
    }
  },
  { correlationId: apiGatewayRequestId },
);
