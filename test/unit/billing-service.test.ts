import { beforeEach, describe, expect, it } from 'vitest';
import { BillingService } from '../../lambdas/shared/billing/billing-service';
import {
  AlreadySubscribed,
  ChargeInProgress,
  NoPaymentDue,
  PaymentDeclined,
  PaymentProvidersUnavailable,
  SubscribeInProgress,
} from '../../lambdas/shared/billing/errors';
import { reconcileDue } from '../../lambdas/shared/billing/reconciliation';
import { BadRequestError, NotFoundError } from '../../lambdas/shared/errors';
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

/** Moves the clock and runs every schedule due by then, as Scheduler and the worker would. */
async function advanceTo(iso: string): Promise<string[]> {
  now = new Date(iso);
  const outcomes: string[] = [];
  for (let fired = scheduler.fire(now); fired.length > 0; fired = scheduler.fire(now)) {
    for (const job of fired) outcomes.push(await billing.processDue(job));
  }
  return outcomes;
}

describe('subscribe', () => {
  it('charges the first period, activates, and schedules the renewal at the period end', async () => {
    const { subscription, payment } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    expect(subscription).toMatchObject({
      status: 'active',
      planId: 'basic-monthly',
      currentPeriodStart: '2027-01-31T09:30:00.000Z',
      currentPeriodEnd: '2027-02-28T09:30:00.000Z',
      cancelAtPeriodEnd: false,
    });
    expect(payment).toMatchObject({ status: 'succeeded', amount: 999, currency: 'USD', reason: 'subscribe' });
    expect([...scheduler.schedules.values()]).toEqual([
      { userId: 'u1', subscriptionId: subscription.id, dueAt: '2027-02-28T09:30:00.000Z' },
    ]);
    expect(await billing.status('u1')).toMatchObject({ access: true, subscription: { status: 'active' } });
  });

  it('a decline leaves it incomplete (no access), schedules only its expiry 23 hours on, and throws 402', async () => {
    await expect(billing.subscribe('u1', 'basic-monthly', 'tok_declined')).rejects.toBeInstanceOf(PaymentDeclined);
    const { subscription, access } = await billing.status('u1');
    expect(access).toBe(false);
    expect(subscription?.status).toBe('incomplete');
    expect([...scheduler.schedules.values()].map((j) => j.dueAt)).toEqual(['2027-02-01T08:30:00.250Z']);
    expect(await advanceTo('2027-02-01T08:30:01Z')).toEqual(['incomplete_expired']);
    expect((await billing.status('u1')).subscription?.status).toBe('incomplete_expired');
  });

  it('providers down: nothing charged, 503, and the user may try again at once', async () => {
    await expect(billing.subscribe('u1', 'basic-monthly', 'tok_down')).rejects.toBeInstanceOf(PaymentProvidersUnavailable);
    expect(payments.charged).toEqual([]);
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    expect(subscription.status).toBe('active');
  });

  it('refuses an unknown plan naming planId, and a second subscription while one gives access', async () => {
    await expect(billing.subscribe('u1', 'gold', 'tok_ok')).rejects.toBeInstanceOf(BadRequestError);
    await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    await expect(billing.subscribe('u1', 'pro-yearly', 'tok_ok')).rejects.toBeInstanceOf(AlreadySubscribed);
  });

  it('50 subscribes of one user at once: one charge, the others already_subscribed or in progress', async () => {
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => billing.subscribe('u1', 'basic-monthly', 'tok_ok')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toSatisfy((e) => e instanceof AlreadySubscribed || e instanceof SubscribeInProgress);
    expect(payments.charged).toHaveLength(1);
  });
});

