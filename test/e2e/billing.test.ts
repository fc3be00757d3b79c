/**
 * End to end: billing on the local cloud as `npm start` runs it, with the virtual clock (DESIGN.md
 * section 5; docs/billing.md). Real handlers, DynamoDB Local, Scheduler schedules firing into the
 * charge queue, the charge worker, the stream to the bus and to `user:{id}`.
 *
 * The clock only moves forward, and the circuit breakers are shared by every charge: the tests
 * run in file order, the breaker test last but one, the year of renewals last.
 */
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig } from '@realtime/local-cloud/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BillingUser, billingApi } from '../support/billing-api';
import { usePlatform } from '../support/platform';

const platform = usePlatform();
let sqs: SQSClient;
let scheduler: SchedulerClient;
let lambda: LambdaClient;
let eventsQueue: string;
const busEvents: { 'detail-type': string; detail: Record<string, unknown> }[] = [];

/** Users of the running test: their subscriptions are cancelled after it (see afterEach). */
let created: BillingUser[] = [];
const { call, control, newUser, relogin, status, history, now, advanceTo, resource } = billingApi(platform, 'billing', (user) =>
  created.push(user),
);
type User = BillingUser;

const subscribe = (user: User, paymentToken: string, planId = 'basic-monthly', headers: Record<string, string> = {}) =>
  call('POST', '/api/v1/subscriptions/subscribe', user.accessToken, { planId, paymentToken }, headers);

/** The due times scheduled for a subscription (the schedules of the due-job group naming it). */
async function schedulesOf(subscriptionId: string): Promise<string[]> {
  const GroupName = resource('AWS::Scheduler::ScheduleGroup', 'BillingDueJobs').physicalId;
  const { Schedules = [] } = await scheduler.send(new ListSchedulesCommand({ GroupName }));
  const due: string[] = [];
  for (const { Name } of Schedules) {
    const schedule = await scheduler.send(new GetScheduleCommand({ GroupName, Name }));
    const job = JSON.parse(schedule.Target?.Input ?? '{}') as { subscriptionId?: string; dueAt?: string };
    if (job.subscriptionId === subscriptionId) due.push(job.dueAt!);
  }
  return due;
}

async function busEvent(match: (e: (typeof busEvents)[number]) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = busEvents.find(match);
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(`no matching bus event within ${timeoutMs} ms; got ${busEvents.map((e) => e['detail-type']).join(', ')}`);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: eventsQueue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const m of Messages) {
      busEvents.push(JSON.parse(m.Body!));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: eventsQueue, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

beforeAll(async () => {
  sqs = new SQSClient(clientConfig(platform.cloud, 'sqs'));
  scheduler = new SchedulerClient(clientConfig(platform.cloud, 'scheduler'));
  lambda = new LambdaClient(clientConfig(platform.cloud, 'lambda'));
  const events = new EventBridgeClient(clientConfig(platform.cloud, 'events'));
  eventsQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'billing-events-e2e' }))).QueueUrl!;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: eventsQueue, AttributeNames: ['QueueArn'] }));
  const busName = String(platform.stateful.EventBusName);
  await events.send(
    new PutRuleCommand({
      Name: 'billing-events',
      EventBusName: busName,
      EventPattern: JSON.stringify({ 'detail-type': [{ prefix: 'Subscription.' }, { prefix: 'Payment.' }] }),
    }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: 'billing-events', EventBusName: busName, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }),
  );
  events.destroy();
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
  scheduler?.destroy();
  lambda?.destroy();
});

