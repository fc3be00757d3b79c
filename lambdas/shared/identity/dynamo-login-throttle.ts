/**
 * The login attempt budget (login-lockout.ts) in the domain table: one item per lower-cased email,
 *
 *   pk `LOGIN#<lowercased email>`  sk `ATTEMPTS`  attempts, windowStart (epoch s), expiresAt (TTL)
 *
 * `reserve` is one conditional write, so concurrent logins cannot overspend the budget: `ADD
 * attempts 1` on condition that the window is open and below the limit. When the condition fails,
 * the item DynamoDB evaluated (`ReturnValuesOnConditionCheckFailure`) says why: a full open window
 * is a refusal; no window or an ended one is replaced by a new window holding this attempt, with a
 * put conditioned on the same fact, so of racing openers one wins and the others count into its
 * window. No read decides anything: every step is a condition DynamoDB checks on the write.
 */
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { isConditionalCheckFailed, type DocumentClientLike } from './dynamo';
import { TooManyAttempts } from './errors';
import { MAX_FAILURES, retryAfterSeconds, WINDOW_SECONDS, windowCutoff, type AttemptWindow, type LoginThrottle } from './login-lockout';
import { normalizeEmail } from './users';

export const attemptsKey = (email: string) => ({ pk: `LOGIN#${normalizeEmail(email)}`, sk: 'ATTEMPTS' });

// An item written before the budget was reserved up front counted `failures`, not `attempts`; it is
// read as an ended window and replaced (it lived 15 minutes at most).
const itemSchema = z.object({ attempts: z.number().int().optional(), windowStart: z.number() });

/** The window in the item a failed condition returned; undefined when there was no item. */
function evaluatedWindow(error: unknown): AttemptWindow | undefined {
  // The document client does not unmarshall the item an error carries.
  const raw = (error as { Item?: Record<string, never> }).Item;
  if (!raw) return undefined;
  const item = itemSchema.parse(unmarshall(raw));
  return item.attempts === undefined ? undefined : { attempts: item.attempts, windowStart: item.windowStart };
}

export class DynamoLoginThrottle implements LoginThrottle {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async reserve(email: string): Promise<void> {
    const key = attemptsKey(email);
    // Each round ends in a reservation or a refusal unless another login opened or cleared the
    // window between our two writes; three rounds cover any realistic interleaving.
    for (let round = 0; round < 3; round++) {
      const now = epochSeconds(this.clock());
      const cutoff = windowCutoff(now);
      let window: AttemptWindow | undefined;
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'ADD attempts :one',
            ConditionExpression: 'windowStart > :cutoff AND attempts < :max',
            ExpressionAttributeValues: { ':one': 1, ':cutoff': cutoff, ':max': MAX_FAILURES },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        window = evaluatedWindow(error);
      }
      const wait = retryAfterSeconds(window, now);
      if (wait > 0) throw new TooManyAttempts(wait);
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, entity: 'LoginAttempts', attempts: 1, windowStart: now, expiresAt: now + WINDOW_SECONDS },
            ConditionExpression: 'attribute_not_exists(pk) OR windowStart <= :cutoff OR attribute_not_exists(attempts)',
            ExpressionAttributeValues: { ':cutoff': cutoff },
          }),
        );
        return;
      } catch (error) {
        // Another login opened a window between our two writes: reserve in theirs.
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    throw new Error('Could not reserve a login attempt: the attempts item kept changing');
  }

  async reset(email: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: attemptsKey(email) }));
  }
}
