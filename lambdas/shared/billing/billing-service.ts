/**
 * Billing's use cases (DESIGN.md section 5; docs/billing.md): subscribe, status, cancel, payment
 * method, a payment by the user, and what the charge worker and the reconciliation run. Free of
 * AWS: it talks to a `SubscriptionStore`, a `PaymentProcessor` and a `DueJobScheduler`.
 *
 * Never twice: every change is a conditional write on the subscription checked against what was
 * read (subscription-store.ts); every charge has a key that charges at most once
 * (payments.ts): `subscribe:<id>` for a subscribe, `renewal:<id>:<periodEnd>` for a renewal, so a
 * duplicate due job, a reconciliation of a subscription already renewed, or a worker retried
 * after it charged, all end with one payment. Every charge holds the subscription's charge lease
 * while it runs (a subscribe, a payment by the user, a renewal), so two never run at once, and
 * what the user changes meanwhile (a cancel, a new payment method) waits for its outcome: a 409
 * `request_in_progress` rather than a cancel landing on a subscription just charged, or a payment
 * method overwritten by the charge's.
 *
 * A declined renewal starts the dunning saga (dunning.ts), whose steps come back here
 * (`dunningStep`); the ways out of dunning (a payment by the user, a new payment method, a cancel)
 * stop it once they have committed, and a step that runs anyway finds nothing to do.
 *
 * Events and live frames are not sent from here: every change is an item change, and the
 * stream turns it into both (decision 10).
 */
import { randomUUID } from 'node:crypto';
import { BadRequestError, NotFoundError } from '../errors';
import type { Clock } from '../clock';
import type { Notice } from '../notifications/notices';
import type { DueJob, DueJobScheduler } from './due-jobs';
import { dunningPlan, type DunningOutcome, type DunningPlan, type DunningSaga, type DunningStep } from './dunning';
import {
  AlreadySubscribed,
  ChargeInProgress,
  NoPaymentDue,
  PaymentDeclined,
  PaymentProvidersUnavailable,
  SubscribeInProgress,
} from './errors';
import type { Payment, PaymentProcessor } from './payments';
import { periodBoundary, toSecond } from './periods';
import { findPlan, PLANS, type Plan } from './plans';
import { ACCESS_STATUSES, hasAccess, INCOMPLETE_TTL_MS, type Subscription, type SubscriptionView, subscriptionView } from './subscription';
import type { Change, SubscriptionStore } from './subscription-store';
import type { DeclineCode } from './providers';

/** How long a user-started charge holds the subscription: longer than a charge with failover takes. */
export const CHARGE_LEASE_MS = 60_000;

export interface SubscribeResult {
  readonly subscription: SubscriptionView;
  readonly payment: Payment;
}

export interface StatusResult {
  readonly subscription: SubscriptionView | null;
  readonly access: boolean;
}

/** What a step of the dunning saga decided, and the notice to send next (if any). */
export interface DunningStepResult {
  readonly outcome: DunningOutcome;
  readonly notice?: Notice;
}

/** What the payment-method change did: a `past_due` subscription is charged at once with it. */
export interface PaymentMethodResult {
  readonly subscription: SubscriptionView;
  /** The retry's payment (`past_due` only); null when no provider was available to retry. */
  readonly payment?: Payment | null;
}

export interface BillingDependencies {
  readonly subscriptions: SubscriptionStore;
  readonly payments: PaymentProcessor;
  readonly scheduler: DueJobScheduler;
  readonly dunning: DunningSaga;
  readonly clock: Clock;
  /** Told when a request's schedule or saga change failed after its write (logged by the caller). @default ignored */
  readonly onScheduleError?: (error: unknown, job: DueJob) => void;
}

/** What a due job did (for logs and metrics). */
export type DueOutcome = 'renewed' | 'past_due' | 'canceled' | 'incomplete_expired' | 'rescheduled' | 'stale';

