/**
 * End to end: the dunning saga on the local cloud as `npm start` runs it (DESIGN.md section 5;
 * docs/billing.md "Dunning"): the state machine CDK synthesizes, run by the local cloud's Step
 * Functions on the virtual clock, its steps invoking the dunning function, its notices going
 * through the notification queue and notifier to in-app notifications and SES.
 *
 * The whole scenario matrix on one timeline: every lane is a user whose first renewal is declined
 * at about the same instant (day 0), and the clock is advanced through the 7 days once, each lane
 * doing its part on its day. The clock only moves forward, so the lanes cannot have a file each.
 *
 *   never      never pays: reminders with 6, 4, 2 days left; past_due with access at day 7 minus a
 *              minute; expired without access at day 7; the expired notice
 *   day1/3/5   change the payment method (tok_fail_first: the retry at once is declined) before
 *              that day; the saga's retry of that day pays
 *   method     changes the method to tok_ok: the retry at once pays, the saga is stopped
 *   pay        pays during grace (payments/process): one charge, the saga stopped, no reminder after
 *   cancel     cancels now during grace: no charge and no reminder after, the execution aborted
 *   down       every provider down on the day-1 retry: retried later that day, no reminder
 *   fine       renews with tok_ok: no saga
 */
import { DescribeExecutionCommand, ListExecutionsCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '@realtime/local-cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dunningExecutionName } from '../../lambdas/shared/billing/dunning';
import { subscriptionKey } from '../../lambdas/shared/billing/dynamo-subscriptions';
import { type BillingUser, billingApi } from '../support/billing-api';
import { usePlatform } from '../support/platform';

const platform = usePlatform();
const { call, control, newUser, relogin, status, history, advanceTo, resource } = billingApi(platform, 'dunning');
let sfn: SFNClient;
let sqs: SQSClient;

const DAY = 86_400_000;
const MINUTE = 60_000;
const LANES = ['never', 'day1', 'day3', 'day5', 'method', 'pay', 'cancel', 'down', 'fine'] as const;
type Lane = (typeof LANES)[number];

interface LaneState {
  readonly user: BillingUser;
  subscriptionId: string;
  /** The declined renewal's due time: day 0 of this lane's saga. */
  periodEnd: string;
}
const lanes = {} as Record<Lane, LaneState>;
/** Day 0 of the earliest lane; every lane's day 0 is within seconds of it. */
let day0 = 0;

let dunningArn = '';
const stateMachineArn = () => dunningArn;
const executionArn = (lane: LaneState) =>
  `${stateMachineArn().replace(':stateMachine:', ':execution:')}:${dunningExecutionName(lane.subscriptionId, lane.periodEnd)}`;
const execution = async (lane: Lane) => sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(lanes[lane]) }));

async function advanceToDay(days: number): Promise<void> {
  await advanceTo(day0 + days * DAY);
  for (const lane of Object.values(lanes)) await relogin(lane.user);
}

/** The templates of the lane's in-app notifications, oldest first. */
async function notices(lane: Lane): Promise<string[]> {
  const res = await call('GET', '/api/v1/notifications?limit=100', lanes[lane].user.accessToken);
  expect(res.status).toBe(200);
  return (res.body.notifications as { template: string }[]).map((n) => n.template).reverse();
}

/** The subjects of the emails sent to the lane's user, oldest first. */
async function emails(lane: Lane): Promise<string[]> {
  const { messages } = (await control(`/ses/messages?to=${encodeURIComponent(lanes[lane].user.email)}`)) as {
    messages: { subject: string }[];
  };
  return messages.map((m) => m.subject);
}

const subscriptionStatus = async (lane: Lane) =>
  (await status(lanes[lane].user)) as { access: boolean; subscription: Record<string, unknown> };
const put = (lane: Lane, paymentToken: string) =>
  call('PUT', '/api/v1/subscriptions/payment-method', lanes[lane].user.accessToken, { paymentToken });

beforeAll(async () => {
  sfn = new SFNClient(clientConfig(platform.cloud, 'states'));
  sqs = new SQSClient(clientConfig(platform.cloud, 'sqs'));
  const name = resource('AWS::StepFunctions::StateMachine', 'BillingDunningStateMachine').physicalId;
  const { stateMachines = [] } = await sfn.send(new ListStateMachinesCommand({}));
  dunningArn = stateMachines.find((m) => m.name === name || m.stateMachineArn === name)?.stateMachineArn ?? '';
  expect(dunningArn, `the dunning state machine ${name}`).not.toBe('');
}, 180_000);