describe('billing end to end', () => {
  it('lists the plans without a token', async () => {
    const res = await call('GET', '/api/v1/subscriptions/plans');
    expect(res.status).toBe(200);
    expect(res.body.plans.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(['basic-monthly', 'pro-yearly']));
    expect(res.body.plans[0]).toEqual({
      id: 'basic-monthly',
      name: 'Basic',
      amount: 999,
      currency: 'USD',
      interval: 'month',
      intervalCount: 1,
    });
  });

  it('subscribes with each test token to its documented outcome, live on user:{id}', async () => {
    const ok = await newUser('ok');
    const live = await platform.connect(ok);
    await live.subscribe('me', `user:${ok.userId}`);
    const res = await subscribe(ok, 'tok_ok');
    expect(res.status).toBe(201);
    expect(res.body.subscription).toMatchObject({ status: 'active', planId: 'basic-monthly', cancelAtPeriodEnd: false });
    expect(res.body.payment).toMatchObject({
      status: 'succeeded',
      amount: 999,
      currency: 'USD',
      purpose: 'subscription',
      provider: 'sandbox-a',
    });
    expect(await status(ok)).toMatchObject({ access: true, subscription: { status: 'active' } });
    // The subscription as it was while its first charge ran, then active (one item: in order), and the payment.
    const frames = await live.waitForData('me', 3);
    expect(frames.map((f) => f.event).sort()).toEqual(['payment.succeeded', 'subscription.updated', 'subscription.updated']);
    const updates = frames
      .filter((f) => f.event === 'subscription.updated')
      .map((f) => (f.payload as { subscription: { status: string } }).subscription.status);
    expect(updates).toEqual(['incomplete', 'active']);
    expect(JSON.stringify(frames)).not.toContain('tok_ok');
    expect((await schedulesOf(res.body.subscription.id)).length).toBe(1);
    expect((await subscribe(ok, 'tok_ok')).body.error.code).toBe('already_subscribed');

    for (const [token, code] of [
      ['tok_declined', 'card_declined'],
      ['tok_insufficient_funds', 'insufficient_funds'],
    ] as const) {
      const user = await newUser(token);
      const declined = await subscribe(user, token);
      expect(declined.status).toBe(402);
      expect(declined.body.error.code).toBe(code);
      expect(await status(user)).toMatchObject({ access: false, subscription: { status: 'incomplete' } });
      expect(await history(user)).toEqual([expect.objectContaining({ status: 'failed', failureCode: code })]);
    }

    const down = await newUser('down');
    const unavailable = await subscribe(down, 'tok_all_providers_down');
    expect(unavailable.status).toBe(503);
    expect(unavailable.body.error.code).toBe('payment_provider_unavailable');
    expect(await history(down)).toEqual([]);

    const failover = await newUser('failover');
    const second = await subscribe(failover, 'tok_provider_error');
    expect(second.status).toBe(201);
    expect(second.body.payment.provider).toBe('sandbox-b');
  });

  it("refuses bad input with a 4xx naming the field, and never shows one user another one's billing", async () => {
    const user = await newUser('input');
    for (const [body, field] of [
      [{ planId: 'gold', paymentToken: 'tok_ok' }, 'planId'],
      [{ planId: 'basic-monthly' }, 'paymentToken'],
      [{ planId: 'basic-monthly', paymentToken: 'tok ok; drop' }, 'paymentToken'],
      [{ planId: 'basic-monthly', paymentToken: 'tok_ok', amount: -5 }, 'amount'],
      [{ planId: 'basic-monthly', paymentToken: 'tok_ok', amount: 1e300 }, 'amount'],
      [{ planId: 42, paymentToken: 'tok_ok' }, 'planId'],
    ] as const) {
      const answer = await call('POST', '/api/v1/subscriptions/subscribe', user.accessToken, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(answer.body.error.details), JSON.stringify(body)).toContain(field);
    }
    expect((await call('POST', '/api/v1/subscriptions/subscribe', user.accessToken, '{"planId":')).status).toBe(400);
    expect(
      (await call('POST', '/api/v1/payments/process', user.accessToken, { purpose: 'refund', subscriptionId: 'x', paymentToken: 'tok_ok' }))
        .status,
    ).toBe(400);
    expect(
      (await call('POST', '/api/v1/payments/process', user.accessToken, { purpose: 'booking', bookingId: 'b1', paymentToken: 'tok_ok' }))
        .status,
    ).toBe(404);
    expect((await call('GET', '/api/v1/payments/history?limit=0', user.accessToken)).status).toBe(400);
    expect((await call('GET', '/api/v1/payments/history?cursor=not-a-cursor', user.accessToken)).status).toBe(400);
    expect((await call('PUT', '/api/v1/subscriptions/payment-method', user.accessToken, { paymentToken: '' })).status).toBe(400);

    const owner = await newUser('owner');
    const { body } = await subscribe(owner, 'tok_ok');
    const other = await newUser('other');
    expect(await status(other)).toEqual({ subscription: null, access: false });
    expect(await history(other)).toEqual([]);
    const pay = await call('POST', '/api/v1/payments/process', other.accessToken, {
      purpose: 'subscription',
      subscriptionId: body.subscription.id,
      paymentToken: 'tok_ok',
    });
    expect(pay.status).toBe(404);
    expect((await call('POST', '/api/v1/subscriptions/cancel', other.accessToken, {})).status).toBe(404);
    expect((await status(owner)).subscription.status).toBe('active');
  });

  it('Idempotency-Key: the same request answers the same and charges once; another body is a 409', async () => {
    const user = await newUser('idem');
    const key = { 'idempotency-key': `sub-${user.userId}` };
    const answers = await Promise.all(Array.from({ length: 10 }, () => subscribe(user, 'tok_ok', 'basic-monthly', key)));
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const a of answers) expect([201, 409]).toContain(a.status);
    for (const a of created) expect(a.body).toEqual(created[0]!.body);
    const again = await subscribe(user, 'tok_ok', 'basic-monthly', key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(created[0]!.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const reused = await subscribe(user, 'tok_ok', 'pro-yearly', key);
    expect(reused.status).toBe(409);
    expect(reused.body.error.code).toBe('idempotency_key_reused');
    expect((await history(user)).filter((p) => p.status === 'succeeded')).toHaveLength(1);
  });

  it('a declined renewal makes it past_due with Payment.Failed on the bus; a payment by the user recovers it', async () => {
    const user = await newUser('fail-after-first');
    const unpaid = await newUser('unpaid');
    expect((await subscribe(unpaid, 'tok_declined')).status).toBe(402);
    const { body } = await subscribe(user, 'tok_fail_after_first');
    expect(body.subscription.status).toBe('active');
    await advanceTo(new Date(Date.parse(body.subscription.currentPeriodEnd) + 60_000));
    await relogin(user);
    expect(await status(user)).toMatchObject({ access: true, subscription: { status: 'past_due' } });
    // Meanwhile the declined subscribe's `incomplete` subscription expired, 23 hours after it was made.
    await relogin(unpaid);
    expect(await status(unpaid)).toMatchObject({ access: false, subscription: { status: 'incomplete_expired' } });
    const failed = await busEvent((e) => e['detail-type'] === 'Payment.Failed' && e.detail.subscriptionId === body.subscription.id);
    expect(failed.detail).toMatchObject({ reason: 'renewal', failureCode: 'card_declined', periodEnd: body.subscription.currentPeriodEnd });
    expect(JSON.stringify(failed)).not.toContain('tok_');
    await busEvent((e) => e['detail-type'] === 'Subscription.PastDue' && e.detail.subscriptionId === body.subscription.id);
    expect(await schedulesOf(body.subscription.id)).toEqual([]);

    const paid = await call('POST', '/api/v1/payments/process', user.accessToken, {
      purpose: 'subscription',
      subscriptionId: body.subscription.id,
      paymentToken: 'tok_ok',
    });
    expect(paid.status).toBe(201);
    expect(paid.body.subscription).toMatchObject({ status: 'active', currentPeriodStart: body.subscription.currentPeriodEnd });
    const again = await call('POST', '/api/v1/payments/process', user.accessToken, {
      purpose: 'subscription',
      subscriptionId: body.subscription.id,
      paymentToken: 'tok_ok',
    });
    expect(again.body.error.code).toBe('no_payment_due');
  });

  it('cancel at period end keeps access to the end, then cancels with no charge; cancel now removes the schedule', async () => {
    const atEnd = await newUser('cancel-end');
    const first = (await subscribe(atEnd, 'tok_ok')).body.subscription;
    const canceled = await call('POST', '/api/v1/subscriptions/cancel', atEnd.accessToken, { atPeriodEnd: true });
    expect(canceled.body.subscription).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect((await call('POST', '/api/v1/subscriptions/cancel', atEnd.accessToken)).status).toBe(200);

    const now_ = await newUser('cancel-now');
    const second = (await subscribe(now_, 'tok_ok')).body.subscription;
    expect(await schedulesOf(second.id)).toHaveLength(1);
    const gone = await call('POST', '/api/v1/subscriptions/cancel', now_.accessToken, { atPeriodEnd: false });
    expect(gone.body.subscription.status).toBe('canceled');
    expect(await schedulesOf(second.id)).toEqual([]);
    expect((await status(now_)).access).toBe(false);

    await advanceTo(new Date(Date.parse(first.currentPeriodEnd) - 60_000));
    await relogin(atEnd);
    expect((await status(atEnd)).access).toBe(true);
    await advanceTo(new Date(Date.parse(first.currentPeriodEnd) + 60_000));
    await relogin(atEnd);
    expect(await status(atEnd)).toMatchObject({ access: false, subscription: { status: 'canceled' } });
    expect((await history(atEnd)).map((p) => p.status)).toEqual(['succeeded']);
  });

  it("5 provider errors open the first provider's breaker; it closes again after the cool-down", async () => {
    for (let i = 0; i < 5; i++) {
      const user = await newUser(`breaker-${i}`);
      expect((await subscribe(user, 'tok_provider_error')).body.payment.provider).toBe('sandbox-b');
    }
    const skipped = await newUser('breaker-open');
    expect((await subscribe(skipped, 'tok_ok')).body.payment.provider).toBe('sandbox-b');
    await advanceTo(new Date((await now()).getTime() + 61_000));
    const probe = await newUser('breaker-probe');
    expect((await subscribe(probe, 'tok_ok')).body.payment.provider).toBe('sandbox-a');
    const closed = await newUser('breaker-closed');
    expect((await subscribe(closed, 'tok_ok')).body.payment.provider).toBe('sandbox-a');
  });

  it('a year of renewals from Jan 31: 12 payments on calendar-anchored, contiguous periods, one schedule at a time, duplicates charge nothing, no dunning saga', async () => {
    const start = await now();
    const jan31 = new Date(Date.UTC(start.getUTCFullYear() + 1, 0, 31, 10, 0, 0));
    await advanceTo(jan31);
    const user = await newUser('year');
    const { body } = await subscribe(user, 'tok_ok');
    const id = body.subscription.id as string;
    const y = jan31.getUTCFullYear();
    const leap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    // Period ends from the Jan 31 anchor: always the anchor's day, or the month's last.
    const expectedEnds = [
      `${y}-02-${leap(y) ? 29 : 28}`,
      ...['03-31', '04-30', '05-31', '06-30', '07-31', '08-31', '09-30', '10-31', '11-30', '12-31'].map((d) => `${y}-${d}`),
      `${y + 1}-01-31`,
      `${y + 1}-02-28`,
    ];
    expect(body.subscription.currentPeriodEnd.slice(0, 10)).toBe(expectedEnds[0]);
    // The anchor is when the first charge succeeded, to the second: every boundary keeps its time of day.
    const timeOfDay = body.subscription.currentPeriodStart.slice(10);

    // Month by month (the bus events are read as they come: the test's queue keeps them 4 days).
    for (let month = 1; month <= 12; month++) {
      await advanceTo(new Date(Date.parse(`${expectedEnds[month - 1]}${timeOfDay}`) + 1_000));
      expect(await schedulesOf(id), `after renewal ${month}`).toEqual([`${expectedEnds[month]}${timeOfDay}`]);
      await busEvent((e) => e['detail-type'] === 'Subscription.Renewed' && e.detail.subscriptionId === id && e.detail.period === month + 1);
    }
    await relogin(user);
    const final = (await status(user)).subscription;
    expect([final.currentPeriodStart.slice(0, 10), final.currentPeriodEnd.slice(0, 10)]).toEqual([expectedEnds[11], expectedEnds[12]]);

    // Every renewal on the bus: 12, each period starting where the last ended.
    const renewals = busEvents
      .filter((e) => e['detail-type'] === 'Subscription.Renewed' && e.detail.subscriptionId === id)
      .map((e) => e.detail as { period: number; currentPeriodStart: string; currentPeriodEnd: string })
      .sort((a, b) => a.period - b.period);
    expect(renewals.map((r) => r.period)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(renewals.map((r) => r.currentPeriodStart.slice(0, 10))).toEqual(expectedEnds.slice(0, 12));
    expect(renewals.map((r) => r.currentPeriodEnd.slice(0, 10))).toEqual(expectedEnds.slice(1, 13));
    const paid = () => history(user).then((payments) => payments.filter((p) => p.status === 'succeeded'));
    expect(await paid()).toHaveLength(13);

    // The same job delivered twice more, and the reconciliation run over it: nothing more is charged.
    const queueUrl = resource('AWS::SQS::Queue', 'BillingQueuesCharges').url!;
    const job = JSON.stringify({ userId: user.userId, subscriptionId: id, dueAt: final.currentPeriodStart });
    for (let i = 0; i < 2; i++) await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: job }));
    const reconciled = await lambda.send(
      new InvokeCommand({ FunctionName: resource('AWS::Lambda::Function', 'BillingReconcile').physicalId, Payload: '{}' }),
    );
    expect(reconciled.FunctionError).toBeUndefined();
    await control('/settled');
    expect(await paid()).toHaveLength(13);
    expect(await schedulesOf(id)).toHaveLength(1);
    // Renewing fine for a year never started a dunning saga (docs/billing.md, "Dunning").
    const sfn = new SFNClient(clientConfig(platform.cloud, 'states'));
    const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
    const dunning = stateMachines.filter((m) => /BillingDunningStateMachine/.test(m.name ?? ''));
    expect(dunning).toHaveLength(1);
    const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: dunning[0]!.stateMachineArn! }));
    expect(executions.filter((e) => e.name?.startsWith(id))).toEqual([]);
    sfn.destroy();
  }, 300_000);
});
