/**
 * Stand-ins for notifications' ports, for unit tests of the notifier (notifications.ts): an
 * in-memory ledger keeping the contract the DynamoDB adapter keeps (one claim per user and
 * notice, created with its notification in one step; the email claimed once), a mailer that
 * records what it sent and can be told to fail, and one valid notice of every template. The
 * adapter itself is tested against DynamoDB Local (test/integration/notifications-store.test.ts).
 */
import type { Notice } from '../../lambdas/shared/notifications/notices';
import {
  type CreateOutcome,
  type EmailRecord,
  MailRefused,
  type Mailer,
  type NoticeLedger,
  type Notification,
  type OutgoingEmail,
  type Recipient,
  type Recipients,
} from '../../lambdas/shared/notifications/notifications';

const userId = 'user-1';

/** One valid notice of every template (all for `user-1`). */
export const SAMPLES: { readonly [T in Notice['template']]: Extract<Notice, { template: T }> } = {
  payment_failed: {
    noticeId: 'dunning:sub_1:2026-02-01T10:00:00.000Z:failed',
    userId,
    template: 'payment_failed',
    data: { planId: 'basic-monthly', amount: 999, currency: 'USD', nextRetryAt: '2026-02-02T10:00:00.000Z' },
  },
  payment_reminder: {
    noticeId: 'dunning:sub_1:2026-02-01T10:00:00.000Z:reminder:3',
    userId,
    template: 'payment_reminder',
    data: { planId: 'basic-monthly', amount: 999, currency: 'USD', daysLeft: 4, nextRetryAt: '2026-02-06T10:00:00.000Z' },
  },
  subscription_expired: {
    noticeId: 'dunning:sub_1:2026-02-01T10:00:00.000Z:expired',
    userId,
    template: 'subscription_expired',
    data: { planId: 'pro-monthly' },
  },
  subscription_recovered: {
    noticeId: 'dunning:sub_1:2026-02-01T10:00:00.000Z:recovered',
    userId,
    template: 'subscription_recovered',
    data: { planId: 'basic-monthly', currentPeriodEnd: '2026-03-01T10:00:00.000Z' },
  },
  renewal_receipt: {
    noticeId: 'receipt:pay_123',
    userId,
    template: 'renewal_receipt',
    data: { planId: 'pro-yearly', amount: 29_000, currency: 'USD', paymentId: 'pay_123', currentPeriodEnd: '2027-02-01T10:00:00.000Z' },
  },
};

interface Claim {
  notificationId: string;
  emailClaim?: string;
  emailRecord?: EmailRecord;
  refusals: number;
}

/** Every call yields to the event loop first, so parallel deliveries really interleave. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class MemoryLedger implements NoticeLedger {
  readonly notifications = new Map<string, Notification>();
  readonly claims = new Map<string, Claim>();
  /** Makes the next calls of a method throw, standing for DynamoDB failing or the function dying. */
  readonly failNext: Partial<Record<keyof NoticeLedger, number>> = {};

  async createOnce(notification: Notification): Promise<CreateOutcome> {
    await this.step('createOnce');
    const key = `${notification.userId}\u0000${notification.noticeId}`;
    const claim = this.claims.get(key);
    if (claim) return { inApp: 'duplicate', notificationId: claim.notificationId };
    this.claims.set(key, { notificationId: notification.id, refusals: 0 });
    this.notifications.set(notification.id, notification);
    return { inApp: 'created', notificationId: notification.id };
  }

  async claimEmail(userId: string, noticeId: string, token: string): Promise<boolean> {
    await this.step('claimEmail');
    const claim = this.claims.get(`${userId}\u0000${noticeId}`);
    if (!claim || claim.emailClaim !== undefined) return false;
    claim.emailClaim = token;
    return true;
  }

  async releaseEmail(userId: string, noticeId: string, token: string): Promise<void> {
    await this.step('releaseEmail');
    const claim = this.claims.get(`${userId}\u0000${noticeId}`);
    if (claim?.emailClaim === token && claim.emailRecord === undefined) {
      claim.emailClaim = undefined;
      claim.refusals++;
    }
  }

  async recordEmail(userId: string, noticeId: string, token: string, record: EmailRecord): Promise<void> {
    await this.step('recordEmail');
    const claim = this.claims.get(`${userId}\u0000${noticeId}`);
    if (claim?.emailClaim === token) claim.emailRecord = record;
  }

  claimOf(notice: Notice): Claim | undefined {
    return this.claims.get(`${notice.userId}\u0000${notice.noticeId}`);
  }

  private async step(method: keyof NoticeLedger): Promise<void> {
    await tick();
    const left = this.failNext[method] ?? 0;
    if (left > 0) {
      this.failNext[method] = left - 1;
      throw new Error(`${method} failed`);
    }
  }
}

/** How the next sends fail: SES refusing (nothing sent) or an outcome nobody knows (it may have been sent). */
export type MailFailure = 'refused' | 'timeout';

export class MemoryMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  /** Failures of the next sends, in order. */
  readonly failures: MailFailure[] = [];

  async send(email: OutgoingEmail): Promise<{ messageId: string }> {
    await tick();
    const failure = this.failures.shift();
    if (failure === 'refused') throw new MailRefused('TooManyRequestsException', 'Maximum sending rate exceeded');
    // A timeout after SES took the request: the email did go out, and the caller cannot know.
    this.sent.push(email);
    if (failure === 'timeout') throw Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    return { messageId: `msg-${this.sent.length}` };
  }
}

export class MemoryRecipients implements Recipients {
  readonly users = new Map<string, Recipient>([['user-1', { email: 'ada@example.com', name: 'Ada' }]]);

  async find(userId: string): Promise<Recipient | undefined> {
    await tick();
    return this.users.get(userId);
  }
}
