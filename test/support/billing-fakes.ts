/**
 * In-memory stand-ins for billing's ports, for unit tests of billing-service.ts. They keep the
 * contracts the DynamoDB adapters keep (conditional writes, one payment per charge key); the
 * adapters themselves are tested against DynamoDB Local.
 */
import { BillingService } from '../../lambdas/shared/billing/billing-service';
import type { DueJob, DueJobScheduler } from '../../lambdas/shared/billing/due-jobs';
import { type DunningPlan, type DunningSaga, dunningExecutionName } from '../../lambdas/shared/billing/dunning';
import { PaymentProvidersUnavailable } from '../../lambdas/shared/billing/errors';
import type { ChargeCommand, Payment, PaymentProcessor } from '../../lambdas/shared/billing/payments';
import type { Subscription } from '../../lambdas/shared/billing/subscription';
import type { BeginResult, Change, DueRef, Expect, SubscriptionStore } from '../../lambdas/shared/billing/subscription-store';
import { dueBucket } from '../../lambdas/shared/billing/dynamo-subscriptions';

export class MemorySubscriptionStore implements SubscriptionStore {
  readonly items = new Map<string, Subscription>();

  async get(userId: string) {
    return this.items.get(userId);
  }

  async begin(subscription: Subscription, leaseUntil: number, now: number): Promise<BeginResult> {
    const current = this.items.get(userId(subscription));
    if (current) {
      const ended = ['incomplete_expired', 'canceled', 'expired'].includes(current.status);
      const freeIncomplete = current.status === 'incomplete' && (current.leaseUntil === undefined || current.leaseUntil < now);
      if (!ended && !freeIncomplete)
        return current.status === 'active' || current.status === 'past_due' ? 'already_subscribed' : 'in_progress';
    }
    this.items.set(subscription.userId, { ...subscription, leaseUntil });
    return 'begun';
  }

  async lease(user: string, expect: Expect, leaseUntil: number, now: number) {
    return this.update(user, { ...expect, noLiveLeaseAt: now }, { set: { leaseUntil } });
  }

  async update(user: string, expect: Expect, change: Change) {
    const current = this.items.get(user);
    if (!current || current.id !== expect.id || !expect.status.includes(current.status)) return undefined;
    if (expect.dueAt !== undefined && current.dueAt !== expect.dueAt) return undefined;
    if (expect.periodEnd !== undefined && current.currentPeriodEnd !== expect.periodEnd) return undefined;
    if (expect.noLiveLeaseAt !== undefined && current.leaseUntil !== undefined && current.leaseUntil >= expect.noLiveLeaseAt)
      return undefined;
    const next: Record<string, unknown> = { ...current };
    for (const [k, v] of Object.entries(change.set)) if (v !== undefined) next[k] = v;
    for (const k of change.remove ?? []) delete next[k];
    this.items.set(user, next as unknown as Subscription);
    return next as unknown as Subscription;
  }

  async due(day: Date, until: Date): Promise<DueRef[]> {
    return [...this.items.values()]
      .filter((s) => s.dueAt !== undefined && dueBucket(s.dueAt) === dueBucket(day) && s.dueAt <= until.toISOString())
      .map((s) => ({ userId: s.userId, subscriptionId: s.id, dueAt: s.dueAt! }));
  }
}

const userId = (s: Subscription) => s.userId;

/** Charges by token: tok_ok succeeds, tok_declined declines, tok_down is every provider down. */
export class MemoryPaymentProcessor implements PaymentProcessor {
  readonly payments = new Map<string, Payment>();
  /** Charge keys in the order they reached a provider (a repeat of a key is not a charge). */
  readonly charged: string[] = [];
  /** Tokens that decline after their first success (like tok_fail_after_first). */
  private readonly usedOnce = new Set<string>();
  private held?: { reached: () => void; gate: Promise<void> };

  constructor(private readonly now: () => Date) {}

