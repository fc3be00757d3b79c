/**
 * Fan-out worker: delivers hot topics' jobs from the fan-out FIFO queue, one shard of subscribers
 * per job (lambdas/shared/realtime/fanout.ts). Powertools' FIFO batch processor handles the jobs of
 * a message group in order and, with `skipGroupOnError`, reports a failed job and every later job
 * of its group as failures while other groups go on: SQS then returns them in order (a FIFO
 * partial batch response must never let a later job of the group succeed past an earlier one). A
 * job that does not parse is logged and dropped: retrying cannot fix it.
 *
 * A queue consumer, not a route: `instrument` wraps it, the batch processor answers.
 *
 * Relies on: REALTIME_TABLE_NAME (read/write), WEBSOCKET_CALLBACK_URL (ManageConnections).
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { z } from 'zod';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { emptyStats, fanoutJobSchema, type FanoutJob, type FanoutStats } from '../shared/realtime/fanout';
import { recordFanoutStats } from '../shared/realtime/fanout-metrics';
import { fanoutFromEnvironment } from '../shared/realtime/fanout-wiring';

const fanout = fanoutFromEnvironment({
  // Workers never enqueue: they only deliver jobs.
  jobs: { enqueue: () => Promise.reject(new Error('The fan-out worker does not enqueue jobs')) },
});

const recordSchema = z.looseObject({
  messageId: z.string(),
  body: z.string(),
  attributes: z.looseObject({ MessageGroupId: z.string().optional() }),
});
type JobRecord = z.infer<typeof recordSchema>;
const eventSchema = z.object({ Records: z.array(recordSchema) });

// One processor for the function's life, as Powertools intends: `process()` clears the failed
// groups of the last batch before it starts, and a Lambda instance runs one batch at a time.
const processor = new SqsFifoPartialProcessorAsync();

async function deliver(record: JobRecord, stats: FanoutStats): Promise<void> {
  let job: FanoutJob;
  try {
    job = fanoutJobSchema.parse(JSON.parse(record.body));
  } catch (error) {
    logger.error('Fan-out job dropped: it does not parse', { messageId: record.messageId, error: error as Error });
    metrics.addMetric('JobDropped', MetricUnit.Count, 1);
    return;
  }
  try {
    await fanout.deliverJob(job, stats);
  } catch (error) {
    logger.error('Fan-out job failed; it is retried', { topic: job.topic, shard: job.shard, error: error as Error });
    throw error;
  }
}

export const handler = instrument<unknown, SQSBatchResponse>(async (event, context) => {
  const { Records } = eventSchema.parse(event);
  const stats = emptyStats();
  const response = await processPartialResponse({ Records }, (record: JobRecord) => deliver(record, stats), processor, {
    context,
    skipGroupOnError: true,
    // A batch that failed whole is answered like any other (every record named), not thrown.
    throwOnFullBatchFailure: false,
  });
  recordFanoutStats(stats);
  return response;
});
