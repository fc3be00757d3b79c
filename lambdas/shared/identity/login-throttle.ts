/**
 * Login throttling per email: after `MAX_FAILURES` failed logins within a fixed window of
 * `WINDOW_SECONDS` (counted from the first failure), further logins for that email are refused with
 * `TooManyAttempts` until the window ends — even with the right password, or a guesser could
 * keep going. One counter item per lower-cased email in the domain table:
 *
 *   pk `LOGIN#<lowercased email>`  sk `ATTEMPTS`  failures, windowStart (epoch s), expiresAt (TTL)
 *
 * Failures are counted with atomic updates, so concurrent guesses cannot undercount: an update
 * conditioned on the window still being open adds one; when there is no open window, a put
 * conditioned on the same fact starts a new one; losing that race just retries the update.
 * Emails without an account are throttled the same way, so throttling reveals nothing either.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from './dynamo';
import { TooManyAttempts } from './errors';
import { normalizeEmail } from './user-store';

export const MAX_FAILURES = 5;
export const WINDOW_SECONDS = 15 * 60;

export const attemptsKey = (email: string) => ({ pk: `LOGIN#${normalizeEmail(email)}`, sk: 'ATTEMPTS' });

const itemSchema = z.object({ failures: z.number().int(), windowStart: z.number() });

export interface AttemptWindow {
  readonly failures: number;
  readonly windowStart: number;
}

/** Seconds until `window` lets logins through again; 0 when it does now. Pure. */
export function retryAfterSeconds(window: AttemptWindow | undefined, nowSeconds: number): number {
  if (!window) return 0;
  const end = window.windowStart + WINDOW_SECONDS;
  return window.failures >= MAX_FAILURES && end > nowSeconds ? end - nowSeconds : 0;
}

export class LoginThrottle {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Throws `TooManyAttempts` while the email is locked out. */
  async check(email: string): Promise<void> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: attemptsKey(email), ConsistentRead: true }),
    );
    const window = out.Item ? itemSchema.parse(out.Item) : undefined;
    const wait = retryAfterSeconds(window, epochSeconds(this.clock()));
    if (wait > 0) throw new TooManyAttempts(wait);
  }

  /** Counts one failed login; returns the failures in the current window. */
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

  /** Forgets the failures after a successful login. */
  async reset(email: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: attemptsKey(email) }));
  }
}
