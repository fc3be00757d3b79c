/**
 * Payment providers behind one interface (DESIGN.md section 5). Two sandbox providers
 * (sandbox-provider.ts) are driven by the test tokens; a real one (Stripe, Adyen) plugs in behind
 * the same interface. The processor (payment-processor.ts) tries them in order through a circuit
 * breaker each, failing over on provider errors only.
 *
 * Idempotency: every charge carries a `chargeKey`, unique to one charge (a subscribe, one renewal
 * period, one recovery attempt). A provider charges a key at most once: asked again with the same
 * key it answers the first outcome (success or decline) without charging. That is what makes a
 * retried queue message, a duplicate delivery or a failover safe.
 */
import type { Money } from './money';

export interface ChargeRequest {
  /** Unique per charge; the provider's idempotency key. */
  readonly chargeKey: string;
  readonly amount: Money;
  readonly paymentToken: string;
  /** The paying user (the provider's customer). */
  readonly customerId: string;
  readonly description: string;
}

export type DeclineCode = 'card_declined' | 'insufficient_funds';

export type ChargeOutcome =
  | {
      readonly status: 'succeeded';
      readonly provider: string;
      /** The provider's id of the charge. */
      readonly providerChargeId: string;
      /** When the provider first took the charge (the same on every replay of its key). */
      readonly chargedAt: string;
    }
  | {
      readonly status: 'declined';
      readonly provider: string;
      readonly code: DeclineCode;
      /** When the provider first declined this key (the same on every replay). */
      readonly chargedAt: string;
    };

/** The provider failed (down, timed out, 5xx) and did not charge: try another. Never a decline. */
export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    message: string,
  ) {
    super(`${provider}: ${message}`);
    this.name = 'ProviderError';
  }
}

export interface PaymentProvider {
  readonly name: string;
  /** Charges once per `chargeKey`; a decline is an outcome, a provider failure throws `ProviderError`. */
  charge(request: ChargeRequest): Promise<ChargeOutcome>;
}
