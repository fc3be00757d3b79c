/**
 * Daily reconciliation (a Scheduler cron schedule invokes it): enqueues on the charge queue every
 * subscription whose due time passed without its job having run (reconciliation.ts).
 *
 * Relies on: DOMAIN_TABLE_NAME (read, DueIndex query), CHARGE_QUEUE_URL (send).
 */
import { DynamoSubscriptionStore } from '../shared/billing/dynamo-subscriptions';
import { reconcileDue } from '../shared/billing/reconciliation';
import { SqsDueJobQueue } from '../shared/billing/scheduler-due-jobs';
import { systemClock } from '../shared/clock';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';

const subscriptions = new DynamoSubscriptionStore(createDocumentClient(), requireEnv('DOMAIN_TABLE_NAME'));
const queue = SqsDueJobQueue.fromEnvironment();

export const handler = instrument(async () => {
  const enqueued = await reconcileDue(subscriptions, queue, systemClock);
  logger.info('Reconciliation done', { enqueued });
  metrics.addMetric('ReconciledDueJobs', MetricUnit.Count, enqueued);
  return { enqueued };
});
