/**
 * The login throttle (login-lockout.ts) in the domain table: one counter item per lower-cased email,
 *
 *   pk `LOGIN#<lowercased email>`  sk `ATTEMPTS`  failures, windowStart (epoch s), expiresAt (TTL)
 *
 * Failures are counted with atomic updates, so concurrent guesses cannot undercount: an update
 * conditioned on the window still being open adds one; when there is no open window, a put
 * conditioned on the same fact starts a new one; losing that race just retries the update.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from './dynamo';
import { TooManyAttempts } from './errors';
import { retryAfterSeconds, WINDOW_SECONDS, type LoginThrottle } from './login-lockout';
import { normalizeEmail } from './users';

export const attemptsKey = (email: string) => ({ pk: `LOGIN#${normalizeEmail(email)}`, sk: 'ATTEMPTS' });

const itemSchema = z.object({ failures: z.number().int(), windowStart: z.number() });

export class DynamoLoginThrottle implements LoginThrottle {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async check(email: string): Promise<void> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: attemptsKey(email), ConsistentRead: true }));
    const window = out.Item ? itemSchema.parse(out.Item) : undefined;
    const wait = retryAfterSeconds(window, epochSeconds(this.clock()));
    if (wait > 0) throw new TooManyAttempts(wait);
  }

  async recordFailure(email: string): Promise<number> {
    const now = epochSeconds(this.clock());
    const key = attemptsKey(email);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const out = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'ADD failures :one',
            ConditionExpression: 'windowStart > :cutoff',
            ExpressionAttributeValues: { ':one': 1, ':cutoff': now - WINDOW_SECONDS },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return itemSchema.parse(out.Attributes).failures;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, entity: 'LoginAttempts', failures: 1, windowStart: now, expiresAt: now + WINDOW_SECONDS },
            ConditionExpression: 'attribute_not_exists(pk) OR windowStart <= :cutoff',
            ExpressionAttributeValues: { ':cutoff': now - WINDOW_SECONDS },
          }),
        );
        return 1;
      } catch (error) {
        // Someone else opened the window between our two writes: count into theirs.
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    throw new Error('Could not record a failed login: the attempts item kept changing');
  }

  async reset(email: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: attemptsKey(email) }));
  }
}
