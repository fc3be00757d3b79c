/**
 * POST /api/v1/topics/{topic}/events `{event, payload, coalesce?}` (admin only) → 202: a server-side
 * producer's event (e.g. `feed:prices`). It is written to the domain table only; fan-out delivers
 * it from the stream with its seq, so the answer says "accepted", not "delivered".
 *
 * The payload is checked against what DynamoDB can store (dynamo-value.ts: finite, exact numbers,
 * nesting, keys, Unicode) on the raw parsed JSON, before the record schema copies it, so a payload
 * DynamoDB would refuse is a 400 naming its path, never a 500 from the write, and a `__proto__` key
 * is refused rather than lost in the copy.
 *
 * Relies on: DOMAIN_TABLE_NAME (write: the domain table).
 */
import { z } from 'zod';
import { createDocumentClient } from '../../shared/dynamodb';
import { dynamoValue } from '../../shared/dynamo-value';
import { requireEnv } from '../../shared/env';
import { json } from '../../shared/http/response';
import { httpRoute } from '../../shared/http/route';
import { metrics, MetricUnit } from '../../shared/observability';
import { TopicEventStore } from '../../shared/realtime/dynamo-topic-events';
import { publishBodySchema } from '../../shared/realtime/topic-events';
import { topicSchema } from '../../shared/realtime/topics';

const store = new TopicEventStore(createDocumentClient(), requireEnv('DOMAIN_TABLE_NAME'));

// The item's `payload` attribute is a top-level value: DynamoDB's full nesting depth is its own.
const bodySchema = publishBodySchema.extend({ payload: dynamoValue().pipe(publishBodySchema.shape.payload) });

export const handler = httpRoute({
  caller: { role: 'admin', refusal: 'Only admins may publish to topics' },
  // API Gateway passes the path parameter URL-decoded.
  path: z.object({ topic: topicSchema }),
  body: bodySchema,
  failureLog: 'Publish failed',
  handle: async ({ principal, path, body }) => {
    const accepted = await store.publish(path.topic, body, principal.userId);
    metrics.addMetric('TopicEventAccepted', MetricUnit.Count, 1);
    return json(202, accepted);
  },
});
