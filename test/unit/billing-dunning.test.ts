/**
 * The dunning side of billing-service.ts with in-memory ports: the saga's plan and start, each
 * step's decision and notice, and the ways out. The state machine that strings the steps together
 * is tested end to end on the local cloud (test/e2e/dunning.test.ts).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { BillingService } from '../../lambdas/shared/billing/billing-service';
import { dunningExecutionName, dunningPlan, type DunningPlan } from '../../lambdas/shared/billing/dunning';
import {
  type MemoryDunning,
  type MemoryPaymentProcessor,
  type MemoryScheduler,
  type MemorySubscriptionStore,
  memoryBilling,
} from '../support/billing-fakes';

let now: Date;
let store: MemorySubscriptionStore;
let payments: MemoryPaymentProcessor;
let scheduler: MemoryScheduler;
let dunning: MemoryDunning;
let billing: BillingService;

beforeEach(() => {
  now = new Date('2027-01-31T09:30:00.250Z');
  ({ store, payments, scheduler, dunning, billing } = memoryBilling(() => now));
});

/** A subscription whose first renewal was declined: past_due, its saga started. */
async function pastDue(userId = 'u1'): Promise<{ plan: DunningPlan; periodEnd: string; subscriptionId: string }> {
  const { subscription } = await billing.subscribe(userId, 'basic-monthly', 'tok_fail_after_first');
  const periodEnd = subscription.currentPeriodEnd!;
  now = new Date(periodEnd);
  const [job] = scheduler.fire(now);
  expect(await billing.processDue(job!)).toBe('past_due');
  const plan = dunning.started.get(dunningExecutionName(subscription.id, periodEnd));
  expect(plan).toBeDefined();
  return { plan: plan!, periodEnd, subscriptionId: subscription.id };
}

const at = (iso: string, days: number) => new Date(Date.parse(iso) + days * 86_400_000).toISOString();

describe('the plan', () => {
  it('is fixed from the declined renewal: retries on day 1, 3 and 5 with 6, 4 and 2 days left, expiry on day 7', () => {
    const plan = dunningPlan({ id: 'sub_1', userId: 'u1' }, '2027-02-28T09:30:00.000Z');
    expect(plan).toEqual({
      subscriptionId: 'sub_1',
      userId: 'u1',
      periodEnd: '2027-02-28T09:30:00.000Z',
      retries: [
        { attempt: 1, at: '2027-03-01T09:30:00.000Z', daysLeft: 6 },
        { attempt: 2, at: '2027-03-03T09:30:00.000Z', daysLeft: 4 },
        { attempt: 3, at: '2027-03-05T09:30:00.000Z', daysLeft: 2 },
      ],
      expireAt: '2027-03-07T09:30:00.000Z',
    });
  });

  it('names one execution per subscription and period, within what Step Functions allows', () => {
    const name = dunningExecutionName('sub_2f1c3a4e-8b9d-4c1e-9f00-1234567890ab', '2027-02-28T09:30:00.000Z');
    expect(name).toBe('sub_2f1c3a4e-8b9d-4c1e-9f00-1234567890ab-20270228T093000Z');
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(dunningExecutionName('sub_1', '2027-03-28T09:30:00.000Z')).not.toBe(dunningExecutionName('sub_1', '2027-02-28T09:30:00.000Z'));
  });
});

describe('the start', () => {
  it('a declined renewal starts the saga of that period once, also when its job comes again', async () => {
    const { plan, periodEnd, subscriptionId } = await pastDue();
    expect(plan).toEqual(dunningPlan({ id: subscriptionId, userId: 'u1' }, periodEnd));
    // The job again (a duplicate, or the retry of a start that failed): asked again, still one saga.
    expect(await billing.processDue({ userId: 'u1', subscriptionId, dueAt: periodEnd })).toBe('stale');
    expect(dunning.calls.filter((c) => c.startsWith('start'))).toHaveLength(2);
    expect(dunning.started.size).toBe(1);
    expect(payments.charged.filter((k) => k.startsWith('renewal:'))).toHaveLength(1);
  });

  it('a start that fails fails the job (after past_due is written), and the job coming back starts it', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_fail_after_first');
    now = new Date(subscription.currentPeriodEnd!);
    const [job] = scheduler.fire(now);
    const start = dunning.start.bind(dunning);
    dunning.start = async () => Promise.reject(new Error('Step Functions throttled'));
    await expect(billing.processDue(job!)).rejects.toThrow(/throttled/);
    expect((await billing.status('u1')).subscription?.status).toBe('past_due');
    dunning.start = start;
    expect(await billing.processDue(job!)).toBe('stale');
    expect(dunning.started.size).toBe(1);
  });

  it('a renewal that succeeds starts no saga', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    now = new Date(subscription.currentPeriodEnd!);
    const [job] = scheduler.fire(now);
    expect(await billing.processDue(job!)).toBe('renewed');
    expect(dunning.calls).toEqual([]);
  });
});

