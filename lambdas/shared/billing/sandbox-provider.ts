/**
 * Sandbox payment providers (DESIGN.md section 5): stand-ins for a real provider, driven by the
 * test payment tokens so every billing path can be exercised end to end without one.
 *
 *   tok_ok                  succeeds
 *   tok_declined            declined card_declined
 *   tok_insufficient_funds  declined insufficient_funds
 *   tok_fail_after_first    the customer's first successful charge with it succeeds, every later one declines
 *   tok_fail_first          the customer's first charge with it declines insufficient_funds, every later one succeeds
 *                           (a card that is paid in later: a dunning retry recovers it)
 *   tok_provider_error      a ProviderError at the providers configured to fail it (the first), success elsewhere
 *   tok_all_providers_down  a ProviderError at every provider
 *   anything else           declined card_declined
 *
 * Like a real provider, a sandbox charges a `chargeKey` once: its ledger (`SandboxLedger`,
 * dynamo-sandbox-ledger.ts) records the first outcome with a conditional write, and a repeat of
 * the key answers that outcome (same charge id and time) without charging again. A provider
 * error records nothing, as a provider that is down cannot.
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock';
import type { Money } from './money';
import { ProviderError, type ChargeOutcome, type ChargeRequest, type DeclineCode, type PaymentProvider } from './providers';

export const SANDBOX_TOKENS = {
  ok: 'tok_ok',
  declined: 'tok_declined',
  insufficientFunds: 'tok_insufficient_funds',
  failAfterFirst: 'tok_fail_after_first',
  failFirst: 'tok_fail_first',
  providerError: 'tok_provider_error',
  allProvidersDown: 'tok_all_providers_down',
} as const;

/** One charge a sandbox provider took or declined. */
export interface SandboxCharge {
  readonly chargeKey: string;
  readonly customerId: string;
  readonly amount: Money;
  readonly outcome: ChargeOutcome;
}

export interface SandboxLedger {
  /** Records `charge` unless its provider already has an outcome for its key; answers the outcome that stands. */
  record(charge: SandboxCharge): Promise<ChargeOutcome>;
  /**
   * Gives a card's first successful charge to `chargeKey` unless another key already has it; true
   * when `chargeKey` holds it (now or from before, so a repeat of the key keeps its answer).
   */
  claimFirstCharge(customerId: string, paymentToken: string, chargeKey: string): Promise<boolean>;
}

export interface SandboxProviderOptions {
  /** Tokens this provider answers with a `ProviderError`, as if it were down. @default ['tok_all_providers_down'] */
  readonly failsOn?: readonly string[];
  /** The time charges are taken at (the local cloud's virtual clock at run time). @default systemClock */
  readonly clock?: Clock;
}

// A Map, not an object: the token is the client's string, and `__proto__` must not find anything.
const DECLINES: ReadonlyMap<string, DeclineCode> = new Map([
  [SANDBOX_TOKENS.declined, 'card_declined'],
  [SANDBOX_TOKENS.insufficientFunds, 'insufficient_funds'],
]);

const SUCCEEDS: ReadonlySet<string> = new Set([SANDBOX_TOKENS.ok, SANDBOX_TOKENS.providerError, SANDBOX_TOKENS.allProvidersDown]);

export class SandboxProvider implements PaymentProvider {
  private readonly failsOn: ReadonlySet<string>;
  private readonly clock: Clock;

  constructor(
    readonly name: string,
    private readonly ledger: SandboxLedger,
    options: SandboxProviderOptions = {},
  ) {
    this.failsOn = new Set(options.failsOn ?? [SANDBOX_TOKENS.allProvidersDown]);
    this.clock = options.clock ?? systemClock;
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    if (this.failsOn.has(request.paymentToken)) throw new ProviderError(this.name, 'sandbox provider unavailable for this token');
    const chargedAt = this.clock().toISOString();
    const code = await this.declineCode(request);
    const outcome: ChargeOutcome =
      code === undefined
        ? { status: 'succeeded', provider: this.name, providerChargeId: `ch_${randomBytes(12).toString('hex')}`, chargedAt }
        : { status: 'declined', provider: this.name, code, chargedAt };
    return this.ledger.record({ chargeKey: request.chargeKey, customerId: request.customerId, amount: request.amount, outcome });
  }

  /** Why the token is declined; undefined when it pays. */
  private async declineCode(request: ChargeRequest): Promise<DeclineCode | undefined> {
    const token = request.paymentToken;
    if (SUCCEEDS.has(token)) return undefined;
    if (token === SANDBOX_TOKENS.failAfterFirst) {
      const first = await this.ledger.claimFirstCharge(request.customerId, token, request.chargeKey);
      return first ? undefined : 'card_declined';
    }
    if (token === SANDBOX_TOKENS.failFirst) {
      const first = await this.ledger.claimFirstCharge(request.customerId, token, request.chargeKey);
      return first ? 'insufficient_funds' : undefined;
    }
    return DECLINES.get(token) ?? 'card_declined';
  }
}

/**
 * The platform's sandbox providers in failover order: `sandbox-a` fails `tok_provider_error`, so
 * that token is charged by `sandbox-b`; both fail `tok_all_providers_down`.
 */
export function sandboxProviders(ledger: SandboxLedger, clock: Clock = systemClock): SandboxProvider[] {
  return [
    new SandboxProvider('sandbox-a', ledger, { failsOn: [SANDBOX_TOKENS.providerError, SANDBOX_TOKENS.allProvidersDown], clock }),
    new SandboxProvider('sandbox-b', ledger, { failsOn: [SANDBOX_TOKENS.allProvidersDown], clock }),
  ];
}
