/**
 * Fan-out worker: delivers hot topics' jobs from the fan-out FIFO queue, one shard of subscribers
 * per job (lambdas/shared/realtime/fanout.ts). Jobs of a message group are handled in order; when
 * one fails, it and every later record of its group are reported as failures, so SQS returns them
 * in order (a FIFO partial batch response must never let a later job of the group succeed past an
 * earlier one). A job that does not parse is logged and dropped: retrying cannot fix it.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), WEBSOCKET_CALLBACK_URL (ManageConnections).
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { z } from 'zod';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { emptyStats, fanoutJobSchema } from '../shared/realtime/fanout';
import { recordFanoutStats } from '../shared/realtime/fanout-metrics';
import { fanoutFromEnvironment } from '../shared/realtime/fanout-wiring';

const fanout = fanoutFromEnvironment({
  // Workers never enqueue: they only deliver jobs.
  jobs: { enqueue: () => Promise.reject(new Error('The fan-out worker does not enqueue jobs')) },
});

const eventSchema = z.object({
  Records: z.array(z.object({ messageId: z.string(), body: z.string(), attributes: z.object({ MessageGroupId: z.string().optional() }).loose() })),
});

export const handler = instrument<unknown, SQSBatchResponse>(async (event) => {
  const stats = emptyStats();
  const failedGroups = new Set<string>();
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of eventSchema.parse(event).Records) {
    const group = record.attributes.MessageGroupId ?? '';
    if (failedGroups.has(group)) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    let job;
    try {
      job = fanoutJobSchema.parse(JSON.parse(record.body));
    } catch (error) {
      logger.error('Fan-out job dropped: it does not parse', { messageId: record.messageId, error: error as Error });
      metrics.addMetric('JobDropped', MetricUnit.Count, 1);
      continue;
    }
    try {
      await fanout.deliverJob(job, stats);
    } catch (error) {
      logger.error('Fan-out job failed; it is retried', { topic: job.topic, shard: job.shard, error: error as Error });
      failedGroups.add(group);
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  recordFanoutStats(stats);
  return { batchItemFailures };
});