describe('the steps', () => {
  it('begin: the payment-failed notice, naming the first retry', async () => {
    const { plan, subscriptionId, periodEnd } = await pastDue();
    expect(await billing.dunningStep(plan, { action: 'begin' })).toEqual({
      outcome: 'pending',
      notice: {
        noticeId: `dunning:${subscriptionId}:${periodEnd}:failed`,
        userId: 'u1',
        template: 'payment_failed',
        data: { planId: 'basic-monthly', amount: 999, currency: 'USD', nextRetryAt: at(periodEnd, 1) },
      },
    });
  });

  it('a declined retry: a reminder with the days left and the next retry; the last one names none', async () => {
    const { plan, subscriptionId, periodEnd } = await pastDue();
    now = new Date(plan.retries[0]!.at);
    expect(await billing.dunningStep(plan, { action: 'retry', attempt: 1 })).toEqual({
      outcome: 'declined',
      notice: {
        noticeId: `dunning:${subscriptionId}:${periodEnd}:reminder:1`,
        userId: 'u1',
        template: 'payment_reminder',
        data: { planId: 'basic-monthly', amount: 999, currency: 'USD', daysLeft: 6, nextRetryAt: at(periodEnd, 3) },
      },
    });
    now = new Date(plan.retries[2]!.at);
    const last = await billing.dunningStep(plan, { action: 'retry', attempt: 3 });
    expect(last.notice?.data).toMatchObject({ daysLeft: 2, nextRetryAt: null });
    expect(payments.charged.filter((k) => k.startsWith('dunning:'))).toEqual([
      `dunning:${subscriptionId}:${periodEnd}:1`,
      `dunning:${subscriptionId}:${periodEnd}:3`,
    ]);
    expect((await billing.status('u1')).subscription?.status).toBe('past_due');
    expect(store.items.get('u1')?.leaseUntil).toBeUndefined();
  });

  it('a retry run twice (a step retried after it charged) charges once and answers the same', async () => {
    const { plan } = await pastDue();
    now = new Date(plan.retries[1]!.at);
    const first = await billing.dunningStep(plan, { action: 'retry', attempt: 2 });
    const again = await billing.dunningStep(plan, { action: 'retry', attempt: 2 });
    expect(again).toEqual(first);
    expect(payments.charged.filter((k) => k.startsWith('dunning:'))).toHaveLength(1);
  });

  it('a retry after the user changed the payment method to one that pays: recovered from the old end, next renewal scheduled', async () => {
    const { plan, periodEnd } = await pastDue();
    // The new method is charged at once (and declines here); the saga's retry uses it too.
    store.items.set('u1', { ...store.items.get('u1')!, paymentToken: 'tok_ok' });
    now = new Date(plan.retries[0]!.at);
    expect(await billing.dunningStep(plan, { action: 'retry', attempt: 1 })).toEqual({ outcome: 'recovered' });
    const { subscription } = await billing.status('u1');
    expect(subscription).toMatchObject({ status: 'active', currentPeriodStart: periodEnd, currentPeriodEnd: '2027-03-31T09:30:00.000Z' });
    expect(scheduler.schedules.has(`${subscription!.id}@2027-03-31T09:30:00.000Z`)).toBe(true);
    // The saga ends by itself: nothing stops it from inside.
    expect(dunning.stopped).toEqual([]);
    // Every later step finds nothing to do.
    now = new Date(plan.expireAt);
    expect(await billing.dunningStep(plan, { action: 'expire' })).toEqual({ outcome: 'ended' });
    expect(await billing.dunningStep(plan, { action: 'retry', attempt: 2 })).toEqual({ outcome: 'ended' });
  });

  it('expire on day 7: expired without access, the notice; run again, nothing', async () => {
    const { plan, subscriptionId, periodEnd } = await pastDue();
    now = new Date(plan.expireAt);
    expect(await billing.dunningStep(plan, { action: 'expire' })).toEqual({
      outcome: 'expired',
      notice: {
        noticeId: `dunning:${subscriptionId}:${periodEnd}:expired`,
        userId: 'u1',
        template: 'subscription_expired',
        data: { planId: 'basic-monthly' },
      },
    });
    expect(await billing.status('u1')).toMatchObject({ access: false, subscription: { status: 'expired', expiredAt: plan.expireAt } });
    expect(await billing.dunningStep(plan, { action: 'expire' })).toEqual({ outcome: 'ended' });
  });

  it('a step while a payment by the user holds the subscription is told to come back (ChargeInProgress), and charges nothing', async () => {
    const { plan, subscriptionId } = await pastDue();
    const held = payments.hold();
    const paying = billing.payNow('u1', subscriptionId, 'tok_ok');
    await held.reached;
    // Within the payment's lease (a minute).
    now = new Date(Date.parse(now.toISOString()) + 10_000);
    await expect(billing.dunningStep(plan, { action: 'retry', attempt: 1 })).rejects.toMatchObject({ code: 'request_in_progress' });
    await expect(billing.dunningStep(plan, { action: 'expire' })).rejects.toMatchObject({ code: 'request_in_progress' });
    held.release();
    expect((await paying).subscription.status).toBe('active');
    expect(await billing.dunningStep(plan, { action: 'retry', attempt: 1 })).toEqual({ outcome: 'ended' });
    expect(payments.charged.filter((k) => k.startsWith('dunning:'))).toEqual([]);
  });

  it('every provider down on a retry day: the step throws PaymentProvidersUnavailable and leaves it past_due, free', async () => {
    const { plan } = await pastDue();
    store.items.set('u1', { ...store.items.get('u1')!, paymentToken: 'tok_down' });
    now = new Date(plan.retries[0]!.at);
    await expect(billing.dunningStep(plan, { action: 'retry', attempt: 1 })).rejects.toMatchObject({
      code: 'payment_provider_unavailable',
    });
    expect(store.items.get('u1')).toMatchObject({ status: 'past_due' });
    expect(store.items.get('u1')?.leaseUntil).toBeUndefined();
  });
});

