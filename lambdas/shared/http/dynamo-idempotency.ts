/**
 * `IdempotencyStore` (idempotency.ts) in the domain table, one item per key:
 *
 *   pk `IDEMPOTENCY#<idempotencyId>`  sk `IDEMPOTENCY`  entity `IdempotencyRecord`
 *   requestHash, status in_progress|completed, lockToken + lockedUntil (epoch ms, while in progress),
 *   response {statusCode, headers, body} (once completed), expiresAt (epoch s, TTL)
 *
 * The partition is the hashed key itself, so records spread over the table like users do. A claim
 * is one conditional PutItem that also answers, when refused, the record that refused it
 * (`ReturnValuesOnConditionCheckFailure`): of 50 requests racing on one key exactly one writes,
 * and each of the others learns in the same call what holds the key, with no read that could
 * see a later state. Expiry is part of the condition because TTL deletion is lazy (up to days).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { epochSeconds } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import type { HttpResponse } from './response';
import { storedResponseSchema, type IdempotencyClaim, type IdempotencyRecord, type IdempotencyStore } from './idempotency';

export const IDEMPOTENCY_ENTITY = 'IdempotencyRecord';

export const idempotencyKey = (id: string) => ({ pk: `IDEMPOTENCY#${id}`, sk: 'IDEMPOTENCY' });

const recordSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('in_progress'), requestHash: z.string(), lockedUntil: z.number(), expiresAt: z.number() }),
  z.object({ status: z.literal('completed'), requestHash: z.string(), response: storedResponseSchema, expiresAt: z.number() }),
]);

// `status` and `response` are DynamoDB reserved words.
const NAMES = { '#status': 'status', '#response': 'response' } as const;

export class DynamoIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
  ) {}

  async claim(claim: IdempotencyClaim, now: Date): Promise<IdempotencyRecord | undefined> {
    const { id, ...fields } = claim;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...idempotencyKey(id), entity: IDEMPOTENCY_ENTITY, status: 'in_progress', ...fields },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :nowSeconds OR (#status = :inProgress AND lockedUntil < :nowMs)',
          ExpressionAttributeNames: { '#status': NAMES['#status'] },
          ExpressionAttributeValues: { ':nowSeconds': epochSeconds(now), ':nowMs': now.getTime(), ':inProgress': 'in_progress' },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return undefined;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return recordSchema.parse(refusingItem(error));
    }
  }

  async complete(id: string, lockToken: string, response: HttpResponse): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: idempotencyKey(id),
          UpdateExpression: 'SET #status = :completed, #response = :response REMOVE lockToken, lockedUntil',
          ConditionExpression: 'lockToken = :lockToken',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: {
            ':completed': 'completed',
            ':response': { statusCode: response.statusCode, headers: response.headers, body: response.body },
            ':lockToken': lockToken,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async release(id: string, lockToken: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: idempotencyKey(id),
          ConditionExpression: 'lockToken = :lockToken',
          ExpressionAttributeValues: { ':lockToken': lockToken },
        }),
      );
    } catch (error) {
      // Taken over: the key is another request's now, and not ours to free.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}

/**
 * The item a failed condition returned. The document client leaves it in DynamoDB's wire format
 * (aws/aws-sdk-js-v3#6723); should a later version convert it, it is taken as it comes.
 */
function refusingItem(error: unknown): unknown {
  const item = (error as { Item?: Record<string, unknown> }).Item;
  const marshalled = typeof item?.pk === 'object';
  return marshalled ? unmarshall(item as Record<string, AttributeValue>) : item;
}
