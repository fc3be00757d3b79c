/**
 * In-app notifications and the delivery of a notice, at most once per notice (DESIGN.md section
 * 7; docs/notifications.md). Free of AWS: the ledger (dynamo-notifications.ts), the mailer
 * (ses-mailer.ts) and the recipients (identity's user store) come in as interfaces.
 *
 * `Notifier.deliver(notice)`, run for every delivery of a queue message:
 *
 * 1. In-app: the notification item and the notice's claim are written together, on condition that
 *    the claim does not exist (one transaction). A repeat of the notice writes nothing: one item
 *    per notice, and exactly one once any delivery got this far.
 * 2. Email: rendered first, then claimed on the notice's claim (a conditional update: only the
 *    first claim wins), then sent. A repeat finds it claimed and sends nothing, whether or not the
 *    first one's send completed. SES's SendEmail has no idempotency token, so a send that may or
 *    may not have happened (a crash after the claim, a timeout, a 5xx) is never repeated: the email
 *    is sent at most once, and the claim records what is known (`unknown` until a message id is
 *    recorded). Only a refusal that says SES sent nothing (`MailRefused`: a 4xx such as
 *    throttling, an unverified sender, a suspended account) releases the claim and fails the
 *    message, so the queue retries it and, after its receive count, dead-letters it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { epochSeconds, type Clock } from '../clock';
import type { Notice, TemplateName } from './notices';
import { renderEmail, renderInApp, type EmailContent, type NotificationKind } from './templates';

/** How long a notification (and its notice's claim) is kept: DynamoDB's TTL deletes it after. */
export const NOTIFICATION_TTL_DAYS = 90;

/** Ids are 12 hex digits of the creation time in ms, then 16 of a hash: they sort by time. */
export const NOTIFICATION_ID_PATTERN = /^[0-9a-f]{28}$/;

export interface Notification {
  readonly id: string;
  readonly userId: string;
  /** The notice it came from (the idempotency key). */
  readonly noticeId: string;
  readonly template: TemplateName;
  readonly kind: NotificationKind;
  readonly title: string;
  readonly body: string;
  readonly createdAt: string;
  readonly read: boolean;
  readonly readAt?: string;
}

/** What a client sees of a notification: `GET /notifications` and `notification.created`. */
export interface NotificationView {
  readonly id: string;
  readonly kind: NotificationKind;
  readonly template: TemplateName;
  readonly title: string;
  readonly body: string;
  readonly createdAt: string;
  readonly read: boolean;
  readonly readAt?: string;
}

export function notificationView(n: Notification): NotificationView {
  return {
    id: n.id,
    kind: n.kind,
    template: n.template,
    title: n.title,
    body: n.body,
    createdAt: n.createdAt,
    read: n.read,
    ...(n.readAt !== undefined ? { readAt: n.readAt } : {}),
  };
}

/** The id of the notification a notice creates at `at`: newest sorts last, descending queries first. */
export function notificationId(at: Date, userId: string, noticeId: string): string {
  const time = at.getTime().toString(16).padStart(12, '0');
  return time + createHash('sha256').update(`${userId}\u0000${noticeId}`).digest('hex').slice(0, 16);
}

export interface NotificationPage {
  readonly notifications: readonly Notification[];
  /** Opaque position after the last one; undefined at the end. */
  readonly next?: string;
}

export interface MarkReadResult {
  /** Ids now read (including those read before). */
  readonly read: readonly string[];
  /** Ids that are not among the caller's notifications (never existed, expired, or another user's). */
  readonly unknown: readonly string[];
}

/** A user's notifications: the routes' side of the ledger. */
export interface NotificationStore {
  /** Newest first. `after` is a `next` of an earlier page of the same user (400 otherwise). */
  list(userId: string, limit: number, after?: string): Promise<NotificationPage>;
  /** Marks the user's own notifications read; never touches another user's. */
  markRead(userId: string, ids: readonly string[], at: Date): Promise<MarkReadResult>;
}

export interface CreateOutcome {
  readonly inApp: 'created' | 'duplicate';
  readonly notificationId: string;
}

/** What is known of a claimed email, once the send returned or failed. */
export type EmailRecord = { readonly status: 'sent'; readonly messageId: string } | { readonly status: 'unknown'; readonly error: string };

