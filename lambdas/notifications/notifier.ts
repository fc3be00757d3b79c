/**
 * The notifier: takes notices from the notification queue (DESIGN.md section 7;
 * docs/notifications.md) and delivers each at most once per notice: an in-app notification
 * (which reaches `user:{id}` through the stream, not from here) and an email through SES v2
 * (shared/notifications/notifications.ts says how, and why at most once).
 *
 * A message is a notice (notices.ts), or an event a rule sends from the event bus: the
 * `Payment.Succeeded` of a renewal, which becomes a `renewal_receipt` notice (receipts.ts), or a
 * `Subscription.Recovered`, which becomes a `subscription_recovered` notice (recoveries.ts).
 * A message that is neither is logged and dropped with the `NoticeDropped` metric: retrying
 * cannot fix it. A delivery that fails (DynamoDB, SES refusing for now) is reported as a batch item
 * failure: SQS returns it after the visibility timeout, and after `maxReceiveCount` receives it is
 * dead-lettered (alarm); its repeat creates nothing twice.
 *
 * A queue consumer, not a route: `instrument` wraps it, Powertools' batch processor answers.
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write), NOTIFICATIONS_FROM_ADDRESS, ses:SendEmail on it.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { z } from 'zod';
import { noticeSchema, type Notice } from '../shared/notifications/notices';
import { MailRefused } from '../shared/notifications/notifications';
import { isEventBridgeEvent, receiptEventSchema, receiptNotice } from '../shared/notifications/receipts';
import { recoveredEventSchema, recoveredNotice } from '../shared/notifications/recoveries';
import { notifierFromEnvironment } from '../shared/notifications/wiring';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';
import { fieldIssues } from '../shared/validation';

const { notifier, subscriptionOf } = notifierFromEnvironment();

const recordSchema = z.looseObject({ messageId: z.string(), body: z.string() });
type NoticeRecord = z.infer<typeof recordSchema>;
const eventSchema = z.object({ Records: z.array(recordSchema) });

const processor = new BatchProcessor(EventType.SQS);

function drop(record: NoticeRecord, reason: string, issues?: z.ZodError): undefined {
  // Field paths and messages only: the values are the producer's data.
  logger.error('Notice dropped: it does not parse', { messageId: record.messageId, reason, issues: issues && fieldIssues(issues) });
  metrics.addMetric('NoticeDropped', MetricUnit.Count, 1);
  return undefined;
}

/** The notice a message carries; undefined when it is dropped or skipped (logged here). */
async function noticeOf(record: NoticeRecord): Promise<Notice | undefined> {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return drop(record, 'not JSON');
  }
  if (!isEventBridgeEvent(body)) {
    const notice = noticeSchema.safeParse(body);
    return notice.success ? notice.data : drop(record, 'not a notice', notice.error);
  }
  const recovered = recoveredEventSchema.safeParse(body);
  if (recovered.success)
    return recoveredNotice(recovered.data.detail) ?? drop(record, 'a Subscription.Recovered event without a period end');
  const event = receiptEventSchema.safeParse(body);
  if (!event.success) return drop(record, 'not a Payment.Succeeded or Subscription.Recovered event', event.error);
  const { detail } = event.data;
  const receipt = receiptNotice(detail, await subscriptionOf(detail.userId));
  if (receipt.kind === 'notice') return receipt.notice;
  logger.info('Receipt skipped', { paymentId: detail.paymentId, reason: receipt.reason });
  metrics.addMetric('ReceiptSkipped', MetricUnit.Count, 1);
  return undefined;
}

async function run(record: NoticeRecord): Promise<void> {
  const notice = await noticeOf(record);
  if (!notice) return;
  const about = { noticeId: notice.noticeId, userId: notice.userId, template: notice.template };
  try {
    const outcome = await notifier.deliver(notice);
    logger.info('Notice delivered', { ...about, ...outcome });
    metrics.addMetric(`NoticeInApp_${outcome.inApp}`, MetricUnit.Count, 1);
    metrics.addMetric(`NoticeEmail_${outcome.email}`, MetricUnit.Count, 1);
  } catch (error) {
    // SES refusing for now (throttling, a sender being verified) is expected to pass: a warning.
    if (error instanceof MailRefused) logger.warn('Email refused by SES; the notice is retried', { ...about, code: error.code });
    else logger.error('Notice failed; it is retried', { ...about, error: error as Error });
    metrics.addMetric('NoticeRetried', MetricUnit.Count, 1);
    throw error;
  }
}

export const handler = instrument<unknown, SQSBatchResponse>(async (event, context) => {
  const { Records } = eventSchema.parse(event);
  return processPartialResponse({ Records }, run, processor, { context, throwOnFullBatchFailure: false });
});
