/**
 * Payments (DESIGN.md section 5, "History"): one record per charge attempt that reached an
 * outcome, and the one way the domain takes money, `PaymentProcessor.charge`.
 *
 * The processor (payment-processor.ts) makes a charge safe to repeat: the same `chargeKey`
 * (renewal:<subscriptionId>:<periodEnd>, subscribe:<subscriptionId>, ...) charges at most once
 * whatever happens around it (a duplicate queue delivery, a retried request, a failover, two
 * invocations at once); asked again, it answers the recorded payment.
 */
import type { Money } from './money';

export const PAYMENT_STATUSES = ['succeeded', 'failed', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export type PaymentPurpose = 'subscription' | 'booking';

/** Why a subscription charge was made: carried to events (dunning reacts to renewal failures). */
/** `recovery`: a payment by the user of what is owed; `dunning`: a retry of the dunning saga. */
export const CHARGE_REASONS = ['subscribe', 'renewal', 'recovery', 'dunning'] as const;
export type ChargeReason = (typeof CHARGE_REASONS)[number];

export interface Payment {
  readonly id: string;
  readonly userId: string;
  readonly purpose: PaymentPurpose;
  readonly reason: ChargeReason;
  readonly subscriptionId?: string;
  readonly bookingId?: string;
  readonly amount: number;
  readonly currency: Money['currency'];
  readonly status: PaymentStatus;
  readonly provider: string;
  readonly failureCode?: string;
  /** For a renewal: the end of the period it paid for (the start of the next). */
  readonly periodEnd?: string;
  readonly chargeKey: string;
  readonly createdAt: string;
}

/** What `GET /payments/history` shows of a payment (DESIGN.md section 5). */
export interface PaymentView {
  readonly id: string;
  readonly purpose: PaymentPurpose;
  readonly subscriptionId?: string;
  readonly bookingId?: string;
  readonly amount: number;
  readonly currency: Money['currency'];
  readonly status: PaymentStatus;
  readonly provider: string;
  readonly failureCode?: string;
  readonly createdAt: string;
}

export function paymentView(p: Payment): PaymentView {
  return {
    id: p.id,
    purpose: p.purpose,
    ...(p.subscriptionId !== undefined ? { subscriptionId: p.subscriptionId } : {}),
    ...(p.bookingId !== undefined ? { bookingId: p.bookingId } : {}),
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    provider: p.provider,
    ...(p.failureCode !== undefined ? { failureCode: p.failureCode } : {}),
    createdAt: p.createdAt,
  };
}

export interface ChargeCommand {
  readonly chargeKey: string;
  readonly userId: string;
  readonly amount: Money;
  readonly paymentToken: string;
  readonly purpose: PaymentPurpose;
  readonly reason: ChargeReason;
  readonly subscriptionId?: string;
  readonly bookingId?: string;
  readonly periodEnd?: string;
  readonly description: string;
}

export interface PaymentProcessor {
  /**
   * Charges once per `chargeKey` and records the payment (succeeded, or failed with the decline
   * code). Asked again for a key that has a payment, answers it without charging.
   * Throws `PaymentProvidersUnavailable` when every provider failed or is open (nothing was
   * charged), and `ChargeInProgress` while another invocation holds the key.
   */
  charge(command: ChargeCommand): Promise<Payment>;
}

export interface PaymentPage {
  readonly payments: readonly Payment[];
  /** Opaque position after the last payment; undefined at the end. */
  readonly next?: string;
}

export interface PaymentHistory {
  /** A user's payments, newest first. `after` is a `next` from an earlier page of the same user. */
  list(userId: string, limit: number, after?: string): Promise<PaymentPage>;
}
