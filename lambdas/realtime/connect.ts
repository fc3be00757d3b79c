/**
 * WebSocket `$connect`: records the connection (with a TTL) in the realtime table so fan-out can
 * find it. Answering 200 accepts the upgrade; throwing makes API Gateway refuse it, which is right
 * when the record cannot be written (an unrecorded connection would never receive anything).
 * The ticket authorizer that guards this route arrives with the identity issue.
 *
 * Relies on: REALTIME_TABLE_NAME (write access).
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { ConnectionStore } from '../shared/realtime/connections';

const store = new ConnectionStore(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

/**
 * The parts of the `$connect` event we use. `identity` is present on real events but missing from
 * the `aws-lambda` WebSocket types, so the event is parsed rather than cast.
 */
const connectEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
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
    const { connectionId, identity } = connectEventSchema.parse(event).requestContext;
    await store.put(connectionId, { sourceIp: identity?.sourceIp, userAgent: identity?.userAgent });
    logger.info('Connection opened', { connectionId });
    metrics.addMetric('ConnectionOpened', MetricUnit.Count, 1);
    return { statusCode: 200 };
  },
  { correlationId: apiGatewayRequestId },
);
