/**
 * End to end: the notification pipeline on the local cloud as `npm start` runs it (DESIGN.md
 * section 7; docs/notifications.md). Notices go onto the real notification queue, every one twice;
 * the notifier writes the in-app notification (read back through the routes, and arriving live on
 * `user:{id}` through the stream) and sends the email through the local SES (read back at
 * `GET {controlUrl}/ses/messages`). A paid renewal on the virtual clock produces its receipt
 * through the bus.
 *
 * The clock only moves forward: the receipt test, which moves it a month, runs last.
 */
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '@realtime/local-cloud/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Notice } from '../../lambdas/shared/notifications/notices';
import { type BillingUser, billingApi } from '../support/billing-api';
import { usePlatform } from '../support/platform';

const platform = usePlatform();
let sqs: SQSClient;
let queueUrl: string;
let deadLetterUrl: string;

let created: BillingUser[] = [];
const { call, control, newUser, relogin, advanceTo, resource } = billingApi(platform, 'notify', (user) => created.push(user));

interface Email {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string | null;
  readonly html: string | null;
}

interface View {
  readonly id: string;
  readonly kind: string;
  readonly template: string;
  readonly title: string;
  readonly body: string;
  readonly createdAt: string;
  readonly read: boolean;
  readonly readAt?: string;
}

const sendRaw = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
const send = (notice: Notice) => sendRaw(JSON.stringify(notice));

