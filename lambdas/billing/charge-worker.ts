/**
 * Charge worker: runs billing's due jobs from the charge queue (renewals, period-end cancels,
 * expiries of `incomplete` subscriptions; billing-service.ts `processDue`). Idempotent per
 * subscription and due time, so a duplicate delivery or a job the reconciliation enqueued again
 * does nothing twice. A job that must wait (every provider down, a payment by the user under way)
 * is reported as a batch item failure: SQS returns it after the visibility timeout, and after
 * `maxReceiveCount` receives it is dead-lettered (alarm). A job that does not parse is logged and
 * dropped: retrying cannot fix it.
 *
 * A queue consumer, not a route: `instrument` wraps it, Powertools' batch processor answers.
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write), the due-job settings of scheduler-due-jobs.ts.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { z } from 'zod';
import { dueJobSchema, type DueJob } from '../shared/billing/due-jobs';
import { billingFromEnvironment } from '../shared/billing/wiring';
import { AppError } from '../shared/errors';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';

const { billing } = billingFromEnvironment();

const recordSchema = z.looseObject({ messageId: z.string(), body: z.string() });
type JobRecord = z.infer<typeof recordSchema>;
const eventSchema = z.object({ Records: z.array(recordSchema) });

const processor = new BatchProcessor(EventType.SQS);

async function run(record: JobRecord): Promise<void> {
  let job: DueJob;
  try {
    job = dueJobSchema.parse(JSON.parse(record.body));
  } catch (error) {
    logger.error('Due job dropped: it does not parse', { messageId: record.messageId, error: error as Error });
    metrics.addMetric('DueJobDropped', MetricUnit.Count, 1);
    return;
  }
  try {
    const outcome = await billing.processDue(job);
    logger.info('Due job', { subscriptionId: job.subscriptionId, dueAt: job.dueAt, outcome });
    metrics.addMetric(`DueJob_${outcome}`, MetricUnit.Count, 1);
  } catch (error) {
    // Providers down or a charge under way is expected to pass: a warning, not an error.
    if (error instanceof AppError) logger.warn('Due job retried later', { subscriptionId: job.subscriptionId, code: error.code });
    else logger.error('Due job failed; it is retried', { subscriptionId: job.subscriptionId, error: error as Error });
    metrics.addMetric('DueJobRetried', MetricUnit.Count, 1);
    throw error;
  }
}

export const handler = instrument<unknown, SQSBatchResponse>(async (event, context) => {
  const { Records } = eventSchema.parse(event);
  return processPartialResponse({ Records }, run, processor, { context, throwOnFullBatchFailure: false });
});