export class BillingService {
  private readonly subscriptions: SubscriptionStore;
  private readonly payments: PaymentProcessor;
  private readonly scheduler: DueJobScheduler;
  private readonly dunning: DunningSaga;
  private readonly clock: Clock;
  private readonly onScheduleError: (error: unknown, job: DueJob) => void;

  constructor(dependencies: BillingDependencies) {
    this.subscriptions = dependencies.subscriptions;
    this.payments = dependencies.payments;
    this.scheduler = dependencies.scheduler;
    this.dunning = dependencies.dunning;
    this.clock = dependencies.clock;
    this.onScheduleError = dependencies.onScheduleError ?? (() => {});
  }

  plans(): readonly Plan[] {
    return PLANS;
  }

  /**
   * Subscribes and charges the first period at once. Declined: the subscription stays
   * `incomplete` (expiring after 23 hours) and `PaymentDeclined` is thrown (402).
   */
  async subscribe(userId: string, planId: string, paymentToken: string): Promise<SubscribeResult> {
    const plan = findPlan(planId);
    if (!plan)
      throw new BadRequestError(`Unknown plan ${planId}`, [
        { field: 'planId', message: `No plan "${planId}"; see GET /api/v1/subscriptions/plans` },
      ]);
    const now = this.clock();
    const iso = now.toISOString();
    const fresh: Subscription = {
      id: `sub_${randomUUID()}`,
      userId,
      planId: plan.id,
      status: 'incomplete',
      amount: plan.amount,
      currency: plan.currency,
      interval: plan.interval,
      intervalCount: plan.intervalCount,
      period: 0,
      cancelAtPeriodEnd: false,
      paymentToken,
      createdAt: iso,
      updatedAt: iso,
    };
    const begun = await this.subscriptions.begin(fresh, now.getTime() + CHARGE_LEASE_MS, now.getTime());
    if (begun === 'already_subscribed') throw new AlreadySubscribed();
    if (begun === 'in_progress') throw new SubscribeInProgress();
    return this.chargeToActivate(fresh, paymentToken, `subscribe:${fresh.id}`, 'subscribe');
  }

  async status(userId: string): Promise<StatusResult> {
    const subscription = await this.subscriptions.get(userId);
    return {
      subscription: subscription ? subscriptionView(subscription) : null,
      access: subscription ? hasAccess(subscription.status) : false,
    };
  }

