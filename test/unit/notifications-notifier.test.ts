/**
 * Once per notice (lambdas/shared/notifications/notifications.ts) with in-memory fakes: however
 * often a notice arrives, and whatever fails on the way, one in-app notification, and at most one
 * email (exactly one unless SES's outcome was unknown). Also the renewal receipt mapping
 * (receipts.ts) and the live frame (live.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Subscription } from '../../lambdas/shared/billing/subscription';
import type { DomainChange } from '../../lambdas/shared/cdc/change';
import { PAYMENT_SUCCEEDED, type PaymentDetail } from '../../lambdas/shared/events/catalog';
import { NOTIFICATION_TOPIC_SOURCES } from '../../lambdas/shared/notifications/live';
import type { Notice } from '../../lambdas/shared/notifications/notices';
import { MailRefused, NOTIFICATION_ID_PATTERN, notificationId, Notifier } from '../../lambdas/shared/notifications/notifications';
import { isEventBridgeEvent, receiptEventSchema, receiptNotice } from '../../lambdas/shared/notifications/receipts';
import { TOPIC_SOURCES, topicEventsForChange } from '../../lambdas/shared/realtime/cdc';
import { MemoryLedger, MemoryMailer, MemoryRecipients, SAMPLES } from '../support/notification-fakes';

const T0 = new Date('2026-02-01T10:00:00.000Z');

function setup() {
  const ledger = new MemoryLedger();
  const mailer = new MemoryMailer();
  const recipients = new MemoryRecipients();
  const problems: string[] = [];
  let now = T0.getTime();
  const notifier = new Notifier({
    ledger,
    mailer,
    recipients,
    clock: () => new Date(now),
    onProblem: (problem) => problems.push(problem),
  });
  return {
    ledger,
    mailer,
    recipients,
    problems,
    notifier,
    /** Moves the clock: a redelivery happens later than the first delivery. */
    later: (ms = 30_000) => {
      now += ms;
    },
  };
}

