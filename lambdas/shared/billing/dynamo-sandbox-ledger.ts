/**
 * The sandbox providers' ledger (sandbox-provider.ts) in the domain table:
 *
 *   pk `SANDBOX#<provider>#CHARGE#<chargeKey>`  sk `CHARGE`  the outcome, customer, amount, expiresAt (TTL)
 *   pk `SANDBOX#CARD#<customerId>#<token>`      sk `FIRST_CHARGE`  firstChargeKey, expiresAt (TTL)
 *
 * A charge is one conditional put: of two charges of one key, one records its outcome and the
 * other gets that outcome back from the failed condition (`ReturnValuesOnConditionCheckFailure`),
 * so no read precedes the write. Items expire after 35 days, as the processor's charge claims do:
 * no key is retried later than that.
 *
 * The first-charge item belongs to the card, not to one provider: `tok_fail_after_first` stands for
 * a card that stops paying, whichever provider charges it after a failover.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import type { ChargeOutcome } from './providers';
import type { SandboxCharge, SandboxLedger } from './sandbox-provider';

export const SANDBOX_CHARGE_ENTITY = 'SandboxCharge';
export const SANDBOX_LEDGER_TTL_SECONDS = 35 * 24 * 60 * 60;
/**
 * How long a card remembers its first charge (`tok_fail_after_first`, `tok_fail_first`): longer
 * than any test timeline. It once shared the ledger's 35 days, and a card whose renewal was
 * declined paid again on day 5 of dunning, 36 days after its first charge.
 */
export const SANDBOX_CARD_USE_TTL_SECONDS = 400 * 24 * 60 * 60;

export const sandboxChargeKey = (provider: string, chargeKey: string) => ({ pk: `SANDBOX#${provider}#CHARGE#${chargeKey}`, sk: 'CHARGE' });
export const cardFirstChargeKey = (customerId: string, paymentToken: string) => ({
  pk: `SANDBOX#CARD#${customerId}#${paymentToken}`,
  sk: 'FIRST_CHARGE',
});

const outcomeSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('succeeded'), provider: z.string(), providerChargeId: z.string(), chargedAt: z.string() }),
  z.object({
    status: z.literal('declined'),
    provider: z.string(),
    code: z.enum(['card_declined', 'insufficient_funds']),
    chargedAt: z.string(),
  }),
]) satisfies z.ZodType<ChargeOutcome>;

/** The item a failed condition carries (the document client leaves it marshalled). */
function evaluatedItem(error: unknown): Record<string, unknown> | undefined {
  const raw = (error as { Item?: Record<string, never> }).Item;
  return raw && unmarshall(raw);
}

export class DynamoSandboxLedger implements SandboxLedger {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async record(charge: SandboxCharge): Promise<ChargeOutcome> {
    const { outcome } = charge;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...sandboxChargeKey(outcome.provider, charge.chargeKey),
            entity: SANDBOX_CHARGE_ENTITY,
            ...outcome,
            chargeKey: charge.chargeKey,
            customerId: charge.customerId,
            amount: charge.amount.amount,
            currency: charge.amount.currency,
            expiresAt: epochSeconds(new Date(outcome.chargedAt)) + SANDBOX_LEDGER_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return outcome;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return outcomeSchema.parse(evaluatedItem(error));
    }
  }

  async claimFirstCharge(customerId: string, paymentToken: string, chargeKey: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...cardFirstChargeKey(customerId, paymentToken),
            entity: 'SandboxCardUse',
            firstChargeKey: chargeKey,
            expiresAt: epochSeconds(this.clock()) + SANDBOX_CARD_USE_TTL_SECONDS,
          },
          // The same key may claim again: a repeat of the first charge keeps succeeding.
          ConditionExpression: 'attribute_not_exists(pk) OR firstChargeKey = :key',
          ExpressionAttributeValues: { ':key': chargeKey },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