/** The notifier's side: one claim per user and notice, holding both parts' state. */
export interface NoticeLedger {
  /**
   * Writes the notification and the notice's claim in one step, unless the notice has a claim:
   * then nothing is written and the answer is `duplicate`, with the id of the notification the
   * first delivery created.
   */
  createOnce(notification: Notification, expiresAt: number): Promise<CreateOutcome>;
  /** Claims the notice's email for `token`; false when it was claimed before (by anyone). */
  claimEmail(userId: string, noticeId: string, token: string, at: Date): Promise<boolean>;
  /** Gives the claim up, if `token` still holds it: only after SES refused the email. */
  releaseEmail(userId: string, noticeId: string, token: string): Promise<void>;
  /** Records the email's outcome on the claim `token` holds. */
  recordEmail(userId: string, noticeId: string, token: string, record: EmailRecord, at: Date): Promise<void>;
}

export interface Recipient {
  readonly email: string;
  readonly name?: string;
}

export interface Recipients {
  /** The user's address, or undefined when there is no such user. */
  find(userId: string): Promise<Recipient | undefined>;
}

export interface OutgoingEmail extends EmailContent {
  readonly to: string;
}

export interface Mailer {
  /** Sends once, never retrying by itself. Throws `MailRefused` when nothing was sent. */
  send(email: OutgoingEmail): Promise<{ readonly messageId: string }>;
}

/** The mail service answered that it sent nothing (a 4xx): the email may be tried again. */
export class MailRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MailRefused';
  }
}

export type EmailOutcome = 'sent' | 'duplicate' | 'no_recipient' | 'unknown';

export interface DeliveryOutcome {
  readonly notificationId: string;
  readonly inApp: 'created' | 'duplicate';
  readonly email: EmailOutcome;
}

export interface NotifierOptions {
  readonly ledger: NoticeLedger;
  readonly recipients: Recipients;
  readonly mailer: Mailer;
  readonly clock: Clock;
  /** Heard of a failure the delivery goes on without (recording an email's outcome). */
  readonly onProblem?: (problem: string, error: unknown, notice: Notice) => void;
  /** @default randomUUID */
  readonly newToken?: () => string;
}

export class Notifier {
  private readonly newToken: () => string;

  constructor(private readonly options: NotifierOptions) {
    this.newToken = options.newToken ?? randomUUID;
  }

  async deliver(notice: Notice): Promise<DeliveryOutcome> {
    const { ledger, recipients, mailer, clock } = this.options;
    const now = clock();
    const notification: Notification = {
      id: notificationId(now, notice.userId, notice.noticeId),
      userId: notice.userId,
      noticeId: notice.noticeId,
      template: notice.template,
      ...renderInApp(notice),
      createdAt: now.toISOString(),
      read: false,
    };
    const created = await ledger.createOnce(notification, epochSeconds(now) + NOTIFICATION_TTL_DAYS * 24 * 60 * 60);
    const outcome = (email: EmailOutcome): DeliveryOutcome => ({ ...created, email });

    // Everything that can fail without consequence happens before the claim: after it, only the send.
    const recipient = await recipients.find(notice.userId);
    if (!recipient) return outcome('no_recipient');
    const email: OutgoingEmail = { to: recipient.email, ...renderEmail(notice, recipient) };
    const token = this.newToken();
    if (!(await ledger.claimEmail(notice.userId, notice.noticeId, token, now))) return outcome('duplicate');

    let record: EmailRecord;
    try {
      const { messageId } = await mailer.send(email);
      record = { status: 'sent', messageId };
    } catch (error) {
      if (error instanceof MailRefused) {
        // Nothing was sent: free the claim, and let the queue bring the notice back.
        await ledger.releaseEmail(notice.userId, notice.noticeId, token);
        throw error;
      }
      record = { status: 'unknown', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      this.options.onProblem?.('Email outcome unknown: it is not sent again (at most once)', error, notice);
    }
    try {
      await ledger.recordEmail(notice.userId, notice.noticeId, token, record, clock());
    } catch (error) {
      // The claim is what prevents a second send; the record only says how the first one went.
      this.options.onProblem?.('Email outcome not recorded', error, notice);
    }
    return outcome(record.status);
  }
}