describe('Notifier.deliver', () => {
  it('creates the in-app notification and sends the email to the user', async () => {
    const { notifier, ledger, mailer } = setup();
    const outcome = await notifier.deliver(SAMPLES.payment_failed);
    expect(outcome).toEqual({ inApp: 'created', email: 'sent', notificationId: expect.stringMatching(NOTIFICATION_ID_PATTERN) });
    expect([...ledger.notifications.values()]).toEqual([
      {
        id: outcome.notificationId,
        userId: 'user-1',
        noticeId: SAMPLES.payment_failed.noticeId,
        template: 'payment_failed',
        kind: 'billing',
        title: 'Payment failed',
        body: expect.stringContaining('the payment of $9.99 was declined'),
        createdAt: T0.toISOString(),
        read: false,
      },
    ]);
    expect(mailer.sent).toEqual([
      { to: 'ada@example.com', subject: 'Payment failed', text: expect.stringMatching(/^Hi Ada,/), html: expect.stringContaining('<p>') },
    ]);
    expect(ledger.claimOf(SAMPLES.payment_failed)?.emailRecord).toEqual({ status: 'sent', messageId: 'msg-1' });
  });

  it('does nothing more for the same notice delivered again, later', async () => {
    const { notifier, ledger, mailer, later } = setup();
    const first = await notifier.deliver(SAMPLES.payment_reminder);
    later();
    const again = await notifier.deliver(SAMPLES.payment_reminder);
    expect(again).toEqual({ inApp: 'duplicate', email: 'duplicate', notificationId: first.notificationId });
    expect(ledger.notifications.size).toBe(1);
    expect(mailer.sent).toHaveLength(1);
  });

  it('creates one notification and sends one email for 50 parallel deliveries of a notice', async () => {
    const { notifier, ledger, mailer } = setup();
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => notifier.deliver(SAMPLES.renewal_receipt)));
    expect(outcomes.filter((o) => o.inApp === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o.email === 'sent')).toHaveLength(1);
    expect(new Set(outcomes.map((o) => o.notificationId)).size).toBe(1);
    expect(ledger.notifications.size).toBe(1);
    expect(mailer.sent).toHaveLength(1);
  });

  it('treats other notices as other notices: another id, another template, another user', async () => {
    const { notifier, ledger, mailer, recipients } = setup();
    recipients.users.set('user-2', { email: 'grace@example.com' });
    await notifier.deliver(SAMPLES.payment_reminder);
    await notifier.deliver({ ...SAMPLES.payment_reminder, noticeId: 'dunning:sub_1:2026-02-01T10:00:00.000Z:reminder:5' });
    await notifier.deliver(SAMPLES.subscription_expired);
    await notifier.deliver({ ...SAMPLES.subscription_expired, userId: 'user-2' });
    expect(ledger.notifications.size).toBe(4);
    expect(mailer.sent.map((m) => m.to)).toEqual(['ada@example.com', 'ada@example.com', 'ada@example.com', 'grace@example.com']);
    expect(mailer.sent[3]!.text.startsWith('Hello,')).toBe(true);
  });

  it('sends the email on the redelivery when the first delivery failed after the in-app part', async () => {
    const { notifier, ledger, mailer } = setup();
    ledger.failNext.claimEmail = 1;
    await expect(notifier.deliver(SAMPLES.subscription_recovered)).rejects.toThrow('claimEmail failed');
    expect(ledger.notifications.size).toBe(1);
    expect(mailer.sent).toHaveLength(0);
    expect(await notifier.deliver(SAMPLES.subscription_recovered)).toMatchObject({ inApp: 'duplicate', email: 'sent' });
    expect(ledger.notifications.size).toBe(1);
    expect(mailer.sent).toHaveLength(1);
  });

  it('creates nothing when the in-app write fails, and everything once on the redelivery', async () => {
    const { notifier, ledger, mailer } = setup();
    ledger.failNext.createOnce = 1;
    await expect(notifier.deliver(SAMPLES.payment_failed)).rejects.toThrow('createOnce failed');
    expect(ledger.notifications.size + mailer.sent.length).toBe(0);
    expect(await notifier.deliver(SAMPLES.payment_failed)).toMatchObject({ inApp: 'created', email: 'sent' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('gives the claim back when SES refused (nothing was sent), so the redelivery sends it once', async () => {
    const { notifier, ledger, mailer } = setup();
    mailer.failures.push('refused', 'refused');
    await expect(notifier.deliver(SAMPLES.payment_failed)).rejects.toBeInstanceOf(MailRefused);
    await expect(notifier.deliver(SAMPLES.payment_failed)).rejects.toBeInstanceOf(MailRefused);
    expect(mailer.sent).toHaveLength(0);
    expect(await notifier.deliver(SAMPLES.payment_failed)).toMatchObject({ inApp: 'duplicate', email: 'sent' });
    expect(await notifier.deliver(SAMPLES.payment_failed)).toMatchObject({ inApp: 'duplicate', email: 'duplicate' });
    expect(mailer.sent).toHaveLength(1);
    expect(ledger.claimOf(SAMPLES.payment_failed)).toMatchObject({ refusals: 2, emailRecord: { status: 'sent' } });
  });

  it('never sends again when the outcome of a send is unknown (at most once), and records why', async () => {
    const { notifier, ledger, mailer, problems } = setup();
    mailer.failures.push('timeout');
    expect(await notifier.deliver(SAMPLES.payment_failed)).toMatchObject({ inApp: 'created', email: 'unknown' });
    expect(ledger.claimOf(SAMPLES.payment_failed)?.emailRecord).toEqual({ status: 'unknown', error: 'TimeoutError: socket timed out' });
    expect(problems).toEqual(['Email outcome unknown: it is not sent again (at most once)']);
    expect(await notifier.deliver(SAMPLES.payment_failed)).toMatchObject({ inApp: 'duplicate', email: 'duplicate' });
    // The one send that timed out did reach SES: one email, never two.
    expect(mailer.sent).toHaveLength(1);
  });

  it('never sends again when the function died between the claim and the send', async () => {
    const { notifier, ledger, mailer } = setup();
    // Standing for the crash: the claim is taken, and the invocation never gets to SendEmail.
    const token = 'dead-invocation';
    await ledger.createOnce({
      id: notificationId(T0, 'user-1', SAMPLES.payment_failed.noticeId),
      userId: 'user-1',
      noticeId: SAMPLES.payment_failed.noticeId,
      template: 'payment_failed',
      kind: 'billing',
      title: 'Payment failed',
      body: '…',
      createdAt: T0.toISOString(),
      read: false,
    });
    expect(await ledger.claimEmail('user-1', SAMPLES.payment_failed.noticeId, token)).toBe(true);
    expect(await notifier.deliver(SAMPLES.payment_failed)).toMatchObject({ inApp: 'duplicate', email: 'duplicate' });
    expect(mailer.sent).toHaveLength(0);
    // What an operator finds: claimed, no outcome recorded.
    expect(ledger.claimOf(SAMPLES.payment_failed)?.emailClaim).toBe(token);
    expect(ledger.claimOf(SAMPLES.payment_failed)?.emailRecord).toBeUndefined();
  });

  it('keeps the sent email when recording its outcome fails, and does not send it again', async () => {
    const { notifier, ledger, mailer, problems } = setup();
    ledger.failNext.recordEmail = 1;
    expect(await notifier.deliver(SAMPLES.renewal_receipt)).toMatchObject({ email: 'sent' });
    expect(problems).toEqual(['Email outcome not recorded']);
    expect(await notifier.deliver(SAMPLES.renewal_receipt)).toMatchObject({ email: 'duplicate' });
    expect(mailer.sent).toHaveLength(1);
  });

  it('creates the in-app notification of a user it has no address for, and sends nothing', async () => {
    const { notifier, ledger, mailer } = setup();
    const notice: Notice = { ...SAMPLES.subscription_expired, userId: 'gone' };
    expect(await notifier.deliver(notice)).toMatchObject({ inApp: 'created', email: 'no_recipient' });
    expect(ledger.notifications.size).toBe(1);
    expect(mailer.sent).toHaveLength(0);
  });

  it('gives ids that sort by creation time', () => {
    const earlier = notificationId(new Date('2026-02-01T10:00:00.000Z'), 'u', 'z');
    const later = notificationId(new Date('2026-02-01T10:00:00.001Z'), 'u', 'a');
    expect(earlier).toMatch(NOTIFICATION_ID_PATTERN);
    expect(earlier < later).toBe(true);
    expect(notificationId(T0, 'u', 'n')).toBe(notificationId(T0, 'u', 'n'));
    expect(notificationId(T0, 'u', 'n')).not.toBe(notificationId(T0, 'v', 'n'));
  });
});

const subscription: Subscription = {
  id: 'sub_1',
  userId: 'user-1',
  planId: 'basic-monthly',
  status: 'active',
  amount: 999,
  currency: 'USD',
  interval: 'month',
  intervalCount: 1,
  anchor: '2026-01-31T10:00:00.000Z',
  period: 2,
  currentPeriodStart: '2026-02-28T10:00:00.000Z',
  currentPeriodEnd: '2026-03-31T10:00:00.000Z',
  cancelAtPeriodEnd: false,
  paymentToken: 'tok_ok',
  createdAt: '2026-01-31T10:00:00.000Z',
  updatedAt: '2026-02-28T10:00:00.000Z',
};

const renewal: PaymentDetail = {
  idempotencyKey: 'evt-1:Payment.Succeeded',
  occurredAt: '2026-02-28T10:00:01.000Z',
  paymentId: 'pay_2',
  userId: 'user-1',
  purpose: 'subscription',
  reason: 'renewal',
  subscriptionId: 'sub_1',
  periodEnd: '2026-02-28T10:00:00.000Z',
  amount: 999,
  currency: 'USD',
  provider: 'sandbox-a',
  createdAt: '2026-02-28T10:00:01.000Z',
};

describe('renewal receipts', () => {
  it('turn a renewal payment into a receipt notice keyed by the payment', () => {
    expect(receiptNotice(renewal, subscription)).toEqual({
      kind: 'notice',
      notice: {
        noticeId: 'receipt:pay_2',
        userId: 'user-1',
        template: 'renewal_receipt',
        data: { planId: 'basic-monthly', amount: 999, currency: 'USD', paymentId: 'pay_2', currentPeriodEnd: '2026-03-31T10:00:00.000Z' },
      },
    });
  });

  it('name the period the payment paid even when read after the next renewal (calendar-anchored)', () => {
    const moved = {
      ...subscription,
      period: 3,
      currentPeriodStart: '2026-03-31T10:00:00.000Z',
      currentPeriodEnd: '2026-04-30T10:00:00.000Z',
    };
    const late = receiptNotice(renewal, moved);
    expect(late.kind === 'notice' && late.notice.data.currentPeriodEnd).toBe('2026-03-31T10:00:00.000Z');
  });

  it('skip what is not a renewal of the current subscription', () => {
    expect(receiptNotice({ ...renewal, reason: 'subscribe' }, subscription)).toMatchObject({ kind: 'skipped' });
    expect(receiptNotice({ ...renewal, reason: 'recovery' }, subscription)).toMatchObject({ kind: 'skipped' });
    expect(receiptNotice(renewal, undefined)).toMatchObject({ kind: 'skipped', reason: 'the subscription was replaced' });
    expect(receiptNotice(renewal, { ...subscription, id: 'sub_2' })).toMatchObject({ kind: 'skipped' });
    expect(receiptNotice({ ...renewal, periodEnd: '2026-02-27T10:00:00.000Z' }, subscription)).toMatchObject({ kind: 'skipped' });
  });

  it('read the event as EventBridge delivers it to the queue, and tell it from a notice', () => {
    const event = {
      version: '0',
      id: 'e-1',
      'detail-type': PAYMENT_SUCCEEDED,
      source: 'realtime-platform',
      account: '000000000000',
      time: '2026-02-28T10:00:01Z',
      region: 'us-east-1',
      resources: [],
      detail: renewal,
    };
    expect(isEventBridgeEvent(event)).toBe(true);
    expect(isEventBridgeEvent(SAMPLES.payment_failed)).toBe(false);
    expect(isEventBridgeEvent(null)).toBe(false);
    expect(receiptEventSchema.parse(event).detail).toEqual(renewal);
    expect(receiptEventSchema.safeParse({ ...event, 'detail-type': 'Payment.Failed' }).success).toBe(false);
  });
});

describe('notification.created', () => {
  const item = {
    pk: 'USER#user-1',
    sk: 'NOTIFICATION#019c185a1c00aaaaaaaaaaaaaaaa',
    entity: 'Notification',
    id: '019c185a1c00aaaaaaaaaaaaaaaa',
    userId: 'user-1',
    noticeId: 'receipt:pay_2',
    template: 'renewal_receipt',
    kind: 'billing',
    title: 'Receipt',
    body: 'We charged $9.99',
    createdAt: '2026-02-28T10:00:02.000Z',
    read: false,
    expiresAt: 1_780_000_000,
  };
  const change = (over: Partial<DomainChange>): DomainChange => ({
    id: 'rec-1',
    type: 'INSERT',
    occurredAt: '2026-02-28T10:00:02.100Z',
    newImage: item,
    ...over,
  });

  it("reaches the user's topic with the view, and nothing of the item's bookkeeping", () => {
    expect(topicEventsForChange(change({}))).toEqual([
      {
        topic: 'user:user-1',
        event: 'notification.created',
        payload: {
          notification: {
            id: item.id,
            kind: 'billing',
            template: 'renewal_receipt',
            title: 'Receipt',
            body: 'We charged $9.99',
            createdAt: '2026-02-28T10:00:02.000Z',
            read: false,
          },
        },
        ts: '2026-02-28T10:00:02.100Z',
        src: 'rec-1#0',
      },
    ]);
  });

  it('is sent for new notifications only: not when one is read, not for a malformed item', () => {
    expect(topicEventsForChange(change({ type: 'MODIFY', oldImage: item, newImage: { ...item, read: true } }))).toEqual([]);
    expect(topicEventsForChange(change({ newImage: { ...item, template: 'nope' } }))).toEqual([]);
    expect(topicEventsForChange(change({ newImage: { ...item, entity: 'NoticeClaim' } }))).toEqual([]);
  });

  it('is one of the topic sources fan-out filters its stream on', () => {
    for (const source of NOTIFICATION_TOPIC_SOURCES) expect(TOPIC_SOURCES).toContain(source);
  });
});
