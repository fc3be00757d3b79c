/**
 * The payment processor's two stores (payment-processor.ts) in the domain table:
 *
 *   pk `USER#<userId>`       sk `PAYMENT#<createdAt>#<paymentId>`  entity Payment: every Payment field
 *   pk `CHARGE#<chargeKey>`  sk `CHARGE`  entity ChargeClaim: paymentId, startedAt, provider (the pin),
 *                            holder?, leaseUntil (epoch ms), expiresAt (TTL)
 *
 * Payments keep every field top-level: the stream consumers build `Payment.Succeeded` /
 * `Payment.Failed` and the `user:{id}` frames from the new image alone. A payment is written once
 * (`attribute_not_exists(pk)`); a repeat gets the stored one back from the failed condition.
 * History pages go newest first under the caller's own pk, so a cursor (the last sort key, opaque
 * to clients) can only position within the caller's payments.
 *
 * A claim is one UpdateItem that creates it or takes over a lease that ran out, keeping the
 * claim's first values (`if_not_exists`), and answers the item before the write: whether someone
 * held the key before, and, when the condition fails, the live claim to look the payment up by.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { epochSeconds } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import { BadRequestError } from '../errors';
import { CURRENCIES } from './money';
import type { ChargeClaim, ChargeClaimStore, ClaimResult, PaymentRecords } from './payment-processor';
import { CHARGE_REASONS, PAYMENT_STATUSES, type Payment, type PaymentHistory, type PaymentPage } from './payments';

export const PAYMENT_ENTITY = 'Payment';
export const CHARGE_CLAIM_ENTITY = 'ChargeClaim';
/** Claims outlive any retry of their key (renewals retry for days in dunning, not weeks). */
export const CHARGE_CLAIM_TTL_SECONDS = 35 * 24 * 60 * 60;

export const paymentKey = (userId: string, createdAt: string, paymentId: string) => ({
  pk: `USER#${userId}`,
  sk: `PAYMENT#${createdAt}#${paymentId}`,
});
export const chargeClaimKey = (chargeKey: string) => ({ pk: `CHARGE#${chargeKey}`, sk: 'CHARGE' });

/** A payment item's fields (the stream consumers parse the same: billing/live.ts). */
export const paymentSchema = z.object({
  id: z.string(),
  userId: z.string(),
  purpose: z.enum(['subscription', 'booking']),
  reason: z.enum(CHARGE_REASONS),
  subscriptionId: z.string().optional(),
  bookingId: z.string().optional(),
  amount: z.number().int(),
  currency: z.enum(CURRENCIES),
  status: z.enum(PAYMENT_STATUSES),
  provider: z.string(),
  failureCode: z.string().optional(),
  periodEnd: z.string().optional(),
  chargeKey: z.string(),
  createdAt: z.string(),
}) satisfies z.ZodType<Payment>;

const claimSchema = z.object({
  paymentId: z.string(),
  startedAt: z.string(),
  provider: z.string(),
  holder: z.string().optional(),
});

/** The item a failed condition carries (the document client leaves it marshalled). */
function evaluatedItem(error: unknown): Record<string, unknown> | undefined {
  const raw = (error as { Item?: Record<string, never> }).Item;
  return raw && unmarshall(raw);
}

/** A sort key a cursor may carry: a payment's, and nothing else of the partition. */
const CURSOR_SK = /^PAYMENT#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z#[A-Za-z0-9_-]{1,64}$/;
const MAX_CURSOR_LENGTH = 200;

export function encodeCursor(sk: string): string {
  return Buffer.from(sk, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  // Node decodes base64url leniently (it skips what is not base64url), hence the alphabet check.
  const sk = cursor.length <= MAX_CURSOR_LENGTH && /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!CURSOR_SK.test(sk)) {
    throw new BadRequestError('The cursor is not valid', [{ field: 'cursor', message: 'Expected a nextCursor from an earlier page' }]);
  }
  return sk;
}

