/**
 * Billing's typed errors (STYLE 8); `http/response.ts` maps each code to its status.
 */
import { AppError } from '../errors';
import type { Payment } from './payments';
import type { DeclineCode } from './providers';

/** The customer's payment method was declined. → 402 with the decline code */
export class PaymentDeclined extends AppError {
  constructor(
    readonly declineCode: DeclineCode,
    /** The failed payment, as history shows it. */
    readonly payment?: Payment,
  ) {
    super(declineCode, declineCode === 'insufficient_funds' ? 'The card has insufficient funds' : 'The card was declined');
  }
}

/** Every provider failed or its breaker is open: nothing was charged. → 503 */
export class PaymentProvidersUnavailable extends AppError {
  constructor() {
    super('payment_provider_unavailable', 'No payment provider is available; nothing was charged. Try again later');
  }
}

/** Another invocation is charging the same key right now. → 409 request_in_progress */
export class ChargeInProgress extends AppError {
  constructor() {
    super('request_in_progress', 'This payment is being processed; try again in a moment');
  }
}

/** The user already has an `active` or `past_due` subscription. → 409 */
export class AlreadySubscribed extends AppError {
  constructor() {
    super('already_subscribed', 'You already have a subscription; cancel it first or change its payment method');
  }
}

/** Another subscribe of this user is being charged right now. → 409 request_in_progress */
export class SubscribeInProgress extends AppError {
  constructor() {
    super('request_in_progress', 'A subscribe for this account is being processed');
  }
}

/** A payment for a subscription that owes nothing (active, ended). → 409 */
export class NoPaymentDue extends AppError {
  constructor(status: string) {
    super('no_payment_due', `The subscription is ${status}: nothing is due`);
  }
}
