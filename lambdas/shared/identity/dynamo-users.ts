/**
 * Users (users.ts) in the domain table (single-table design):
 *
 *   pk `USER#<id>`              sk `PROFILE`  id, email, name, role, passwordHash, createdAt
 *   pk `EMAIL#<lowercased email>` sk `EMAIL`  userId
 *
 * Both items are written in one TransactWriteItems, each with `attribute_not_exists(pk)`: the email
 * item is the uniqueness constraint, so of N concurrent sign-ups with one email exactly one commits
 * (no read-then-write race). Emails are compared lower-cased; the profile keeps that form too.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock';
import { retry, sleep, type Sleep } from '../retry';
import { cancellationReasons, type DocumentClientLike } from './dynamo';
import { EmailTaken } from './errors';
import { ROLES } from './tokens';
import { normalizeEmail, withoutHash, type NewUser, type User, type UserStore, type UserWithHash } from './users';

export const userKey = (id: string) => ({ pk: `USER#${id}`, sk: 'PROFILE' });
export const emailKey = (email: string) => ({ pk: `EMAIL#${normalizeEmail(email)}`, sk: 'EMAIL' });

const profileSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: z.string(),
  passwordHash: z.string(),
});
const emailItemSchema = z.object({ userId: z.string() });

/** A sign-up transaction that DynamoDB cancelled because another one held the email: 5 calls, backoff 40 ms doubling to 320 ms. */
const CONFLICT_RETRY = {
  attempts: 5,
  baseDelayMs: 40,
  maxDelayMs: 320,
  retryable: (error: unknown) => {
    const reasons = cancellationReasons(error);
    return reasons?.[0] !== 'ConditionalCheckFailed' && reasons?.includes('TransactionConflict') === true;
  },
};

export class DynamoUserStore implements UserStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
    private readonly pause: Sleep = sleep,
  ) {}

  async create(input: NewUser): Promise<User> {
    const user: UserWithHash = {
      id: randomUUID(),
      email: normalizeEmail(input.email),
      name: input.name,
      role: input.role ?? 'user',
      createdAt: this.clock().toISOString(),
      passwordHash: input.passwordHash,
    };
    const command = new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: this.tableName,
            Item: { ...emailKey(user.email), entity: 'UserEmail', userId: user.id },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: { ...userKey(user.id), entity: 'User', ...user },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    });
    try {
      // Another transaction on the same email item was in flight: retry and the condition decides.
      await retry(() => this.client.send(command), { ...CONFLICT_RETRY, sleep: this.pause });
    } catch (error) {
      if (cancellationReasons(error)?.[0] === 'ConditionalCheckFailed') throw new EmailTaken();
      throw error;
    }
    return withoutHash(user);
  }

  async findByEmail(email: string): Promise<UserWithHash | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: emailKey(email), ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { userId } = emailItemSchema.parse(out.Item);
    return this.findById(userId);
  }

  async findById(id: string): Promise<UserWithHash | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: userKey(id), ConsistentRead: true }));
    return out.Item ? profileSchema.parse(out.Item) : undefined;
  }
}