afterAll(() => {
  sfn?.destroy();
  sqs?.destroy();
});

describe('dunning end to end', () => {
  it('a declined renewal makes each lane past_due and starts one saga per subscription period, however often its job comes', async () => {
    for (const lane of LANES) {
      const user = await newUser(lane);
      const res = await call('POST', '/api/v1/subscriptions/subscribe', user.accessToken, {
        planId: 'basic-monthly',
        paymentToken: lane === 'fine' ? 'tok_ok' : 'tok_fail_after_first',
      });
      expect(res.status).toBe(201);
      lanes[lane] = { user, subscriptionId: res.body.subscription.id, periodEnd: res.body.subscription.currentPeriodEnd };
    }
    const ends = Object.values(lanes).map((l) => Date.parse(l.periodEnd));
    day0 = Math.min(...ends);
    expect(Math.max(...ends) - day0).toBeLessThan(MINUTE);
    await advanceTo(Math.max(...ends) + MINUTE);
    for (const lane of Object.values(lanes)) await relogin(lane.user);

    expect((await subscriptionStatus('fine')).subscription.status).toBe('active');
    for (const lane of LANES.filter((l) => l !== 'fine')) {
      expect(await subscriptionStatus(lane), lane).toMatchObject({ access: true, subscription: { status: 'past_due' } });
      expect((await execution(lane)).status, lane).toBe('RUNNING');
    }
    // The same due job again (a duplicate delivery): the execution of that name is the one saga.
    const never = lanes.never;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: resource('AWS::SQS::Queue', 'BillingQueuesCharges').url!,
        MessageBody: JSON.stringify({ userId: never.user.userId, subscriptionId: never.subscriptionId, dueAt: never.periodEnd }),
      }),
    );
    await control('/settled');
    const { executions = [] } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: stateMachineArn() }));
    const names = executions.map((e) => e.name);
    expect(names.filter((n) => n === dunningExecutionName(never.subscriptionId, never.periodEnd))).toHaveLength(1);
    expect(names).toHaveLength(LANES.length - 1);
    expect(await notices('never')).toEqual(['payment_failed']);
  }, 240_000);

  it('runs the week: each way out on its day, reminders with the days left, expiry at day 7 and not a minute before', async () => {
    // Half a day in: new payment methods, each charged at once.
    await advanceToDay(0.5);
    const day1 = await put('day1', 'tok_fail_first');
    expect(day1.status).toBe(200);
    expect(day1.body).toMatchObject({
      subscription: { status: 'past_due' },
      payment: { status: 'failed', failureCode: 'insufficient_funds' },
    });
    const method = await put('method', 'tok_ok');
    expect(method.body).toMatchObject({
      subscription: { status: 'active', currentPeriodStart: lanes.method.periodEnd },
      payment: { status: 'succeeded' },
    });
    const down = await put('down', 'tok_all_providers_down');
    expect(down.body).toMatchObject({ subscription: { status: 'past_due' }, payment: null });
    expect((await execution('method')).status).toBe('ABORTED');

    // Day 1: the retries. day1's pays; never's is declined (reminder, 6 days left); down's meets
    // every provider down and is retried later that day.
    await advanceToDay(1 + 1 / 1440);
    expect(await subscriptionStatus('day1')).toMatchObject({
      access: true,
      subscription: { status: 'active', currentPeriodStart: lanes.day1.periodEnd },
    });
    expect((await execution('day1')).status).toBe('SUCCEEDED');
    expect((await subscriptionStatus('down')).subscription.status).toBe('past_due');
    // The providers come back within the hour: the sandbox's outage is the token, so the test ends
    // it by swapping the stored token (no API does that without charging at once).
    await platform.db.send(
      new UpdateCommand({
        TableName: String(platform.stateful.DomainTableName),
        Key: subscriptionKey(lanes.down.user.userId),
        UpdateExpression: 'SET paymentToken = :ok',
        ExpressionAttributeValues: { ':ok': 'tok_ok' },
      }),
    );
    await advanceToDay(1 + 3 / 24);
    expect((await subscriptionStatus('down')).subscription).toMatchObject({ status: 'active', currentPeriodStart: lanes.down.periodEnd });

    // Day 2: pay, cancel, and day3's new method.
    await advanceToDay(2);
    const pay = await call('POST', '/api/v1/payments/process', lanes.pay.user.accessToken, {
      purpose: 'subscription',
      subscriptionId: lanes.pay.subscriptionId,
      paymentToken: 'tok_ok',
    });
    expect(pay.status).toBe(201);
    expect(pay.body.subscription).toMatchObject({ status: 'active', currentPeriodStart: lanes.pay.periodEnd });
    const cancel = await call('POST', '/api/v1/subscriptions/cancel', lanes.cancel.user.accessToken, { atPeriodEnd: false });
    expect(cancel.body.subscription.status).toBe('canceled');
    expect((await put('day3', 'tok_fail_first')).body.payment.status).toBe('failed');
    await control('/settled');
    expect((await execution('pay')).status).toBe('ABORTED');
    expect((await execution('cancel')).status).toBe('ABORTED');

    await advanceToDay(3 + 1 / 1440);
    expect((await subscriptionStatus('day3')).subscription).toMatchObject({ status: 'active', currentPeriodStart: lanes.day3.periodEnd });
    await advanceToDay(4);
    expect((await put('day5', 'tok_fail_first')).body.payment.status).toBe('failed');
    await advanceToDay(5 + 1 / 1440);
    expect((await subscriptionStatus('day5')).subscription).toMatchObject({ status: 'active', currentPeriodStart: lanes.day5.periodEnd });

    // Day 7 minus a minute (of never's own day 0): still past_due, with access.
    const never = Date.parse(lanes.never.periodEnd);
    await advanceTo(never + 7 * DAY - MINUTE);
    await relogin(lanes.never.user);
    expect(await subscriptionStatus('never')).toMatchObject({ access: true, subscription: { status: 'past_due' } });
    await advanceTo(never + 7 * DAY + MINUTE);
    for (const lane of Object.values(lanes)) await relogin(lane.user);
    expect(await subscriptionStatus('never')).toMatchObject({ access: false, subscription: { status: 'expired' } });
    expect((await execution('never')).status).toBe('SUCCEEDED');
  }, 600_000);

  it('sent exactly the notices and emails of each timeline, in order', async () => {
    const reminders = ['payment_failed', 'payment_reminder'];
    const expected: Record<Lane, string[]> = {
      never: ['payment_failed', 'payment_reminder', 'payment_reminder', 'payment_reminder', 'subscription_expired'],
      day1: ['payment_failed', 'subscription_recovered'],
      day3: [...reminders, 'subscription_recovered'],
      day5: [...reminders, 'payment_reminder', 'subscription_recovered'],
      method: ['payment_failed', 'subscription_recovered'],
      pay: [...reminders, 'subscription_recovered'],
      cancel: reminders,
      down: ['payment_failed', 'subscription_recovered'],
      fine: ['renewal_receipt'],
    };
    for (const lane of LANES) {
      expect(await notices(lane), lane).toEqual(expected[lane]);
      expect(await emails(lane), lane).toHaveLength(expected[lane].length);
    }
    // The reminders name the days left, in order.
    const res = await call('GET', '/api/v1/notifications?limit=100', lanes.never.user.accessToken);
    const bodies = (res.body.notifications as { template: string; body: string }[])
      .filter((n) => n.template === 'payment_reminder')
      .map((n) => n.body)
      .reverse();
    expect(bodies[0]).toMatch(/6 days/);
    expect(bodies[1]).toMatch(/4 days/);
    expect(bodies[2]).toMatch(/2 days/);
  }, 120_000);

  it('charged exactly once for each way out, and nothing after a cancel or the expiry', async () => {
    const charges = async (lane: Lane) => (await history(lanes[lane].user)).map((p) => `${p.status}`).reverse();
    // Oldest first: the first period, the declined renewal, then what dunning charged.
    expect(await charges('never')).toEqual(['succeeded', 'failed', 'failed', 'failed', 'failed']);
    expect(await charges('day1')).toEqual(['succeeded', 'failed', 'failed', 'succeeded']);
    expect(await charges('method')).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(await charges('pay')).toEqual(['succeeded', 'failed', 'failed', 'succeeded']);
    expect(await charges('cancel')).toEqual(['succeeded', 'failed', 'failed']);
    expect(await charges('down')).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(await charges('fine')).toEqual(['succeeded', 'succeeded']);
  }, 60_000);
});