describe('renewals', () => {
  it('12 months: 12 renewals, contiguous calendar-anchored periods, one schedule alive at a time', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    const ends: string[] = [subscription.currentPeriodEnd!];
    for (let month = 0; month < 12; month++) {
      expect(scheduler.schedules.size).toBe(1);
      const due = [...scheduler.schedules.values()][0]!.dueAt;
      expect(await advanceTo(due)).toEqual(['renewed']);
      const s = (await billing.status('u1')).subscription!;
      expect(s.currentPeriodStart).toBe(ends.at(-1));
      ends.push(s.currentPeriodEnd!);
    }
    expect(ends.slice(0, 4)).toEqual([
      '2027-02-28T09:30:00.000Z',
      '2027-03-31T09:30:00.000Z',
      '2027-04-30T09:30:00.000Z',
      '2027-05-31T09:30:00.000Z',
    ]);
    expect(payments.charged.filter((k) => k.startsWith('renewal:'))).toHaveLength(12);
  });

  it('a duplicate job, and a job run again after it renewed, charge nothing twice', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    const job = { userId: 'u1', subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd! };
    now = new Date(job.dueAt);
    const outcomes = await Promise.allSettled([billing.processDue(job), billing.processDue(job), billing.processDue(job)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value === 'renewed')).toHaveLength(1);
    // A copy that meets the renewal under way goes back to the queue, and then finds it done.
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ChargeInProgress);
    expect(await billing.processDue(job)).toBe('stale');
    expect(payments.charged.filter((k) => k.startsWith('renewal:'))).toHaveLength(1);
  });

  it('a declined renewal makes it past_due with access kept and nothing scheduled; paying recovers from the old end', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_fail_after_first');
    expect(await advanceTo(subscription.currentPeriodEnd!)).toEqual(['past_due']);
    expect(await billing.status('u1')).toMatchObject({ access: true, subscription: { status: 'past_due' } });
    expect(scheduler.schedules.size).toBe(0);
    now = new Date('2027-03-02T00:00:00Z');
    const paid = await billing.payNow('u1', subscription.id, 'tok_ok');
    expect(paid.subscription).toMatchObject({
      status: 'active',
      currentPeriodStart: '2027-02-28T09:30:00.000Z',
      currentPeriodEnd: '2027-03-31T09:30:00.000Z',
    });
    expect([...scheduler.schedules.values()].map((j) => j.dueAt)).toEqual(['2027-03-31T09:30:00.000Z']);
    await expect(billing.payNow('u1', subscription.id, 'tok_ok')).rejects.toBeInstanceOf(NoPaymentDue);
  });

  it('cancel at period end: access to the end, then canceled with no charge', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    expect((await billing.cancel('u1', true)).cancelAtPeriodEnd).toBe(true);
    expect((await billing.cancel('u1', true)).cancelAtPeriodEnd).toBe(true);
    expect(await advanceTo(subscription.currentPeriodEnd!)).toEqual(['canceled']);
    expect(await billing.status('u1')).toMatchObject({ access: false, subscription: { status: 'canceled' } });
    expect(payments.charged.filter((k) => k.startsWith('renewal:'))).toEqual([]);
  });

  it('cancel now: canceled at once, the schedule removed; twice is harmless', async () => {
    await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    expect((await billing.cancel('u1', false)).status).toBe('canceled');
    expect(scheduler.schedules.size).toBe(0);
    expect((await billing.cancel('u1', false)).status).toBe('canceled');
    await expect(billing.cancel('nobody', false)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('another user cannot pay or see a subscription that is not theirs', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    await expect(billing.payNow('u2', subscription.id, 'tok_ok')).rejects.toBeInstanceOf(NotFoundError);
    expect(await billing.status('u2')).toEqual({ subscription: null, access: false });
  });

  it('reconciliation enqueues overdue subscriptions whose schedule went missing', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    scheduler.schedules.clear(); // the schedule was never created
    now = new Date('2027-03-01T03:15:00Z');
    const enqueued: unknown[] = [];
    const count = await reconcileDue(store, { enqueue: async (jobs) => void enqueued.push(...jobs) }, () => now);
    expect(count).toBe(1);
    expect(enqueued).toEqual([{ userId: 'u1', subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd }]);
  });
});