  /**
   * Holds the next charge on its way to the provider until `release()`: a charge under way, for
   * tests of what happens meanwhile. `reached` resolves once the charge is held.
   */
  hold(): { readonly reached: Promise<void>; release(): void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    this.held = { reached, gate: new Promise<void>((resolve) => (release = resolve)) };
    return { reached: reachedPromise, release };
  }

  async charge(command: ChargeCommand): Promise<Payment> {
    const held = this.held;
    if (held) {
      this.held = undefined;
      held.reached();
      await held.gate;
    }
    const existing = this.payments.get(command.chargeKey);
    if (existing) return existing;
    if (command.paymentToken === 'tok_down') throw new PaymentProvidersUnavailable();
    let status: Payment['status'] = 'succeeded';
    let failureCode: string | undefined;
    const onceKey = `${command.userId}:${command.paymentToken}`;
    if (command.paymentToken === 'tok_declined' || (command.paymentToken === 'tok_fail_after_first' && this.usedOnce.has(onceKey))) {
      status = 'failed';
      failureCode = 'card_declined';
    }
    if (command.paymentToken === 'tok_fail_after_first') this.usedOnce.add(onceKey);
    this.charged.push(command.chargeKey);
    const payment: Payment = {
      id: `pay_${this.payments.size + 1}`,
      userId: command.userId,
      purpose: command.purpose,
      reason: command.reason,
      subscriptionId: command.subscriptionId,
      amount: command.amount.amount,
      currency: command.amount.currency,
      status,
      provider: 'memory',
      ...(failureCode ? { failureCode } : {}),
      ...(command.periodEnd ? { periodEnd: command.periodEnd } : {}),
      chargeKey: command.chargeKey,
      createdAt: this.now().toISOString(),
    };
    this.payments.set(command.chargeKey, payment);
    return payment;
  }
}

/** Schedules by name, as Scheduler does: creating one that exists is a no-op. */
export class MemoryScheduler implements DueJobScheduler {
  readonly schedules = new Map<string, DueJob>();
  readonly calls: string[] = [];

  async schedule(job: DueJob) {
    this.calls.push(`schedule ${job.dueAt}`);
    this.schedules.set(`${job.subscriptionId}@${job.dueAt}`, job);
  }

  async unschedule(job: DueJob) {
    this.calls.push(`unschedule ${job.dueAt}`);
    this.schedules.delete(`${job.subscriptionId}@${job.dueAt}`);
  }

  /** The jobs due at or before `now`, removed as Scheduler's ActionAfterCompletion DELETE does. */
  fire(now: Date): DueJob[] {
    const due = [...this.schedules.entries()].filter(([, job]) => job.dueAt <= now.toISOString());
    for (const [name] of due) this.schedules.delete(name);
    return due.map(([, job]) => job);
  }
}

/** Records sagas as Step Functions would keep executions: one per name, started once. */
export class MemoryDunning implements DunningSaga {
  readonly started = new Map<string, DunningPlan>();
  readonly stopped: string[] = [];
  readonly calls: string[] = [];

  async start(plan: DunningPlan) {
    const name = dunningExecutionName(plan.subscriptionId, plan.periodEnd);
    this.calls.push(`start ${name}`);
    if (!this.started.has(name)) this.started.set(name, plan);
  }

  async stop(subscriptionId: string, periodEnd: string) {
    const name = dunningExecutionName(subscriptionId, periodEnd);
    this.calls.push(`stop ${name}`);
    this.stopped.push(name);
  }
}

/** A BillingService on fresh in-memory ports, all on `clock`, and the ports to look into. */
export function memoryBilling(clock: () => Date) {
  const store = new MemorySubscriptionStore();
  const payments = new MemoryPaymentProcessor(clock);
  const scheduler = new MemoryScheduler();
  const dunning = new MemoryDunning();
  const billing = new BillingService({ subscriptions: store, payments, scheduler, dunning, clock });
  return { store, payments, scheduler, dunning, billing };
}
