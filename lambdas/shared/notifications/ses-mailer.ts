/**
 * The mailer on SES v2 (`SendEmail`, simple content: subject, text and HTML in UTF-8), from one
 * verified sender identity (NOTIFICATIONS_FROM_ADDRESS; the `AWS::SES::EmailIdentity` of the
 * Notifications construct).
 *
 * SendEmail has no idempotency token, so the client never retries by itself (`maxAttempts: 1`):
 * a retry after a timeout or a 5xx could send the email a second time. Each failure is sorted
 * instead: an error response with a 4xx status means SES refused the request and sent nothing
 * (`MailRefused`: throttling, an unverified sender or recipient, a suspended account), which the
 * notifier may try again later; anything else (a timeout, a reset connection, a 5xx) leaves it
 * unknown whether the email went out, and the notifier does not send it again.
 *
 * Every SendEmail opens its own connection (no keep-alive). A pooled connection that the server
 * closes as idle just when it is reused fails with "socket hang up" or ECONNRESET before the
 * request reaches SES; with retries off that is an email lost as "unknown". The dunning storm
 * lost 23 of 4,300 emails that way against the local cloud (bench/results/dunning-storm.json);
 * a new connection per email costs a handshake, which an email can afford.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { MailRefused, type Mailer, type OutgoingEmail } from './notifications';

/** How long one SendEmail may take before its outcome is given up as unknown. */
const REQUEST_TIMEOUT_MS = 10_000;

export function createSesClient(): SESv2Client {
  return new SESv2Client({
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionTimeout: 3_000,
      httpAgent: new HttpAgent({ keepAlive: false }),
      httpsAgent: new HttpsAgent({ keepAlive: false }),
    },
  });
}

export class SesMailer implements Mailer {
  constructor(
    private readonly client: Pick<SESv2Client, 'send'>,
    private readonly fromAddress: string,
  ) {}

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    const charset = 'UTF-8';
    try {
      const out = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: this.fromAddress,
          Destination: { ToAddresses: [email.to] },
          Content: {
            Simple: {
              Subject: { Data: email.subject, Charset: charset },
              Body: { Text: { Data: email.text, Charset: charset }, Html: { Data: email.html, Charset: charset } },
            },
          },
        }),
      );
      // A 200 without a message id does not happen; say so rather than record an empty id.
      return { messageId: out.MessageId ?? '(none)' };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        throw new MailRefused((error as Error).name, (error as Error).message);
      }
      throw error;
    }
  }
}