describe('a charge under way holds the subscription', () => {
  it('a cancel now while its renewal is charging waits (409): never a paid renewal on a cancelled subscription', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    const job = { userId: 'u1', subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd! };
    now = new Date(job.dueAt);
    const charge = payments.hold();
    const renewal = billing.processDue(job);
    await charge.reached;
    await expect(billing.cancel('u1', false)).rejects.toBeInstanceOf(ChargeInProgress);
    await expect(billing.cancel('u1', true)).rejects.toBeInstanceOf(ChargeInProgress);
    charge.release();
    expect(await renewal).toBe('renewed');
    // The renewal came first: the cancel then ends the period it paid for, not the one before.
    const canceled = await billing.cancel('u1', false);
    expect(canceled).toMatchObject({ status: 'canceled', currentPeriodStart: subscription.currentPeriodEnd });
    expect(payments.charged.filter((k) => k.startsWith('renewal:'))).toHaveLength(1);
  });

  it('a renewal whose providers are down frees the subscription at once: a cancel then wins, and the retry charges nothing', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    await billing.updatePaymentMethod('u1', 'tok_down');
    const job = { userId: 'u1', subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd! };
    now = new Date(job.dueAt);
    await expect(billing.processDue(job)).rejects.toBeInstanceOf(PaymentProvidersUnavailable);
    expect((await billing.cancel('u1', false)).status).toBe('canceled');
    expect(await billing.processDue(job)).toBe('stale');
    expect(payments.charged.filter((k) => k.startsWith('renewal:'))).toEqual([]);
  });

  it('a renewal charges the payment method the subscription has when it starts charging', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_ok');
    const job = { userId: 'u1', subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd! };
    now = new Date(job.dueAt);
    await billing.updatePaymentMethod('u1', 'tok_declined');
    expect(await billing.processDue(job)).toBe('past_due');
  });

  it('a cancel now or a new payment method while a payment by the user is charging waits (409); nothing is lost', async () => {
    const { subscription } = await billing.subscribe('u1', 'basic-monthly', 'tok_fail_after_first');
    expect(await advanceTo(subscription.currentPeriodEnd!)).toEqual(['past_due']);
    const charge = payments.hold();
    const paying = billing.payNow('u1', subscription.id, 'tok_ok');
    await charge.reached;
    await expect(billing.cancel('u1', false)).rejects.toBeInstanceOf(ChargeInProgress);
    await expect(billing.updatePaymentMethod('u1', 'tok_other')).rejects.toBeInstanceOf(ChargeInProgress);
    charge.release();
    expect((await paying).subscription.status).toBe('active');
    // After it, both go through, and the new payment method is the one renewals charge.
    await billing.updatePaymentMethod('u1', 'tok_other');
    expect(store.items.get('u1')?.paymentToken).toBe('tok_other');
    expect((await billing.cancel('u1', false)).status).toBe('canceled');
  });

  it('a schedule that cannot be created after a subscribe does not fail the request: the reconciliation finds it', async () => {
    const failures: unknown[] = [];
    const flaky = { schedule: async () => Promise.reject(new Error('Scheduler throttled')), unschedule: async () => {} };
    const service = new BillingService({
      subscriptions: store,
      payments,
      scheduler: flaky,
      dunning,
      clock: () => now,
      onScheduleError: (error) => failures.push(error),
    });
    const { subscription } = await service.subscribe('u9', 'basic-monthly', 'tok_ok');
    expect(subscription.status).toBe('active');
    expect(failures).toHaveLength(1);
    now = new Date(Date.parse(subscription.currentPeriodEnd!) + 3_600_000);
    const enqueued: unknown[] = [];
    await reconcileDue(store, { enqueue: async (jobs) => void enqueued.push(...jobs) }, () => now);
    expect(enqueued).toEqual([{ userId: 'u9', subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd }]);
  });
});