/** What the local SES accepted for `to`, oldest first. */
async function mailTo(to: string): Promise<Email[]> {
  const res = await fetch(`${platform.cloud.endpoints.controlUrl}/ses/messages?to=${encodeURIComponent(to)}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { messages: Email[] }).messages;
}

async function notificationsOf(user: BillingUser, query = '?limit=100'): Promise<View[]> {
  const res = await call('GET', `/api/v1/notifications${query}`, user.accessToken);
  expect(res.status).toBe(200);
  return res.body.notifications;
}

async function depth(url: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return Object.values(Attributes).reduce((sum, n) => sum + Number(n), 0);
}

/** One notice of every billing template for `userId`, with ids of their own. */
function noticesFor(userId: string): Notice[] {
  const base = `e2e:${userId}`;
  return [
    {
      noticeId: `${base}:failed`,
      userId,
      template: 'payment_failed',
      data: { planId: 'basic-monthly', amount: 999, currency: 'USD', nextRetryAt: '2026-02-02T10:00:00.000Z' },
    },
    {
      noticeId: `${base}:reminder:3`,
      userId,
      template: 'payment_reminder',
      data: { planId: 'basic-monthly', amount: 999, currency: 'USD', daysLeft: 1, nextRetryAt: null },
    },
    { noticeId: `${base}:expired`, userId, template: 'subscription_expired', data: { planId: 'pro-monthly' } },
    {
      noticeId: `${base}:recovered`,
      userId,
      template: 'subscription_recovered',
      data: { planId: 'basic-monthly', currentPeriodEnd: '2026-03-01T10:00:00.000Z' },
    },
    {
      noticeId: `${base}:receipt`,
      userId,
      template: 'renewal_receipt',
      data: { planId: 'pro-yearly', amount: 29_000, currency: 'USD', paymentId: 'pay_e2e', currentPeriodEnd: '2027-02-01T10:00:00.000Z' },
    },
  ];
}

beforeAll(async () => {
  sqs = new SQSClient(clientConfig(platform.cloud, 'sqs'));
  queueUrl = resource('AWS::SQS::Queue', 'NotificationQueuesNotices').url!;
  deadLetterUrl = resource('AWS::SQS::Queue', 'NotificationQueuesDeadLetterQueue').url!;
}, 180_000);

// The clock only moves forward: a test's subscriptions would renew in every later test's advance.
afterEach(async () => {
  for (const user of created) {
    await relogin(user);
    await call('POST', '/api/v1/subscriptions/cancel', user.accessToken, { atPeriodEnd: false });
  }
  created = [];
  await control('/settled');
});

afterAll(() => {
  sqs?.destroy();
});

describe('notifications end to end', () => {
  it('delivers each notice sent twice once: one in-app notification, one email, one notification.created', async () => {
    const ada = await newUser('ada');
    const live = await platform.connect(ada);
    expect((await live.subscribe('me', `user:${ada.userId}`)).type).toBe('subscribed');
    const notices = noticesFor(ada.userId);
    await Promise.all(notices.flatMap((notice) => [send(notice), send(notice)]));
    await control('/settled');

    const views = await notificationsOf(ada);
    expect(views.map((v) => v.template).sort()).toEqual(notices.map((n) => n.template).sort());
    for (const view of views) {
      expect(Object.keys(view).sort()).toEqual(['body', 'createdAt', 'id', 'kind', 'read', 'template', 'title']);
      expect(view).toMatchObject({ kind: 'billing', read: false });
    }
    expect(views.find((v) => v.template === 'payment_reminder')).toMatchObject({
      title: 'Payment still failing: 1 day left',
      body: expect.stringContaining('Your access ends in 1 day unless the payment goes through. That was our last automatic try.'),
    });
    expect(views.find((v) => v.template === 'renewal_receipt')?.body).toContain('We charged $290.00 for your Pro (yearly) plan');

    const emails = await mailTo(ada.email);
    expect(emails.map((e) => e.subject).sort()).toEqual(views.map((v) => v.title).sort());
    for (const email of emails) {
      expect(email).toMatchObject({ from: 'noreply@example.com', to: [ada.email] });
      expect(email.text).toMatch(/^Hi ada,\n\n/);
      expect(email.html).toContain('<p>Hi ada,</p>');
    }

    const frames = await live.waitForData('me', notices.length, 20_000);
    // Settled, and a moment more for anything late: still exactly one frame per notification.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(live.data('me')).toHaveLength(notices.length);
    expect(frames.every((f) => f.event === 'notification.created')).toBe(true);
    const pushed = frames.map((f) => (f.payload as { notification: View }).notification);
    expect(pushed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([...views].sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('drops what is not a notice (logged, counted), never retries it, and goes on with the next', async () => {
    const bob = await newUser('bob');
    const [good] = noticesFor(bob.userId);
    for (const body of [
      'not json',
      '{}',
      '[]',
      JSON.stringify({ ...good, noticeId: 'has spaces' }),
      JSON.stringify({ ...good, template: 'welcome' }),
      JSON.stringify({ ...good, data: { ...good!.data, amount: 9.99 } }),
      JSON.stringify({ source: 'realtime-platform', 'detail-type': 'Payment.Failed', detail: {} }),
      JSON.stringify({ source: 'realtime-platform', 'detail-type': 'Payment.Succeeded', detail: { paymentId: 'x' } }),
    ]) {
      await sendRaw(body);
    }
    await send(good!);
    await control('/settled');
    expect(await depth(queueUrl)).toBe(0);
    expect(await depth(deadLetterUrl)).toBe(0);
    expect((await notificationsOf(bob)).map((v) => v.template)).toEqual(['payment_failed']);
    expect(await mailTo(bob.email)).toHaveLength(1);
  });

  it("lists a user's own notifications newest first with cursors, and marks only the caller's own read", async () => {
    const carol = await newUser('carol');
    const eve = await newUser('eve');
    const mine = noticesFor(carol.userId).slice(0, 3);
    // One after the other, so their order is known.
    for (const notice of mine) {
      await send(notice);
      await control('/settled');
    }
    await send(noticesFor(eve.userId)[0]!);
    await control('/settled');

    const page1 = await call('GET', '/api/v1/notifications?limit=2', carol.accessToken);
    expect(page1.status).toBe(200);
    expect(page1.body.notifications.map((v: View) => v.template)).toEqual(['subscription_expired', 'payment_reminder']);
    expect(typeof page1.body.nextCursor).toBe('string');
    const page2 = await call('GET', `/api/v1/notifications?limit=2&cursor=${page1.body.nextCursor}`, carol.accessToken);
    expect(page2.body).toEqual({ notifications: [expect.objectContaining({ template: 'payment_failed' })], nextCursor: null });
    const defaults = await call('GET', '/api/v1/notifications', carol.accessToken);
    expect(defaults.body.notifications).toHaveLength(3);
    expect(defaults.body.nextCursor).toBeNull();

    const [evesOnly] = await notificationsOf(eve);
    const [newest, , oldest] = defaults.body.notifications as View[];
    const missing = 'f'.repeat(28);
    const marked = await call('POST', '/api/v1/notifications/read', carol.accessToken, {
      ids: [newest!.id, evesOnly!.id, missing, newest!.id],
    });
    expect(marked.status).toBe(200);
    expect(marked.body).toEqual({ read: [newest!.id], unknown: [evesOnly!.id, missing] });
    const after = await notificationsOf(carol);
    expect(after.map((v) => [v.id, v.read])).toEqual([
      [newest!.id, true],
      [after[1]!.id, false],
      [oldest!.id, false],
    ]);
    expect(after[0]!.readAt).toEqual(expect.any(String));
    // Eve's notification is untouched, and Carol's cursor cannot reach into Eve's list.
    expect(await notificationsOf(eve)).toEqual([expect.objectContaining({ id: evesOnly!.id, read: false })]);
    const foreignCursor = Buffer.from(JSON.stringify({ sk: `NOTIFICATION#${evesOnly!.id}` })).toString('base64url');
    const probed = await call('GET', `/api/v1/notifications?cursor=${foreignCursor}`, carol.accessToken);
    expect(probed.status).toBe(200);
    expect(JSON.stringify(probed.body)).not.toContain(evesOnly!.id);
    expect((await call('GET', '/api/v1/notifications')).status).toBe(401);
    expect((await call('POST', '/api/v1/notifications/read', undefined, { ids: [newest!.id] })).status).toBe(401);
  });

  it('answers hostile bodies, queries and cursors with a 400 naming the field, never a 5xx', async () => {
    const dave = await newUser('dave');
    const id = '0'.repeat(28);
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/notifications/read', undefined, '(body)'],
      ['POST', '/api/v1/notifications/read', '{"ids":', '(body)'],
      ['POST', '/api/v1/notifications/read', '[1,2]', '(root)'],
      ['POST', '/api/v1/notifications/read', {}, 'ids'],
      ['POST', '/api/v1/notifications/read', { ids: 'all' }, 'ids'],
      ['POST', '/api/v1/notifications/read', { ids: [] }, 'ids'],
      ['POST', '/api/v1/notifications/read', { ids: Array.from({ length: 101 }, () => id) }, 'ids'],
      ['POST', '/api/v1/notifications/read', { ids: ['../../USER#x'] }, 'ids.0'],
      ['POST', '/api/v1/notifications/read', { ids: [id, 42] }, 'ids.1'],
      ['POST', '/api/v1/notifications/read', { ids: [id.toUpperCase().replace(/0/g, 'A')] }, 'ids.0'],
      ['POST', '/api/v1/notifications/read', { ids: [id], userId: 'someone-else' }, 'userId'],
      ['POST', '/api/v1/notifications/read', { ids: [{ $ne: null }] }, 'ids.0'],
      ['GET', '/api/v1/notifications?limit=0', undefined, 'limit'],
      ['GET', '/api/v1/notifications?limit=101', undefined, 'limit'],
      ['GET', '/api/v1/notifications?limit=abc', undefined, 'limit'],
      ['GET', '/api/v1/notifications?limit=1e2', undefined, 'limit'],
      ['GET', '/api/v1/notifications?limit=-1', undefined, 'limit'],
      ['GET', '/api/v1/notifications?cursor=%25%25%25', undefined, 'cursor'],
      ['GET', '/api/v1/notifications?cursor=not-a-cursor', undefined, 'cursor'],
      ['GET', `/api/v1/notifications?cursor=${Buffer.from('{"sk":"SUBSCRIPTION"}').toString('base64url')}`, undefined, 'cursor'],
      ['GET', `/api/v1/notifications?cursor=${Buffer.from('{"sk":"NOTICE#e2e"}').toString('base64url')}`, undefined, 'cursor'],
      [
        'GET',
        `/api/v1/notifications?cursor=${Buffer.from(`{"pk":"USER#x","sk":"NOTIFICATION#${id}"}`).toString('base64url')}`,
        undefined,
        'cursor',
      ],
      ['GET', `/api/v1/notifications?cursor=${'A'.repeat(5000)}`, undefined, 'cursor'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await call(method, path, dave.accessToken, body);
      const label = `${method} ${path.slice(0, 80)} ${JSON.stringify(body)?.slice(0, 80)}`;
      expect(res.status, label).toBe(400);
      expect(res.body.error.code, label).toBe('bad_request');
      expect(
        res.body.error.details.map((d: { field: string }) => d.field),
        label,
      ).toContain(field);
    }
    // Many well-formed ids that are nobody's: all unknown, nothing created.
    const ids = Array.from({ length: 100 }, (_, i) => i.toString(16).padStart(28, '0'));
    const many = await call('POST', '/api/v1/notifications/read', dave.accessToken, { ids });
    expect(many.status).toBe(200);
    expect(many.body.unknown).toHaveLength(100);
    expect(await notificationsOf(dave)).toEqual([]);
  });

  it('sends a renewal receipt, once, when a tok_ok subscription renews a month later', async () => {
    const erin = await newUser('erin');
    const sub = await call('POST', '/api/v1/subscriptions/subscribe', erin.accessToken, {
      planId: 'basic-monthly',
      paymentToken: 'tok_ok',
    });
    expect(sub.status).toBe(201);
    await control('/settled');
    // The first charge is a subscribe, not a renewal: no receipt.
    expect(await notificationsOf(erin)).toEqual([]);

    const periodEnd = sub.body.subscription.currentPeriodEnd as string;
    await advanceTo(Date.parse(periodEnd) + 60_000);
    await relogin(erin);
    const status = await call('GET', '/api/v1/subscriptions/status', erin.accessToken);
    const renewedUntil = status.body.subscription.currentPeriodEnd as string;
    expect(Date.parse(renewedUntil)).toBeGreaterThan(Date.parse(periodEnd));

    const { Items = [] } = await platform.db.send(
      new QueryCommand({
        TableName: String(platform.stateful.DomainTableName),
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :payment)',
        ExpressionAttributeValues: { ':pk': `USER#${erin.userId}`, ':payment': 'PAYMENT#' },
      }),
    );
    const renewal = Items.find((p) => p.reason === 'renewal');
    expect(renewal).toMatchObject({ status: 'succeeded', amount: 999, periodEnd });

    const deadline = Date.now() + 20_000;
    let views = await notificationsOf(erin);
    while (views.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      views = await notificationsOf(erin);
    }
    expect(views).toEqual([
      expect.objectContaining({
        template: 'renewal_receipt',
        title: 'Receipt: Basic plan renewed',
        body: expect.stringContaining(`We charged $9.99 for your Basic plan`),
      }),
    ]);
    expect(views[0]!.body).toContain(`Payment ID: ${renewal!.id}`);
    expect(views[0]!.body).toContain(
      new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(renewedUntil)),
    );

    // The same event delivered twice more (a redelivery, a re-publish): still one receipt.
    const { pk: _pk, sk: _sk, entity: _entity, id: paymentId, status: _status, chargeKey: _chargeKey, ...payment } = renewal!;
    const event = JSON.stringify({
      version: '0',
      id: 'replayed',
      'detail-type': 'Payment.Succeeded',
      source: 'realtime-platform',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: { idempotencyKey: 'replayed:Payment.Succeeded', occurredAt: renewal!.createdAt, paymentId, ...payment },
    });
    await Promise.all([sendRaw(event), sendRaw(event)]);
    await control('/settled');
    expect(await notificationsOf(erin)).toHaveLength(1);
    const receipts = (await mailTo(erin.email)).filter((e) => e.subject === 'Receipt: Basic plan renewed');
    expect(receipts).toHaveLength(1);
    expect(receipts[0]!.text).toContain(`Payment ID: ${paymentId}`);
    expect(await depth(deadLetterUrl)).toBe(0);
  });
});