export class DynamoPaymentStore implements PaymentRecords, PaymentHistory {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
  ) {}

  async record(payment: Payment): Promise<Payment> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...paymentKey(payment.userId, payment.createdAt, payment.id), entity: PAYMENT_ENTITY, ...payment },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return payment;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return paymentSchema.parse(evaluatedItem(error));
    }
  }

  async find(userId: string, createdAt: string, paymentId: string): Promise<Payment | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: paymentKey(userId, createdAt, paymentId), ConsistentRead: true }),
    );
    return out.Item ? paymentSchema.parse(out.Item) : undefined;
  }

  async list(userId: string, limit: number, after?: string): Promise<PaymentPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
    const pk = `USER#${userId}`;
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': 'PAYMENT#' },
        ScanIndexForward: false,
        // One more than the page tells whether there is a next page without a second query.
        Limit: limit + 1,
        // Always the caller's pk: a cursor only carries a position within it.
        ...(after !== undefined ? { ExclusiveStartKey: { pk, sk: decodeCursor(after) } } : {}),
      }),
    );
    const items = z.array(paymentSchema.extend({ sk: z.string() })).parse(out.Items ?? []);
    const page = items.slice(0, limit);
    const more = items.length > limit || out.LastEvaluatedKey !== undefined;
    const last = page.at(-1);
    return {
      payments: page.map(({ sk: _sk, ...payment }) => payment),
      ...(more && last ? { next: encodeCursor(last.sk) } : {}),
    };
  }
}

export class DynamoChargeClaims implements ChargeClaimStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
  ) {}

  async claim(chargeKey: string, fresh: ChargeClaim, holder: string, now: number, leaseUntil: number): Promise<ClaimResult> {
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: chargeClaimKey(chargeKey),
          UpdateExpression:
            'SET entity = :entity, chargeKey = :chargeKey, holder = :holder, leaseUntil = :leaseUntil, ' +
            'paymentId = if_not_exists(paymentId, :paymentId), startedAt = if_not_exists(startedAt, :startedAt), ' +
            '#provider = if_not_exists(#provider, :provider), expiresAt = if_not_exists(expiresAt, :expiresAt)',
          ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil <= :now',
          ExpressionAttributeNames: { '#provider': 'provider' },
          ExpressionAttributeValues: {
            ':entity': CHARGE_CLAIM_ENTITY,
            ':chargeKey': chargeKey,
            ':holder': holder,
            ':leaseUntil': leaseUntil,
            ':paymentId': fresh.paymentId,
            ':startedAt': fresh.startedAt,
            ':provider': fresh.provider,
            ':expiresAt': epochSeconds(new Date(now)) + CHARGE_CLAIM_TTL_SECONDS,
            ':now': now,
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      if (!out.Attributes) return { kind: 'claimed', claim: fresh, previous: 'none' };
      const old = claimSchema.parse(out.Attributes);
      // Releasing removes the holder; a holder still named is one whose lease ran out.
      return { kind: 'claimed', claim: claimOf(old), previous: old.holder === undefined ? 'released' : 'expired' };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { kind: 'held', claim: claimOf(claimSchema.parse(evaluatedItem(error))) };
    }
  }

  async pin(chargeKey: string, holder: string, from: string, to: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: chargeClaimKey(chargeKey),
          UpdateExpression: 'SET #provider = :to',
          ConditionExpression: 'holder = :holder AND #provider = :from',
          ExpressionAttributeNames: { '#provider': 'provider' },
          ExpressionAttributeValues: { ':holder': holder, ':from': from, ':to': to },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async release(chargeKey: string, holder: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: chargeClaimKey(chargeKey),
          UpdateExpression: 'SET leaseUntil = :zero REMOVE holder',
          ConditionExpression: 'holder = :holder',
          ExpressionAttributeValues: { ':holder': holder, ':zero': 0 },
        }),
      );
    } catch (error) {
      // Another invocation took the lease over: it is theirs to end.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

function claimOf(item: z.infer<typeof claimSchema>): ChargeClaim {
  return { paymentId: item.paymentId, startedAt: item.startedAt, provider: item.provider };
}
