/**
 * The one way handlers build a DynamoDB document client, so marshalling behaves the same in every
 * function. Call it at module scope: the client (and its connection pool) is reused across
 * invocations of a warm function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { z } from 'zod';
import { retryRemaining } from './retry';

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    // Optional attributes are simply left out of items rather than failing the write.
    marshallOptions: { removeUndefinedValues: true },
  });
}

/**
 * What stores need from DynamoDB: the `send` of a `DynamoDBDocumentClient`. Stores take it as a
 * parameter, so a unit test can pass a small fake and an integration test the real client.
 */
export interface DocumentClientLike {
  // Outputs are validated (zod) by each store, so the loose type never leaks into domain values.
  send(command: object): Promise<Record<string, unknown>>;
}

/** The name the SDK gives a failed condition, on single writes and inside transactions. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Reasons of a cancelled transaction, one per item (`None` for those that were fine). */
export function cancellationReasons(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}

/**
 * Uses up a one-time item (a ticket, a refresh token): deletes it on condition that it exists, has
 * not expired at `now` (epoch seconds; `expiresAt` is its TTL attribute, and TTL deletion is lazy)
 * and meets `also` when given, and answers what it held, parsed with `schema`; undefined when a
 * condition failed. One conditional DeleteItem with `ReturnValues: ALL_OLD`, so of two concurrent
 * consumers exactly one gets the item.
 */
export async function consumeOnce<T>(
  client: DocumentClientLike,
  tableName: string,
  key: Record<string, string>,
  now: number,
  schema: z.ZodType<T>,
  also?: { readonly condition: string; readonly values: Record<string, unknown> },
): Promise<T | undefined> {
  try {
    const out = await client.send(
      new DeleteCommand({
        TableName: tableName,
        Key: key,
        ConditionExpression: `attribute_exists(pk) AND expiresAt > :now${also ? ` AND ${also.condition}` : ''}`,
        ExpressionAttributeValues: { ':now': now, ...also?.values },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return schema.parse(out.Attributes);
  } catch (error) {
    if (isConditionalCheckFailed(error)) return undefined;
    throw error;
  }
}

/** BatchWriteItem's budget for what DynamoDB returns unprocessed: 9 calls, backoff 50 ms doubling to 1 s. */
const BATCH_WRITE_RETRY = { attempts: 9, baseDelayMs: 50, maxDelayMs: 1_000 } as const;

/**
 * Writes `requests` (PutRequest / DeleteRequest items of one table) in BatchWriteItem calls of 25,
 * re-sending what DynamoDB returns unprocessed with exponential backoff and full jitter; throws
 * when some are still unprocessed after 8 retries.
 */
export async function batchWriteAll(client: DocumentClientLike, tableName: string, requests: readonly object[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    const left = await retryRemaining(
      requests.slice(i, i + 25),
      async (pending) => {
        const out = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
        return (out.UnprocessedItems as Record<string, object[]> | undefined)?.[tableName] ?? [];
      },
      BATCH_WRITE_RETRY,
    );
    if (left.length > 0) {
      throw new Error(
        `BatchWriteItem on ${tableName}: ${left.length} requests still unprocessed after ${BATCH_WRITE_RETRY.attempts} attempts`,
      );
    }
  }
}
