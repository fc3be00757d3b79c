/**
 * The notification adapters that need no local service to test: the SES mailer (what it sends,
 * and how it sorts SES's failures into "nothing was sent" and "unknown") and the producers' SQS
 * sender (it validates before sending). Fake clients record the commands.
 */
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { MailRefused } from '../../lambdas/shared/notifications/notifications';
import { SesMailer } from '../../lambdas/shared/notifications/ses-mailer';
import { SqsNoticeSender, sendNotice } from '../../lambdas/shared/notifications/sqs-notices';
import { SAMPLES } from '../support/notification-fakes';

const email = { to: 'ada@example.com', subject: 'Payment failed', text: 'Hi Ada,', html: '<p>Hi Ada,</p>' };

function sesFailing(error: Error & { $metadata?: { httpStatusCode?: number } }) {
  return {
    send: async () => {
      throw error;
    },
  };
}

const awsError = (name: string, httpStatusCode?: number) =>
  Object.assign(new Error(`${name} happened`), { name, ...(httpStatusCode === undefined ? {} : { $metadata: { httpStatusCode } }) });

describe('SesMailer', () => {
  it('sends simple content in UTF-8 from the sender to the one recipient', async () => {
    const sent: unknown[] = [];
    const mailer = new SesMailer(
      {
        send: async (command: unknown) => {
          sent.push(command);
          return { MessageId: 'm-1', $metadata: {} };
        },
      } as never,
      'noreply@example.com',
    );
    expect(await mailer.send(email)).toEqual({ messageId: 'm-1' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(SendEmailCommand);
    expect((sent[0] as SendEmailCommand).input).toEqual({
      FromEmailAddress: 'noreply@example.com',
      Destination: { ToAddresses: ['ada@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Payment failed', Charset: 'UTF-8' },
          Body: { Text: { Data: 'Hi Ada,', Charset: 'UTF-8' }, Html: { Data: '<p>Hi Ada,</p>', Charset: 'UTF-8' } },
        },
      },
    });
  });

  it('calls a 4xx a refusal (nothing was sent): throttling, an unverified sender, a rejected message', async () => {
    for (const [name, status] of [
      ['TooManyRequestsException', 429],
      ['MessageRejected', 400],
      ['SendingPausedException', 400],
      ['NotFoundException', 404],
    ] as const) {
      const failure = await new SesMailer(sesFailing(awsError(name, status)) as never, 'noreply@example.com').send(email).catch((e) => e);
      expect(failure, name).toBeInstanceOf(MailRefused);
      expect((failure as MailRefused).code).toBe(name);
    }
  });

  it('lets anything else through as it is: a 5xx, a timeout or a broken connection leave the outcome unknown', async () => {
    for (const error of [
      awsError('InternalFailure', 500),
      awsError('ServiceUnavailable', 503),
      awsError('TimeoutError'),
      awsError('ECONNRESET'),
    ]) {
      const failure = await new SesMailer(sesFailing(error) as never, 'noreply@example.com').send(email).catch((e) => e);
      expect(failure).toBe(error);
      expect(failure).not.toBeInstanceOf(MailRefused);
    }
  });
});

describe('sending a notice', () => {
  it('validates the notice and sends it as the message body', async () => {
    const sent: SendMessageCommand[] = [];
    const client = {
      send: async (command: SendMessageCommand) => {
        sent.push(command);
        return {};
      },
    };
    await sendNotice(client as never, 'https://sqs.example/notices', SAMPLES.payment_reminder);
    await SqsNoticeSender.fromEnvironment(client as never, { NOTIFICATION_QUEUE_URL: 'https://sqs.example/q2' }).send(
      SAMPLES.renewal_receipt,
    );
    expect(sent.map((c) => [c.input.QueueUrl, JSON.parse(c.input.MessageBody!)])).toEqual([
      ['https://sqs.example/notices', SAMPLES.payment_reminder],
      ['https://sqs.example/q2', SAMPLES.renewal_receipt],
    ]);
    const bad = { ...SAMPLES.payment_failed, noticeId: 'no spaces allowed' };
    await expect(sendNotice(client as never, 'https://sqs.example/notices', bad)).rejects.toThrow(/noticeId/);
    expect(sent).toHaveLength(2);
    expect(() => SqsNoticeSender.fromEnvironment(client as never, {})).toThrow(/NOTIFICATION_QUEUE_URL/);
  });
});