  /**
   * At period end (the default): access to the end, then `canceled` with no charge. Now: `canceled`
   * at once and the due job removed. A subscription in dunning (`past_due`) has no paid period
   * left, so either way it is cancelled now. Cancelling again, or an ended one, changes nothing.
   * While a charge holds the subscription, `ChargeInProgress` (409): the charge's outcome first.
   */
  async cancel(userId: string, atPeriodEnd: boolean): Promise<SubscriptionView> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.subscriptions.get(userId);
      if (!current) throw new NotFoundError('You have no subscription');
      if (!hasAccess(current.status)) return subscriptionView(current);
      if (atPeriodEnd && current.status === 'active' && current.cancelAtPeriodEnd) return subscriptionView(current);
      const at = this.clock();
      const now = at.toISOString();
      // Cancelled under a renewal or a payment by the user, the subscription would keep a payment
      // for a period it no longer has; the lease in the condition covers a charge begun since the read.
      if (isHeld(current, at)) throw new ChargeInProgress();
      const expect = { id: current.id, noLiveLeaseAt: at.getTime() };
      if (atPeriodEnd && current.status === 'active') {
        const updated = await this.subscriptions.update(
          userId,
          { ...expect, status: ['active'] },
          { set: { cancelAtPeriodEnd: true, updatedAt: now } },
        );
        if (updated) return subscriptionView(updated);
        continue;
      }
      const updated = await this.subscriptions.update(
        userId,
        { ...expect, status: ACCESS_STATUSES },
        { set: { status: 'canceled', canceledAt: now, updatedAt: now }, remove: ['dueAt'] },
      );
      if (!updated) continue;
      if (current.dueAt) await this.afterCommit('unschedule', { userId, subscriptionId: current.id, dueAt: current.dueAt });
      if (current.status === 'past_due') await this.stopDunning(current);
      return subscriptionView(updated);
    }
    throw new ChargeInProgress();
  }

  /**
   * The payment method later charges use. Not while a charge runs: a payment by the user makes its
   * own token the payment method when it succeeds, and would overwrite this one. A `past_due`
   * subscription is charged at once with the new method (DESIGN.md section 5, Dunning): paid, it is
   * `active` again and the saga stops; declined, it stays `past_due` with the new method, which the
   * saga's next retry uses.
   */
  async updatePaymentMethod(userId: string, paymentToken: string): Promise<PaymentMethodResult> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.subscriptions.get(userId);
      if (!current) throw new NotFoundError('You have no subscription');
      if (!hasAccess(current.status) && current.status !== 'incomplete') throw new NoPaymentDue(current.status);
      const at = this.clock();
      if (isHeld(current, at)) throw new ChargeInProgress();
      if (current.status === 'past_due') {
        // The new method and the charge lease in one write: nothing else charges meanwhile.
        const leased = await this.subscriptions.update(
          userId,
          { id: current.id, status: ['past_due'], noLiveLeaseAt: at.getTime() },
          { set: { paymentToken, leaseUntil: at.getTime() + CHARGE_LEASE_MS, updatedAt: at.toISOString() } },
        );
        if (!leased) continue;
        try {
          const paid = await this.chargeToRecover(
            leased,
            paymentToken,
            `recovery:${leased.id}:${leased.currentPeriodEnd}:${randomUUID()}`,
            'recovery',
          );
          return { subscription: paid.subscription, payment: paid.payment };
        } catch (error) {
          if (error instanceof PaymentDeclined) return { subscription: subscriptionView(leased), payment: error.payment ?? null };
          if (error instanceof PaymentProvidersUnavailable) return { subscription: subscriptionView(leased), payment: null };
          throw error;
        }
      }
      const updated = await this.subscriptions.update(
        userId,
        { id: current.id, status: [current.status], noLiveLeaseAt: at.getTime() },
        { set: { paymentToken, updatedAt: at.toISOString() } },
      );
      if (updated) return { subscription: subscriptionView(updated) };
    }
    throw new ChargeInProgress();
  }

  /**
   * A payment by the user (`payments/process`, purpose `subscription`): pays what is owed. An
   * `incomplete` subscription is activated from now; a `past_due` one gets its next period, from
   * the end of the last paid one. Anything else owes nothing (409).
   */
  async payNow(userId: string, subscriptionId: string, paymentToken: string): Promise<SubscribeResult> {
    const current = await this.subscriptions.get(userId);
    // Another user's id and no id at all look the same: 404.
    if (!current || current.id !== subscriptionId) throw new NotFoundError(`No subscription ${subscriptionId}`);
    if (current.status !== 'incomplete' && current.status !== 'past_due') throw new NoPaymentDue(current.status);
    const now = this.clock().getTime();
    const leased = await this.subscriptions.lease(userId, { id: current.id, status: [current.status] }, now + CHARGE_LEASE_MS, now);
    if (!leased) throw new ChargeInProgress();
    if (leased.status === 'incomplete') {
      return this.chargeToActivate(leased, paymentToken, `subscribe:${leased.id}:${randomUUID()}`, 'recovery');
    }
    return this.chargeToRecover(leased, paymentToken, `recovery:${leased.id}:${leased.currentPeriodEnd}:${randomUUID()}`, 'recovery');
  }

  /**
   * Runs a due job (the charge worker): renews, cancels at period end, or expires an `incomplete`
   * subscription, whichever its state says is due. A job that no longer matches the subscription
   * (already done, replaced, cancelled) does nothing but make sure the current due time is
   * scheduled. Throws when the job must be retried (providers unavailable, a charge under way).
   */
  async processDue(job: DueJob): Promise<DueOutcome> {
    const current = await this.subscriptions.get(job.userId);
    if (!current || current.id !== job.subscriptionId) return 'stale';
    if (current.dueAt !== job.dueAt) {
      // Declined already (a duplicate, or a retry after starting the saga failed): the saga must
      // run; starting it again is a no-op.
      if (current.status === 'past_due' && current.currentPeriodEnd === job.dueAt) {
        await this.dunning.start(dunningPlan(current, job.dueAt));
        return 'stale';
      }
      // Done already (a duplicate, or a retry after the work succeeded but scheduling the next
      // job failed): the next job must exist.
      if (current.dueAt && current.dueAt > job.dueAt)
        await this.scheduler.schedule({ userId: current.userId, subscriptionId: current.id, dueAt: current.dueAt });
      return 'stale';
    }
    const now = this.clock();
    if (new Date(job.dueAt) > now) {
      await this.scheduler.schedule(job);
      return 'rescheduled';
    }
    const iso = now.toISOString();
    const expect = { id: current.id, dueAt: job.dueAt };
    if (current.status === 'incomplete') {
      const expired = await this.subscriptions.update(
        job.userId,
        { ...expect, status: ['incomplete'], noLiveLeaseAt: now.getTime() },
        { set: { status: 'incomplete_expired', updatedAt: iso }, remove: ['dueAt'] },
      );
      // Not expired: a payment by the user holds it; the queue retries the job after it.
      if (!expired) throw new ChargeInProgress();
      return 'incomplete_expired';
    }
    if (current.status !== 'active') return 'stale';
    if (current.cancelAtPeriodEnd) return this.endAtPeriodEnd(current, job);
    // The renewal holds the subscription while it charges (see the module header). Not leased:
    // another charge holds it (a duplicate of this job), or it changed since the read; the queue
    // brings the job back, and the next run sees which.
    const leased = await this.subscriptions.lease(
      job.userId,
      { ...expect, status: ['active'] },
      now.getTime() + CHARGE_LEASE_MS,
      now.getTime(),
    );
    if (!leased) throw new ChargeInProgress();
    // Cancelled at period end between the read and the lease: that is what is due now.
    if (leased.cancelAtPeriodEnd) return this.endAtPeriodEnd(leased, job);
    return this.renew(leased, job);
  }

  private async endAtPeriodEnd(current: Subscription, job: DueJob): Promise<DueOutcome> {
    const canceled = await this.subscriptions.update(
      job.userId,
      { id: current.id, dueAt: job.dueAt, status: ['active'] },
      { set: { status: 'canceled', canceledAt: job.dueAt, updatedAt: this.clock().toISOString() }, remove: ['dueAt', 'leaseUntil'] },
    );
    return canceled ? 'canceled' : 'stale';
  }

  /** Charges the period after `current` (which holds the lease) and moves the period on, or makes it `past_due`. */
  private async renew(current: Subscription, job: DueJob): Promise<DueOutcome> {
    const periodEnd = job.dueAt;
    let payment: Payment;
    try {
      payment = await this.payments.charge({
        chargeKey: `renewal:${current.id}:${periodEnd}`,
        userId: current.userId,
        amount: { amount: current.amount, currency: current.currency },
        paymentToken: current.paymentToken,
        purpose: 'subscription',
        reason: 'renewal',
        subscriptionId: current.id,
        periodEnd,
        description: `Renewal of ${current.planId}`,
      });
    } catch (error) {
      // Nothing was charged (providers down, the key held elsewhere): free the subscription now, so
      // a cancel need not wait for the retry. Any other failure may have charged: the lease stays
      // until it runs out, and the retry finds the charge key's payment.
      if (error instanceof PaymentProvidersUnavailable || error instanceof ChargeInProgress) await this.release(current);
      throw error;
    }
    const iso = this.clock().toISOString();
    const expect = { id: current.id, dueAt: job.dueAt, status: ['active'] as const };
    if (payment.status !== 'succeeded') {
      const pastDue = await this.subscriptions.update(current.userId, expect, {
        set: { status: 'past_due', updatedAt: iso },
        remove: ['dueAt', 'leaseUntil'],
      });
      if (!pastDue) throw new Error(`Subscription ${current.id} changed while its renewal held the lease`);
      // Not started: the job fails and comes back, and the branch for a declined renewal above starts it.
      await this.dunning.start(dunningPlan(current, periodEnd));
      return 'past_due';
    }
    const next = this.nextPeriod(current);
    const renewed = await this.subscriptions.update(current.userId, expect, { set: { ...next, updatedAt: iso }, remove: ['leaseUntil'] });
    // Only a lease that ran out mid-charge lets anything else change it: the payment is recorded, and
    // this failure is logged and retried (the retry finds the subscription changed).
    if (!renewed) throw new Error(`Subscription ${current.id} changed while its renewal held the lease`);
    await this.scheduler.schedule({ userId: current.userId, subscriptionId: current.id, dueAt: next.dueAt });
    return 'renewed';
  }

  /** Charges the first period of an `incomplete` subscription (which holds the lease) and activates it. */
  private async chargeToActivate(
    subscription: Subscription,
    paymentToken: string,
    chargeKey: string,
    reason: 'subscribe' | 'recovery',
  ): Promise<SubscribeResult> {
    let payment: Payment;
    try {
      payment = await this.payments.charge({
        chargeKey,
        userId: subscription.userId,
        amount: { amount: subscription.amount, currency: subscription.currency },
        paymentToken,
        purpose: 'subscription',
        reason,
        subscriptionId: subscription.id,
        description: `Subscription to ${subscription.planId}`,
      });
    } catch (error) {
      // Nothing was charged (providers down): leave it `incomplete`, expiring, and free to retry.
      await this.settleIncomplete(subscription);
      throw error;
    }
    if (payment.status !== 'succeeded') {
      await this.settleIncomplete(subscription);
      throw new PaymentDeclined((payment.failureCode ?? 'card_declined') as DeclineCode, payment);
    }
    const anchor = toSecond(this.clock());
    const end = periodBoundary(anchor, subscription, 1);
    const change: Change = {
      set: {
        status: 'active',
        paymentToken,
        anchor: anchor.toISOString(),
        period: 1,
        currentPeriodStart: anchor.toISOString(),
        currentPeriodEnd: end.toISOString(),
        dueAt: end.toISOString(),
        updatedAt: this.clock().toISOString(),
      },
      remove: ['leaseUntil'],
    };
    const activated = await this.subscriptions.update(subscription.userId, { id: subscription.id, status: ['incomplete'] }, change);
    // The lease kept everyone else off this subscription, so the write can only fail if the lease
    // ran out mid-charge and an expiry won: the payment is recorded, the worker's expiry lost.
    if (!activated) throw new Error(`Subscription ${subscription.id} changed while its first charge held the lease`);
    // An `incomplete` subscription paid later had its expiry scheduled: one job at a time.
    if (subscription.dueAt)
      await this.afterCommit('unschedule', { userId: subscription.userId, subscriptionId: subscription.id, dueAt: subscription.dueAt });
    await this.afterCommit('schedule', { userId: activated.userId, subscriptionId: activated.id, dueAt: activated.dueAt! });
    return { subscription: subscriptionView(activated), payment };
  }

  /**
   * Pays the next period of a `past_due` subscription (which holds the lease): `active` again from
   * the end of the last paid period, the next renewal scheduled. Paid by the user (`recovery`), the
   * saga is stopped; paid by the saga's retry (`dunning`), the saga ends by itself.
   */
  private async chargeToRecover(
    subscription: Subscription,
    paymentToken: string,
    chargeKey: string,
    reason: 'recovery' | 'dunning',
  ): Promise<SubscribeResult> {
    let payment: Payment;
    try {
      payment = await this.payments.charge({
        chargeKey,
        userId: subscription.userId,
        amount: { amount: subscription.amount, currency: subscription.currency },
        paymentToken,
        purpose: 'subscription',
        reason,
        subscriptionId: subscription.id,
        periodEnd: subscription.currentPeriodEnd,
        description: `Payment of ${subscription.planId}`,
      });
    } catch (error) {
      await this.release(subscription);
      throw error;
    }
    if (payment.status !== 'succeeded') {
      await this.release(subscription);
      throw new PaymentDeclined((payment.failureCode ?? 'card_declined') as DeclineCode, payment);
    }
    const next = this.nextPeriod(subscription);
    const recovered = await this.subscriptions.update(
      subscription.userId,
      { id: subscription.id, status: ['past_due'] },
      { set: { ...next, status: 'active', paymentToken, updatedAt: this.clock().toISOString() }, remove: ['leaseUntil'] },
    );
    if (!recovered) throw new Error(`Subscription ${subscription.id} changed while a payment held its lease`);
    await this.afterCommit('schedule', { userId: recovered.userId, subscriptionId: recovered.id, dueAt: next.dueAt });
    if (reason === 'recovery') await this.stopDunning(subscription);
    return { subscription: subscriptionView(recovered), payment };
  }

  /**
   * One step of the dunning saga of `plan` (dunning.ts; the step function calls it). Every step
   * first checks that the subscription is still `past_due` for the plan's period: paid, cancelled
   * or replaced meanwhile, the step answers `ended` and does nothing. A retry charges the current
   * payment method with the key `dunning:<id>:<periodEnd>:<attempt>`, so a step run again charges
   * at most once. Throws `ChargeInProgress` while a payment by the user holds the subscription and
   * `PaymentProvidersUnavailable` when nothing could charge: the state machine retries both later.
   */
  async dunningStep(plan: DunningPlan, step: DunningStep): Promise<DunningStepResult> {
    const current = await this.subscriptions.get(plan.userId);
    const inDunning = (s: Subscription | undefined): s is Subscription =>
      s !== undefined && s.id === plan.subscriptionId && s.status === 'past_due' && s.currentPeriodEnd === plan.periodEnd;
    if (!inDunning(current)) return { outcome: 'ended' };
    const owed = { planId: current.planId, amount: current.amount, currency: current.currency };
    const noticeId = (what: string) => `dunning:${current.id}:${plan.periodEnd}:${what}`;
    const now = this.clock();
    const expect = { id: current.id, status: ['past_due'] as const, periodEnd: plan.periodEnd };

    if (step.action === 'begin') {
      const nextRetryAt = plan.retries[0]?.at ?? plan.expireAt;
      return {
        outcome: 'pending',
        notice: { noticeId: noticeId('failed'), userId: current.userId, template: 'payment_failed', data: { ...owed, nextRetryAt } },
      };
    }
    if (step.action === 'expire') {
      const expired = await this.subscriptions.update(
        current.userId,
        { ...expect, noLiveLeaseAt: now.getTime() },
        { set: { status: 'expired', expiredAt: now.toISOString(), updatedAt: now.toISOString() } },
      );
      if (!expired) {
        // A payment by the user holds it (retried shortly), or it left dunning since the read.
        if (inDunning(await this.subscriptions.get(plan.userId))) throw new ChargeInProgress();
        return { outcome: 'ended' };
      }
      return {
        outcome: 'expired',
        notice: {
          noticeId: noticeId('expired'),
          userId: current.userId,
          template: 'subscription_expired',
          data: { planId: current.planId },
        },
      };
    }

    const index = plan.retries.findIndex((r) => r.attempt === step.attempt);
    const retry = plan.retries[index];
    if (!retry) throw new Error(`Dunning plan of ${plan.subscriptionId} has no attempt ${step.attempt}`);
    const leased = await this.subscriptions.lease(current.userId, expect, now.getTime() + CHARGE_LEASE_MS, now.getTime());
    if (!leased) {
      if (inDunning(await this.subscriptions.get(plan.userId))) throw new ChargeInProgress();
      return { outcome: 'ended' };
    }
    try {
      await this.chargeToRecover(leased, leased.paymentToken, `dunning:${leased.id}:${plan.periodEnd}:${retry.attempt}`, 'dunning');
      return { outcome: 'recovered' };
    } catch (error) {
      if (!(error instanceof PaymentDeclined)) throw error;
      const nextRetryAt = plan.retries[index + 1]?.at ?? null;
      return {
        outcome: 'declined',
        notice: {
          noticeId: noticeId(`reminder:${retry.attempt}`),
          userId: current.userId,
          template: 'payment_reminder',
          data: { ...owed, daysLeft: retry.daysLeft, nextRetryAt },
        },
      };
    }
  }

  /** Stops the saga of `subscription`'s period after a way out of dunning committed (best effort: its steps check anyway). */
  private async stopDunning(subscription: Subscription): Promise<void> {
    if (!subscription.currentPeriodEnd) return;
    try {
      await this.dunning.stop(subscription.id, subscription.currentPeriodEnd);
    } catch (error) {
      this.onScheduleError(error, { userId: subscription.userId, subscriptionId: subscription.id, dueAt: subscription.currentPeriodEnd });
    }
  }

  /**
   * A schedule change a request makes after its write has committed: it must not turn a done
   * change (a charge taken, a cancel applied) into a 500. A schedule that failed to be created is
   * found by the daily reconciliation (the item's `dueAt` is in the due index); one that failed to
   * be deleted fires a job the worker finds stale.
   */
  private async afterCommit(action: 'schedule' | 'unschedule', job: DueJob): Promise<void> {
    try {
      await this.scheduler[action](job);
    } catch (error) {
      this.onScheduleError(error, job);
    }
  }

  /** The period after the subscription's current one, calendar-anchored (periods.ts). */
  private nextPeriod(s: Subscription) {
    const anchor = new Date(s.anchor!);
    const period = s.period + 1;
    const start = periodBoundary(anchor, s, s.period).toISOString();
    const end = periodBoundary(anchor, s, period).toISOString();
    return { period, currentPeriodStart: start, currentPeriodEnd: end, dueAt: end };
  }

  /** A first charge that did not succeed: `incomplete`, expiring 23 hours after it was created. */
  private async settleIncomplete(subscription: Subscription): Promise<void> {
    const dueAt = new Date(new Date(subscription.createdAt).getTime() + INCOMPLETE_TTL_MS).toISOString();
    const settled = await this.subscriptions.update(
      subscription.userId,
      { id: subscription.id, status: ['incomplete'] },
      { set: { dueAt, updatedAt: this.clock().toISOString() }, remove: ['leaseUntil'] },
    );
    if (settled) await this.afterCommit('schedule', { userId: subscription.userId, subscriptionId: subscription.id, dueAt });
  }

  /** Ends the charge lease `subscription` holds. */
  private async release(subscription: Subscription): Promise<void> {
    await this.subscriptions.update(
      subscription.userId,
      { id: subscription.id, status: [subscription.status] },
      { set: {}, remove: ['leaseUntil'] },
    );
  }
}

/** Whether a charge holds the subscription at `now` (its lease has not run out). */
function isHeld(subscription: Subscription, now: Date): boolean {
  return subscription.leaseUntil !== undefined && subscription.leaseUntil >= now.getTime();
}