describe('the ways out', () => {
  it('a payment by the user: active from the old end, the saga stopped, later steps do nothing', async () => {
    const { plan, subscriptionId, periodEnd } = await pastDue();
    now = new Date(at(periodEnd, 2));
    const { subscription } = await billing.payNow('u1', subscriptionId, 'tok_ok');
    expect(subscription).toMatchObject({ status: 'active', currentPeriodStart: periodEnd });
    expect(dunning.stopped).toEqual([dunningExecutionName(subscriptionId, periodEnd)]);
    now = new Date(plan.retries[1]!.at);
    expect(await billing.dunningStep(plan, { action: 'retry', attempt: 2 })).toEqual({ outcome: 'ended' });
  });

  it('a new payment method is charged at once: tok_ok recovers and stops the saga; a declined one stays past_due with it', async () => {
    const { subscriptionId, periodEnd } = await pastDue();
    const declined = await billing.updatePaymentMethod('u1', 'tok_declined');
    expect(declined.subscription.status).toBe('past_due');
    expect(declined.payment).toMatchObject({ status: 'failed', failureCode: 'card_declined', reason: 'recovery' });
    expect(store.items.get('u1')).toMatchObject({ paymentToken: 'tok_declined' });
    expect(store.items.get('u1')?.leaseUntil).toBeUndefined();
    expect(dunning.stopped).toEqual([]);
    const paid = await billing.updatePaymentMethod('u1', 'tok_ok');
    expect(paid.subscription).toMatchObject({ status: 'active', currentPeriodStart: periodEnd });
    expect(paid.payment).toMatchObject({ status: 'succeeded' });
    expect(dunning.stopped).toEqual([dunningExecutionName(subscriptionId, periodEnd)]);
    // Active now: a further change of method charges nothing.
    expect(await billing.updatePaymentMethod('u1', 'tok_other')).toEqual({ subscription: expect.objectContaining({ status: 'active' }) });
  });

  it('a new payment method while every provider is down: saved, still past_due, payment null', async () => {
    await pastDue();
    const result = await billing.updatePaymentMethod('u1', 'tok_down');
    expect(result).toMatchObject({ subscription: { status: 'past_due' }, payment: null });
    expect(store.items.get('u1')).toMatchObject({ paymentToken: 'tok_down' });
  });

  it('cancel now during dunning: canceled, the saga stopped, no step charges or notifies after', async () => {
    const { plan, subscriptionId, periodEnd } = await pastDue();
    expect((await billing.cancel('u1', false)).status).toBe('canceled');
    expect(dunning.stopped).toEqual([dunningExecutionName(subscriptionId, periodEnd)]);
    for (const retry of plan.retries) {
      now = new Date(retry.at);
      expect(await billing.dunningStep(plan, { action: 'retry', attempt: retry.attempt })).toEqual({ outcome: 'ended' });
    }
    expect(await billing.dunningStep(plan, { action: 'expire' })).toEqual({ outcome: 'ended' });
    expect(payments.charged.filter((k) => k.startsWith('dunning:'))).toEqual([]);
  });

  it('a saga that cannot be stopped does not fail the cancel: its steps find it cancelled', async () => {
    const errors: unknown[] = [];
    billing = new BillingService({
      subscriptions: store,
      payments,
      scheduler,
      dunning: { start: dunning.start.bind(dunning), stop: async () => Promise.reject(new Error('Step Functions down')) },
      clock: () => now,
      onScheduleError: (error) => errors.push(error),
    });
    const { plan } = await pastDue();
    expect((await billing.cancel('u1', false)).status).toBe('canceled');
    expect(errors).toHaveLength(1);
    expect(await billing.dunningStep(plan, { action: 'begin' })).toEqual({ outcome: 'ended' });
  });

  it("a plan for another period or another user's subscription does nothing", async () => {
    const { plan } = await pastDue();
    expect(await billing.dunningStep({ ...plan, periodEnd: '2027-01-01T00:00:00.000Z' }, { action: 'retry', attempt: 1 })).toEqual({
      outcome: 'ended',
    });
    expect(await billing.dunningStep({ ...plan, userId: 'u2' }, { action: 'expire' })).toEqual({ outcome: 'ended' });
    expect((await billing.status('u1')).subscription?.status).toBe('past_due');
  });
});
