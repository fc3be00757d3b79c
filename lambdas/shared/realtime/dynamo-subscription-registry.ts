/**
 * The subscription registry (subscription-registry.ts) in the realtime table, with nothing left
 * behind for long:
 *
 *   pk `conn#<connectionId>`  sk `meta`            the connection (dynamo-connections.ts); `subs` counts
 *                                                   its subscriptions (the per-connection limit)
 *   pk `conn#<connectionId>`  sk `sub#<subId>`      topic, shard: unsubscribe and $disconnect
 *                                                   find a connection's edges from here
 *   pk `edge#<topic>#<shard>` sk `<connId>#<subId>` mode, liveFrom (and TTL): what fan-out reads,
 *                                                   by a strongly consistent Query on the topic
 *   pk `topic#<topic>`        sk `head`             seq (last assigned), shards, subscribers
 *
 * Every edge and subscription item expires with its connection (TTL), and fan-out deletes a
 * connection's items on the first 410: a disconnect API Gateway never reports costs one failed
 * post, then nothing. The topic head has no TTL on purpose: `seq` must never restart, or a client
 * resuming from `topic:17` would take new events for the ones it missed.
 *
 * Why edges are base-table items, not a GSI: subscribe registers first and replays second
 * (subscriptions.ts), and that is only gap-free if fan-out, after appending an event to the log,
 * sees every edge written before. A strongly consistent Query gives that; a GSI is eventually
 * consistent.
 *
 * Hot topics: the head's subscriber count only steers sharding, so it may drift (TTL expiries do
 * not decrement it); it is never used for delivery.
 */
