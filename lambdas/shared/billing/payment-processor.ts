/**
 * The `PaymentProcessor` over payment providers (DESIGN.md section 5): one charge per `chargeKey`
 * whatever happens around it, failing over between providers on provider errors only.
 *
 * How a key charges at most once:
 * - A lease on the key (`ChargeClaimStore`) lets one invocation at a time call providers; another
 *   caller meanwhile gets the recorded payment, or `ChargeInProgress` while there is none.
 * - The claim pins the provider that may have charged the key. A retry starts at the pinned one,
 *   whose own idempotency answers a charge it already took; the pin moves (a conditional write)
 *   before any other provider is called, so a key is never in flight at two providers.
 * - The payment's id and time come from the claim (the id from the key, the time from the first
 *   claim), so a repeat records the same `Payment` item, and a conditional put keeps the first.
 *
 * Declines are answers: recorded as a failed payment, never failed over. Provider errors feed the
 * provider's circuit breaker (breaker.ts) and move on to the next provider; when none answers,
 * nothing was charged, nothing is recorded and the lease is released for an immediate retry.
 * Any other error (a bug, a timeout) leaves the lease to expire: whether it charged is unknown, so
 * the next holder asks the pinned provider first.
 */
import { createHash, randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import type { CircuitBreaker } from './breaker';
import { ChargeInProgress, PaymentProvidersUnavailable } from './errors';
import type { ChargeCommand, Payment, PaymentProcessor } from './payments';
import { ProviderError, type ChargeOutcome, type PaymentProvider } from './providers';

/** The charge key's claim: what every attempt at the key shares. */
export interface ChargeClaim {
  readonly paymentId: string;
  /** When the key was first claimed (ISO): the payment's `createdAt`. Never changes. */
  readonly startedAt: string;
  /** The provider the key is pinned to: the only one that may have charged it. */
  readonly provider: string;
}

export type ClaimResult =
  | {
      readonly kind: 'claimed';
      readonly claim: ChargeClaim;
      /** Who had the key before: nobody, a holder that released it, or one whose lease ran out. */
      readonly previous: 'none' | 'released' | 'expired';
    }
  | { readonly kind: 'held'; readonly claim: ChargeClaim };

export interface ChargeClaimStore {
  /**
   * Takes the key's lease for `holder` until `leaseUntil` (epoch ms): creates the claim from
   * `fresh`, or takes over a lease that ended at `now`, keeping the claim's values. Answers
   * `held` (and the claim) while another holder's lease is live.
   */
  claim(chargeKey: string, fresh: ChargeClaim, holder: string, now: number, leaseUntil: number): Promise<ClaimResult>;
  /** Moves the pin from `from` to `to`; false when `holder` no longer holds the lease. */
  pin(chargeKey: string, holder: string, from: string, to: string): Promise<boolean>;
  /** Ends `holder`'s lease now. */
  release(chargeKey: string, holder: string): Promise<void>;
}

export interface PaymentRecords {
  /** Records `payment` unless its item exists; answers the payment that stands. */
  record(payment: Payment): Promise<Payment>;
  /** The user's payment `paymentId` created at `createdAt`, if recorded. */
  find(userId: string, createdAt: string, paymentId: string): Promise<Payment | undefined>;
}

export interface ProviderPaymentProcessorDeps {
  /** In failover order. Names must be unique: breakers and pins go by name. */
  readonly providers: readonly PaymentProvider[];
  readonly breaker: CircuitBreaker;
  readonly claims: ChargeClaimStore;
  readonly payments: PaymentRecords;
  /** @default systemClock */
  readonly clock?: Clock;
  /** How long a claim holds the key; longer than any provider call can take. @default 30_000 */
  readonly leaseMs?: number;
}

/** The payment id of a charge key: the same on every attempt, so a repeat finds the payment. */
export function paymentIdFor(chargeKey: string): string {
  return `pay_${createHash('sha256').update(chargeKey).digest('hex').slice(0, 24)}`;
}

export class ProviderPaymentProcessor implements PaymentProcessor {
  private readonly providers: readonly PaymentProvider[];
  private readonly breaker: CircuitBreaker;
  private readonly claims: ChargeClaimStore;
  private readonly payments: PaymentRecords;
  private readonly clock: Clock;
  private readonly leaseMs: number;

  constructor(deps: ProviderPaymentProcessorDeps) {
    if (deps.providers.length === 0) throw new Error('ProviderPaymentProcessor needs at least one provider');
    if (new Set(deps.providers.map((p) => p.name)).size !== deps.providers.length) throw new Error('Provider names must be unique');
    this.providers = deps.providers;
    this.breaker = deps.breaker;
    this.claims = deps.claims;
    this.payments = deps.payments;
    this.clock = deps.clock ?? systemClock;
    this.leaseMs = deps.leaseMs ?? 30_000;
  }

  async charge(command: ChargeCommand): Promise<Payment> {
    const holder = randomUUID();
    const now = this.clock();
    const fresh: ChargeClaim = {
      paymentId: paymentIdFor(command.chargeKey),
      startedAt: now.toISOString(),
      provider: this.providers[0]!.name,
    };
    const claimed = await this.claims.claim(command.chargeKey, fresh, holder, now.getTime(), now.getTime() + this.leaseMs);
    if (claimed.kind === 'held') {
      const payment = await this.recorded(command, claimed.claim);
      if (payment) return payment;
      throw new ChargeInProgress();
    }
    const { claim, previous } = claimed;
    if (previous !== 'none') {
      const payment = await this.recorded(command, claim);
      if (payment) return payment;
    }
    const outcome = await this.firstAnswer(command, claim, holder, previous === 'expired');
    if (!outcome) {
      await this.claims.release(command.chargeKey, holder);
      throw new PaymentProvidersUnavailable();
    }
    return this.payments.record(paymentOf(command, claim, outcome));
  }

  private recorded(command: ChargeCommand, claim: ChargeClaim): Promise<Payment | undefined> {
    return this.payments.find(command.userId, claim.startedAt, claim.paymentId);
  }

  /** The first provider's answer from the pinned one on; undefined when none could answer. */
  private async firstAnswer(
    command: ChargeCommand,
    claim: ChargeClaim,
    holder: string,
    expired: boolean,
  ): Promise<ChargeOutcome | undefined> {
    const request = {
      chargeKey: command.chargeKey,
      amount: command.amount,
      paymentToken: command.paymentToken,
      customerId: command.userId,
      description: command.description,
    };
    let pinned = claim.provider;
    // A pin to a provider no longer configured cannot be asked, so the key starts over at the first.
    // That risks a second charge only if a holder died after that provider charged the key: take a
    // provider out of the list once no lease could still be pinned to it mid-call.
    const start = Math.max(
      0,
      this.providers.findIndex((p) => p.name === pinned),
    );
    for (const provider of this.providers.slice(start)) {
      const permit = await this.breaker.acquire(provider.name);
      // A holder whose lease ran out may have charged at the pinned provider: ask it whatever its
      // breaker says, so its idempotency answers instead of another provider charging again.
      const mustAsk = expired && provider.name === claim.provider;
      if (!permit && !mustAsk) continue;
      if (provider.name !== pinned) {
        if (!(await this.claims.pin(command.chargeKey, holder, pinned, provider.name))) throw new ChargeInProgress();
        pinned = provider.name;
      }
      try {
        const outcome = await provider.charge(request);
        if (permit) await this.breaker.succeeded(permit);
        return outcome;
      } catch (error) {
        if (!(error instanceof ProviderError)) throw error;
        if (permit) await this.breaker.failed(permit);
      }
    }
    return undefined;
  }
}

function paymentOf(command: ChargeCommand, claim: ChargeClaim, outcome: ChargeOutcome): Payment {
  return {
    id: claim.paymentId,
    userId: command.userId,
    purpose: command.purpose,
    reason: command.reason,
    ...(command.subscriptionId !== undefined ? { subscriptionId: command.subscriptionId } : {}),
    ...(command.bookingId !== undefined ? { bookingId: command.bookingId } : {}),
    amount: command.amount.amount,
    currency: command.amount.currency,
    status: outcome.status === 'succeeded' ? 'succeeded' : 'failed',
    provider: outcome.provider,
    ...(outcome.status === 'declined' ? { failureCode: outcome.code } : {}),
    ...(command.periodEnd !== undefined ? { periodEnd: command.periodEnd } : {}),
    chargeKey: command.chargeKey,
    createdAt: claim.startedAt,
  };
}
