/**
 * Fan-out, the domain table stream's real-time consumer: numbers, logs and delivers the topic
 * events of each batch (lambdas/shared/realtime/fanout.ts). Its event-source mapping filters on
 * the entities of `TOPIC_SOURCES`, so it only runs for changes that map to topics. Answers a
 * partial batch response naming the first record to retry; records that do not parse are logged
 * and skipped (retrying cannot fix them).
 *
 * A stream consumer, not a route: there is no request to answer or error to map (a thrown error must
 * fail the batch so the mapping retries it), so `instrument` alone wraps it.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), WEBSOCKET_CALLBACK_URL (ManageConnections),
 * FANOUT_QUEUE_URL (send).
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { requireEnv } from '../shared/env';
import { parseStreamRecord } from '../shared/cdc/stream-record';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { emptyStats, type BatchChange } from '../shared/realtime/fanout';
import { SqsJobQueue } from '../shared/realtime/sqs-job-queue';
import { fanoutFromEnvironment } from '../shared/realtime/fanout-wiring';
import { recordFanoutStats } from '../shared/realtime/fanout-metrics';

const fanout = fanoutFromEnvironment({
  jobs: new SqsJobQueue(new SQSClient({}), requireEnv('FANOUT_QUEUE_URL')),
  onTopicFailure: (topic, error) => logger.error('Topic delivery failed; the batch is retried from it', { topic, error: error as Error }),
});

const eventSchema = z.object({ Records: z.array(z.unknown()) });

export const handler = instrument<unknown, DynamoDBBatchResponse>(async (event) => {
  const changes: BatchChange[] = [];
  for (const record of eventSchema.parse(event).Records) {
    const parsed = parseStreamRecord(record);
    if (parsed.ok) {
      changes.push({ sequenceNumber: parsed.sequenceNumber, change: parsed.change });
    } else {
      logger.error('Stream record skipped: it does not parse', { eventId: parsed.eventId, reason: parsed.reason });
      metrics.addMetric('RecordSkipped', MetricUnit.Count, 1);
    }
  }
  const stats = emptyStats();
  const retryFrom = await fanout.handleChanges(changes, stats);
  recordFanoutStats(stats);
  return { batchItemFailures: retryFrom ? [{ itemIdentifier: retryFrom }] : [] };
});
