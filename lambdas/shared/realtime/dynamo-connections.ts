/**
 * Connection records in the realtime table. One item per open WebSocket:
 *
 *   pk = `conn#${connectionId}`, sk = `meta`, userId and role (from the `$connect` ticket
 *   authorizer), connectedAt (ISO), expiresAt (epoch seconds, the table's TTL attribute),
 *   sourceIp / userAgent when API Gateway reported them.
 *
 * API Gateway closes every connection after 2 hours, and `$disconnect` is best-effort, so each
 * record expires on its own shortly after the longest possible connection.
 *
 * The store takes its DynamoDB client and table name as parameters; it knows nothing about Lambda.
 * Removing a connection (with its subscriptions) is `SubscriptionRegistry.forget`
 * (dynamo-subscription-registry.ts). The per-connection frame counter and the user's connection
 * slot are items of their own (dynamo-limits.ts), not attributes of this one.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { epochSeconds, systemClock, type Clock } from '../clock';
import type { DocumentClientLike } from '../dynamodb';

/** API Gateway's hard limit on a WebSocket connection's lifetime. */
export const MAX_CONNECTION_SECONDS = 2 * 60 * 60;

/** TTL deletion is lazy and clocks drift; the margin keeps a live connection's record around. */
export const CONNECTION_TTL_MARGIN_SECONDS = 10 * 60;

export const CONNECTION_TTL_SECONDS = MAX_CONNECTION_SECONDS + CONNECTION_TTL_MARGIN_SECONDS;

export interface ConnectionMeta {
  /** The user the `$connect` authorizer let in. */
  readonly userId?: string;
  readonly role?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

export interface ConnectionRecord extends ConnectionMeta {
  readonly pk: string;
  readonly sk: 'meta';
  readonly connectionId: string;
  readonly connectedAt: string;
  readonly expiresAt: number;
}

export function connectionKey(connectionId: string): { pk: string; sk: 'meta' } {
  return { pk: `conn#${connectionId}`, sk: 'meta' };
}

export class ConnectionStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Records an open connection that expires `ttlSeconds` from now. Overwrites an existing record:
   * connection ids are unique, so a second put is a retry of the same connect.
   */
  async put(connectionId: string, meta: ConnectionMeta, ttlSeconds = CONNECTION_TTL_SECONDS): Promise<ConnectionRecord> {
    if (!(ttlSeconds > 0)) {
      throw new RangeError(`ttlSeconds must be positive, got ${ttlSeconds}`);
    }
    const now = this.clock();
    const record: ConnectionRecord = {
      ...connectionKey(connectionId),
      connectionId,
      ...(meta.userId ? { userId: meta.userId } : {}),
      ...(meta.role ? { role: meta.role } : {}),
      connectedAt: now.toISOString(),
      expiresAt: epochSeconds(now) + ttlSeconds,
      ...(meta.sourceIp ? { sourceIp: meta.sourceIp } : {}),
      ...(meta.userAgent ? { userAgent: meta.userAgent } : {}),
    };
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: record }));
    return record;
  }

  /** The user a recorded connection was opened for; undefined when it is not (or no longer) recorded. */
  async userOf(connectionId: string): Promise<string | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: connectionKey(connectionId), ProjectionExpression: 'userId', ConsistentRead: true }),
    );
    const userId = (out.Item as { userId?: unknown } | undefined)?.userId;
    return typeof userId === 'string' && userId !== '' ? userId : undefined;
  }
}
