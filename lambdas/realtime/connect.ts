/**
 * WebSocket `$connect`: records the connection (with a TTL and its user) in the realtime table so
 * fan-out can find it. Answering 200 accepts the upgrade; throwing makes API Gateway refuse it,
 * which is right when the record cannot be written (an unrecorded connection would never receive
 * anything). The ticket authorizer (`connect-authorizer.ts`) runs first and puts the user in
 * `requestContext.authorizer`; a connect without it is refused, never recorded anonymously.
 *
 * Not a `frameRoute`: `$connect` carries no frame, and refusing means failing the invocation, not
 * answering an error frame, so `instrument` alone wraps it.
 *
 * Relies on: REALTIME_TABLE_NAME (write access).
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { ConnectionStore } from '../shared/realtime/dynamo-connections';

const store = new ConnectionStore(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

/**
 * The parts of the `$connect` event we use. `identity` is present on real events but missing from
 * the `aws-lambda` WebSocket types, so the event is parsed rather than cast.
 */
const connectEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
    authorizer: z.object({ userId: z.string().min(1), role: z.string().min(1) }),
    identity: z
      .object({
        sourceIp: z.string().optional(),
        userAgent: z.string().optional(),
      })
      .optional(),
  }),
});

export const handler = instrument<unknown, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const { connectionId, authorizer, identity } = connectEventSchema.parse(event).requestContext;
    const { userId, role } = authorizer;
    await store.put(connectionId, { userId, role, sourceIp: identity?.sourceIp, userAgent: identity?.userAgent });
    logger.info('Connection opened', { connectionId, userId });
    metrics.addMetric('ConnectionOpened', MetricUnit.Count, 1);
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