import { GetCommand, paginateQuery, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { batchWriteAll, cancellationReasons, isConditionalCheckFailed } from '../dynamodb';
import { BadRequestError, TooManySubscriptionsError } from '../errors';
import { retry } from '../retry';
import { connectionKey, CONNECTION_TTL_SECONDS } from './dynamo-connections';
import {
  ConnectionGone,
  DEFAULT_REGISTRY_CONFIG,
  shardOf,
  type CapacitySink,
  type Edge,
  type RegisterResult,
  type RegistryConfig,
  type SubscriptionRef,
  type SubscriptionRegistry,
  type TopicHead,
} from './subscription-registry';

export const subscriptionKey = (connectionId: string, subId: string) => ({ pk: `conn#${connectionId}`, sk: `sub#${subId}` });
export const edgeKey = (topic: string, shard: number, connectionId: string, subId: string) => ({
  pk: edgePartition(topic, shard),
  sk: `${connectionId}#${subId}`,
});
export const edgePartition = (topic: string, shard: number) => `edge#${topic}#${shard}`;
export const headKey = (topic: string) => ({ pk: `topic#${topic}`, sk: 'head' });

const subscriptionItemSchema = z.object({ topic: z.string(), shard: z.number().int().nonnegative() });
const headItemSchema = z.object({
  seq: z.number().int().nonnegative().default(0),
  shards: z.number().int().positive().default(1),
  subscribers: z.number().int().default(0),
});
const edgeItemSchema = z.object({ sk: z.string(), mode: z.enum(['pending', 'live']), liveFrom: z.number().int().nonnegative().default(0) });

/** A transaction that conflicted with another one in flight: 5 calls, backoff 25 ms doubling to 200 ms. */
const TRANSACT_RETRY = {
  attempts: 5,
  baseDelayMs: 25,
  maxDelayMs: 200,
  retryable: (error: unknown) =>
    cancellationReasons(error)?.includes('TransactionConflict') || (error as Error).name === 'TransactionConflictException',
};

export class DynamoSubscriptionRegistry implements SubscriptionRegistry {
  constructor(
    // A real document client, not `DocumentClientLike`: `paginateQuery` insists on one.
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly config: RegistryConfig = DEFAULT_REGISTRY_CONFIG,
    private readonly clock: Clock = systemClock,
  ) {}

  async register(connectionId: string, subId: string, topic: string): Promise<RegisterResult> {
    const existing = await this.subscription(connectionId, subId);
    if (existing) return this.existing(existing, topic);

    const head = await this.countSubscriber(topic, +1);
    const shard = shardOf(`${connectionId}#${subId}`, head.shards);
    const now = this.clock();
    const expiresAt = epochSeconds(now) + CONNECTION_TTL_SECONDS;
    const subscription: SubscriptionRef = { connectionId, subId, topic, shard };
    try {
      await this.transact([
        {
          Update: {
            TableName: this.tableName,
            Key: connectionKey(connectionId),
            UpdateExpression: 'ADD subs :one',
            ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(subs) OR subs < :limit)',
            ExpressionAttributeValues: { ':one': 1, ':limit': this.config.maxSubscriptionsPerConnection },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: { ...subscriptionKey(connectionId, subId), topic, shard, createdAt: now.toISOString(), expiresAt },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            // Only what fan-out needs: every byte of an edge is read (strongly consistent) per event.
            Item: { ...edgeKey(topic, shard, connectionId, subId), mode: 'pending', expiresAt },
          },
        },
      ]);
    } catch (error) {
      await this.countSubscriber(topic, -1).catch(() => undefined);
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      if (reasons[1] === 'ConditionalCheckFailed') {
        // The same id, registered by a concurrent frame: treat like any repeated subscribe.
        const raced = await this.subscription(connectionId, subId);
        if (raced) return this.existing(raced, topic);
      }
      if (reasons[0] === 'ConditionalCheckFailed') {
        const old = (error as { CancellationReasons?: { Item?: unknown }[] }).CancellationReasons?.[0]?.Item;
        if (old === undefined) throw new ConnectionGone(connectionId);
        throw new TooManySubscriptionsError(this.config.maxSubscriptionsPerConnection);
      }
      throw error;
    }
    return { status: 'created', subscription, headSeq: head.seq };
  }

  async goLive(subscription: SubscriptionRef, cursorSeq: number): Promise<'live' | 'behind' | 'gone'> {
    const { topic, shard, connectionId, subId } = subscription;
    try {
      await this.transact([
        {
          ConditionCheck: {
            TableName: this.tableName,
            Key: headKey(topic),
            ConditionExpression: 'seq = :cursor',
            ExpressionAttributeValues: { ':cursor': cursorSeq },
          },
        },
        {
          Update: {
            TableName: this.tableName,
            Key: edgeKey(topic, shard, connectionId, subId),
            UpdateExpression: 'SET #mode = :live, liveFrom = :cursor',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#mode': 'mode' },
            ExpressionAttributeValues: { ':live': 'live', ':cursor': cursorSeq },
          },
        },
      ]);
      return 'live';
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons?.[1] === 'ConditionalCheckFailed') return 'gone';
      if (reasons?.[0] === 'ConditionalCheckFailed') return 'behind';
      throw error;
    }
  }

  async unregister(connectionId: string, subId: string): Promise<SubscriptionRef | undefined> {
    const subscription = await this.subscription(connectionId, subId);
    if (!subscription) return undefined;
    const { topic, shard } = subscription;
    const removeSubscription = [
      {
        Delete: {
          TableName: this.tableName,
          Key: subscriptionKey(connectionId, subId),
          ConditionExpression: 'attribute_exists(pk)',
        },
      },
      { Delete: { TableName: this.tableName, Key: edgeKey(topic, shard, connectionId, subId) } },
    ];
    const uncount = {
      Update: {
        TableName: this.tableName,
        Key: connectionKey(connectionId),
        UpdateExpression: 'ADD subs :minusOne',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':minusOne': -1 },
      },
    };
    try {
      await this.transact([...removeSubscription, uncount]);
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons?.[0] === 'ConditionalCheckFailed') return undefined; // a concurrent removal won
      if (reasons?.[2] !== 'ConditionalCheckFailed') throw error;
      // The connection record is gone (closing): remove the subscription without counting.
      try {
        await this.transact(removeSubscription);
      } catch (retryError) {
        if (cancellationReasons(retryError)?.[0] === 'ConditionalCheckFailed') return undefined;
        throw retryError;
      }
    }
    await this.countSubscriber(topic, -1);
    return subscription;
  }

  async forget(connectionId: string): Promise<SubscriptionRef[]> {
    const items: Record<string, unknown>[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `conn#${connectionId}` },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));

    const subscriptions: SubscriptionRef[] = [];
    const keys: { pk: string; sk: string }[] = [connectionKey(connectionId)];
    for (const item of items) {
      const sk = String(item.sk);
      if (!sk.startsWith('sub#')) continue;
      const parsed = subscriptionItemSchema.safeParse(item);
      if (!parsed.success) continue;
      const subscription = { connectionId, subId: sk.slice('sub#'.length), ...parsed.data };
      subscriptions.push(subscription);
      keys.push({ pk: String(item.pk), sk }, edgeKey(subscription.topic, subscription.shard, connectionId, subscription.subId));
    }
    await this.deleteAll(keys);
    await Promise.all(subscriptions.map((s) => this.countSubscriber(s.topic, -1).catch(() => undefined)));
    return subscriptions;
  }

  async head(topic: string): Promise<TopicHead | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: headKey(topic), ConsistentRead: true }));
    return out.Item ? headItemSchema.parse(out.Item) : undefined;
  }

  async *edges(topic: string, shard: number, onCapacity?: CapacitySink): AsyncGenerator<Edge[]> {
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': edgePartition(topic, shard) },
        ProjectionExpression: 'sk, #mode, liveFrom',
        ExpressionAttributeNames: { '#mode': 'mode' },
        ConsistentRead: true,
        ReturnConsumedCapacity: onCapacity ? 'TOTAL' : undefined,
      },
    );
    for await (const page of pages) {
      const capacity = page.ConsumedCapacity?.CapacityUnits;
      if (onCapacity && capacity !== undefined) onCapacity(capacity);
      const edges: Edge[] = [];
      for (const item of page.Items ?? []) {
        const parsed = edgeItemSchema.safeParse(item);
        if (!parsed.success) continue;
        // sk is `<connectionId>#<subId>`; neither contains '#'.
        const split = parsed.data.sk.indexOf('#');
        if (split <= 0) continue;
        const { sk, mode, liveFrom } = parsed.data;
        edges.push({ connectionId: sk.slice(0, split), subId: sk.slice(split + 1), mode, liveFrom });
      }
      yield edges;
    }
  }

  /**
   * A transaction, retried when DynamoDB cancels it for a conflict with another one in flight on
   * the same items (concurrent frames of one connection); other cancellations are the caller's.
   */
  private async transact(items: object[]): Promise<void> {
    await retry(() => this.client.send(new TransactWriteCommand({ TransactItems: items as never })), TRANSACT_RETRY);
  }

  private async subscription(connectionId: string, subId: string): Promise<SubscriptionRef | undefined> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: subscriptionKey(connectionId, subId), ConsistentRead: true }),
    );
    if (!out.Item) return undefined;
    return { connectionId, subId, ...subscriptionItemSchema.parse(out.Item) };
  }

  private existing(subscription: SubscriptionRef, topic: string): RegisterResult {
    if (subscription.topic !== topic) {
      throw new BadRequestError(
        `Subscription id "${subscription.subId}" is already used for ${subscription.topic} on this connection; unsubscribe it first`,
        [{ field: 'id', message: 'Already used for another topic' }],
      );
    }
    return { status: 'exists', subscription };
  }

  /** Adds `delta` to the topic's subscriber count and grows its shard count when it passes the threshold. */
  private async countSubscriber(topic: string, delta: 1 | -1): Promise<TopicHead> {
    const out = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: headKey(topic),
        UpdateExpression: 'ADD subscribers :delta SET seq = if_not_exists(seq, :zero), shards = if_not_exists(shards, :one)',
        ExpressionAttributeValues: { ':delta': delta, ':zero': 0, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const head = headItemSchema.parse(out.Attributes);
    const { edgesPerShard, maxShards } = this.config;
    if (delta > 0 && head.subscribers > head.shards * edgesPerShard && head.shards < maxShards) {
      const shards = Math.min(maxShards, head.shards * 2);
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: headKey(topic),
            UpdateExpression: 'SET shards = :shards',
            // Only one of many concurrent subscribers grows it, and never backwards.
            ConditionExpression: 'shards = :old',
            ExpressionAttributeValues: { ':shards': shards, ':old': head.shards },
          }),
        );
        return { ...head, shards };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        return (await this.head(topic)) ?? head;
      }
    }
    return head;
  }

  private async deleteAll(keys: { pk: string; sk: string }[]): Promise<void> {
    await batchWriteAll(
      this.client,
      this.tableName,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
    );
  }
}
