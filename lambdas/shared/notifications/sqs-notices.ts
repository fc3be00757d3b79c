/**
 * How a producer sends a notice (notices.ts) to the notification queue: validated first, so a
 * producer's mistake fails where it is made, not as a dropped message in the notifier.
 *
 *   const notices = SqsNoticeSender.fromEnvironment(new SQSClient({}));   // NOTIFICATION_QUEUE_URL
 *   await notices.send({ noticeId: `dunning:${id}:${periodEnd}:failed`, userId, template: 'payment_failed', data });
 *
 * The function needs `sqs:SendMessage` on the queue and the variable: `Notifications.bindNoticeSender(fn)`
 * gives both (lib/constructs/notifications.ts). A Step Functions state sends the same JSON with
 * the `sqs:sendMessage` integration (docs/notifications.md).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { requireEnv } from '../env';
import { noticeSchema, type Notice, type NoticeSender } from './notices';

/** The variable that carries the queue's URL to a producer. */
export const NOTIFICATION_QUEUE_URL_ENV = 'NOTIFICATION_QUEUE_URL';

/** Validates `notice` and sends it to the queue at `queueUrl` (one SendMessage). */
export async function sendNotice(client: Pick<SQSClient, 'send'>, queueUrl: string, notice: Notice): Promise<void> {
  const valid = noticeSchema.parse(notice);
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(valid) }));
}

export class SqsNoticeSender implements NoticeSender {
  constructor(
    private readonly client: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
  ) {}

  static fromEnvironment(client: Pick<SQSClient, 'send'>, env: NodeJS.ProcessEnv = process.env): SqsNoticeSender {
    return new SqsNoticeSender(client, requireEnv(NOTIFICATION_QUEUE_URL_ENV, env));
  }

  send(notice: Notice): Promise<void> {
    return sendNotice(this.client, this.queueUrl, notice);
  }
}
