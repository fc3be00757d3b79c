/**
 * Domain-event publisher: the consumer of the domain table's stream that puts catalog events on
 * the EventBridge bus (a transactional outbox by change data capture: docs/events.md,
 * docs/decisions.md). Parsing, mapping, chunking and retries are in `lambdas/shared/events/`; this
 * module logs what was skipped or not published, records metrics and answers the partial batch
 * response, so Lambda retries exactly the records whose events did not reach the bus.
 *
 * A stream consumer, not a route: there is no request to answer or error to map (a thrown error must
 * fail the batch so the mapping retries it), so `instrument` alone wraps it.
 *
 * Relies on: EVENT_BUS_NAME (events:PutEvents on that bus); a stream mapping with
 * ReportBatchItemFailures and filter criteria from the catalog (`lib/constructs/domain-events.ts`).
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { z } from 'zod';
import { requireEnv } from '../shared/env';
import { PUBLISHER_METRICS } from '../shared/events/metrics';
import { DomainEventPublisher } from '../shared/events/eventbridge-publisher';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';

const publisher = new DomainEventPublisher({ client: new EventBridgeClient({}), eventBusName: requireEnv('EVENT_BUS_NAME') });

/** The batch envelope; each record is validated on its own, so one bad record spoils nothing else. */
const streamBatchSchema = z.object({ Records: z.array(z.unknown()) });

export const handler = instrument<unknown, DynamoDBBatchResponse>(async (event) => {
  // Not a stream batch at all: a wiring bug, so fail loudly (the mapping retries, then bisects).
  const { Records } = streamBatchSchema.parse(event);
  const result = await publisher.publishStreamRecords(Records);

  for (const record of result.malformed) {
    logger.error('Stream record skipped: it cannot be mapped to a domain event', { ...record });
  }
  for (const failure of result.unpublished) {
    logger.error('Domain event not published; its record is reported for retry', { ...failure });
  }
  metrics.addMetric(PUBLISHER_METRICS.published, MetricUnit.Count, result.published);
  metrics.addMetric(PUBLISHER_METRICS.unpublished, MetricUnit.Count, result.unpublished.length);
  metrics.addMetric(PUBLISHER_METRICS.retried, MetricUnit.Count, result.retries);
  metrics.addMetric(PUBLISHER_METRICS.malformed, MetricUnit.Count, result.malformed.length);
  if (result.batchItemFailures.length > 0) {
    logger.warn('Partial batch failure', { records: Records.length, failed: result.batchItemFailures.length });
  }
  return { batchItemFailures: result.batchItemFailures };
});
