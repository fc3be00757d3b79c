/**
 * Refresh tokens (`RefreshTokenStore`, auth-service.ts): opaque, stored hashed in the domain table
 * with a TTL, single use.
 *
 *   pk `REFRESH#<sha256 of token>`  sk `REFRESH`  userId, createdAt, expiresAt (epoch s, TTL)
 *
 * `consume` deletes the item with a condition (exists, belongs to the user when one is given, not
 * expired) and `ReturnValues: ALL_OLD`, so a token works once: refresh rotates (consume + issue),
 * logout revokes (consume and forget). Expiry is checked in the condition, because TTL deletion
 * is lazy.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { consumeOnce, type DocumentClientLike } from './dynamo';
import type { RefreshTokenStore } from './auth-service';
import { hashOpaqueToken, newOpaqueToken, OPAQUE_TOKEN_PATTERN } from './tokens';

export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;

export const refreshTokenKey = (token: string) => ({ pk: `REFRESH#${hashOpaqueToken(token)}`, sk: 'REFRESH' });

const itemSchema = z.object({ userId: z.string() });

export class DynamoRefreshTokenStore implements RefreshTokenStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  async issue(userId: string): Promise<string> {
    const token = newOpaqueToken();
    const now = this.clock();
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...refreshTokenKey(token),
          entity: 'RefreshToken',
          userId,
          createdAt: now.toISOString(),
          expiresAt: epochSeconds(now) + REFRESH_TOKEN_TTL_SECONDS,
        },
        // 256 random bits never collide; the condition only guards against a bug overwriting one.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return token;
  }

  async consume(token: string, userId?: string): Promise<string | undefined> {
    if (!OPAQUE_TOKEN_PATTERN.test(token)) return undefined;
    const also = userId === undefined ? undefined : { condition: 'userId = :userId', values: { ':userId': userId } };
    const item = await consumeOnce(this.client, this.tableName, refreshTokenKey(token), epochSeconds(this.clock()), itemSchema, also);
    return item?.userId;
  }
}
