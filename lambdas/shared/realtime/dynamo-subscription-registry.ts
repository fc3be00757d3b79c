/**
 * The subscription registry (subscription-registry.ts) in the realtime table, with nothing left
 * behind for long:
 *
 *   pk `conn#<connectionId>`  sk `meta`            the connection (dynamo-connections.ts); `subs` counts
 *                                                   its subscriptions (the per-connection limit)
 *   pk `conn#<connectionId>`  sk `sub#<subId>`      topic, shard, v (the version of the last frame
 *                                                   applied): unsubscribe and $disconnect find a
 *                                                   connection's edges from here. After an
 *                                                   unsubscribe, a tombstone: gone, v, and a TTL of
 *                                                   `TOMBSTONE_TTL_SECONDS`
 *   pk `edge#<topic>#<shard>` sk `<connId>#<subId>` mode, liveFrom, v, missedTo (and TTL): what
 *                                                   fan-out reads, by a strongly consistent Query
 *                                                   on the topic
 *   pk `topic#<topic>`        sk `head`             seq, seqBase, shards, grownAt, expiresAt
 *                                                   (dynamo-topic-log.ts)
 *
 * Every edge and subscription item expires with its connection (TTL), and fan-out deletes a
 * connection's items on the first 410: a disconnect API Gateway never reports costs one failed
 * post, then nothing. A topic's head is written by fan-out when it numbers events (and by a
 * subscribe only when a shard splits, or to extend a head about to expire), and expires a week
 * after its last event: subscribing to any number of topic names leaves nothing behind.
 *
 * Why edges are base-table items, not a GSI: subscribe registers first and replays second
 * (subscriptions.ts), and that is only gap-free if fan-out, after appending an event to the log,
 * sees every edge written before. A strongly consistent Query gives that; a GSI is eventually
 * consistent.
 *
 * Hot topics: a subscribe writes only its connection's items and its edge, never an item shared
 * by the topic's subscribers, so a join storm of one topic spreads over its edge partitions (and
 * DynamoDB splits a hot partition by sort key). Shard growth is steered by sampled counts.
 */
import {
  GetCommand,
  PutCommand,
  paginateQuery,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { batchWriteAll, cancellationReasons, isConditionalCheckFailed } from '../dynamodb';
import { BadRequestError, TooManySubscriptionsError } from '../errors';
import { HEAD_RENEW_SECONDS, HEAD_TTL_SECONDS } from './topic-log';
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
  type UnregisterResult,
} from './subscription-registry';

/**
 * How long an unsubscribe's tombstone keeps refusing older subscribes of its id. A frame is
 * handled within the integration timeout (29 s) of its arrival, so minutes are plenty.
 */
export const TOMBSTONE_TTL_SECONDS = 5 * 60;

export const subscriptionKey = (connectionId: string, subId: string) => ({ pk: `conn#${connectionId}`, sk: `sub#${subId}` });
export const edgeKey = (topic: string, shard: number, connectionId: string, subId: string) => ({
  pk: edgePartition(topic, shard),
  sk: `${connectionId}#${subId}`,
});
export const edgePartition = (topic: string, shard: number) => `edge#${topic}#${shard}`;
export const headKey = (topic: string) => ({ pk: `topic#${topic}`, sk: 'head' });

const subscriptionItemSchema = z.object({ topic: z.string(), shard: z.number().int().nonnegative(), v: z.number().default(0) });
const tombstoneItemSchema = z.object({ gone: z.literal(true), v: z.number() });
const headItemSchema = z
  .object({
    seq: z.number().int().nonnegative().default(0),
    seqBase: z.number().int().nonnegative().default(0),
    shards: z.number().int().positive().default(1),
    grownAt: z.number().default(0),
    expiresAt: z.number().optional(),
  })
  .transform(({ seqBase, ...head }) => ({ ...head, base: seqBase }));

type HeadItem = z.infer<typeof headItemSchema>;

/** A subscription item as read: a live subscription, a tombstone, or nothing. */
type SubscriptionState =
  | { readonly kind: 'live'; readonly subscription: SubscriptionRef; readonly v: number }
  | { readonly kind: 'tombstone'; readonly v: number }
  | { readonly kind: 'none' };

/** How often register and unregister re-read after losing a race with another frame of the id. */
const MAX_RACES = 5;
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
    /** Decides which subscribes count their shard (`growthCheckRate`). */
    private readonly random: () => number = Math.random,
  ) {}

  async register(connectionId: string, subId: string, topic: string, version: number): Promise<RegisterResult> {
    // Most subscribes are of a new id: try to create it first, and read what is there only when
    // the create's condition says something is.
    const created = await this.create(connectionId, subId, topic, version);
    if (created) return created;
    for (let race = 0; race < MAX_RACES; race++) {
      const state = await this.subscriptionState(connectionId, subId);
      if (state.kind === 'tombstone' && state.v >= version) return { status: 'superseded' };
      const result =
        state.kind === 'live' ? await this.existing(state, topic, version) : await this.create(connectionId, subId, topic, version);
      if (result) return result;
      // Another frame of this id wrote its item between our read and our write: read again.
    }
    throw new Error(`Subscription ${subId} of ${connectionId} kept changing under register`);
  }

  /** Creates the subscription; undefined when another frame of the id won the race to its item. */
  private async create(connectionId: string, subId: string, topic: string, version: number): Promise<RegisterResult | undefined> {
    const head: HeadItem = (await this.head(topic)) ?? { seq: 0, base: 0, shards: 1, grownAt: 0 };
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
            Item: { ...subscriptionKey(connectionId, subId), topic, shard, v: version, createdAt: now.toISOString(), expiresAt },
            // Nothing there, or the tombstone of an unsubscribe sent before this frame.
            ConditionExpression: 'attribute_not_exists(pk) OR (gone = :true AND v < :v)',
            ExpressionAttributeValues: { ':true': true, ':v': version },
          },
        },
        {
          Put: {
            TableName: this.tableName,
            // Only what fan-out needs (and `v`, for goLive): every byte of an edge is read per event.
            Item: { ...edgeKey(topic, shard, connectionId, subId), mode: 'pending', v: version, expiresAt },
          },
        },
      ]);
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      if (reasons[1] === 'ConditionalCheckFailed') return undefined;
      if (reasons[0] === 'ConditionalCheckFailed') {
        const old = (error as { CancellationReasons?: { Item?: unknown }[] }).CancellationReasons?.[0]?.Item;
        if (old === undefined) throw new ConnectionGone(connectionId);
        throw new TooManySubscriptionsError(this.config.maxSubscriptionsPerConnection);
      }
      throw error;
    }
    await this.maintainHead(topic, shard, head, version, now);
    return { status: 'created', subscription, head: { seq: head.seq, base: head.base, shards: head.shards } };
  }

  /**
   * The rare writes a subscribe makes to its topic's head. A sample of subscribes (`growthCheckRate`)
   * counts the edges its shard received since the shard count last grew, and doubles the count
   * when they pass `edgesPerShard`: new edges spread evenly, so that is about `edgesPerShard` new
   * subscribers per shard, while the edges placed before (shard 0 holds every early one) stay
   * where they are and do not trigger growth again. A head with less than `HEAD_RENEW_SECONDS`
   * left is extended (a topic with subscribers must keep its shard count).
   */
  private async maintainHead(topic: string, shard: number, head: HeadItem, version: number, now: Date): Promise<void> {
    const { edgesPerShard, maxShards, growthCheckRate } = this.config;
    const expiresAt = epochSeconds(now) + HEAD_TTL_SECONDS;
    if (head.shards < maxShards && this.random() < growthCheckRate && (await this.edgesSince(topic, shard, head.grownAt)) > edgesPerShard) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: headKey(topic),
            UpdateExpression: 'SET shards = :shards, grownAt = :version, expiresAt = if_not_exists(expiresAt, :expiresAt)',
            // Only one of many concurrent subscribers grows it, and never backwards.
            ConditionExpression: head.shards === 1 ? 'attribute_not_exists(shards) OR shards = :old' : 'shards = :old',
            ExpressionAttributeValues: {
              ':shards': Math.min(maxShards, head.shards * 2),
              ':old': head.shards,
              ':version': version,
              ':expiresAt': expiresAt,
            },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      return;
    }
    if (head.expiresAt !== undefined && head.expiresAt < epochSeconds(now) + HEAD_RENEW_SECONDS) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: headKey(topic),
            UpdateExpression: 'SET expiresAt = :expiresAt',
            ConditionExpression: 'attribute_exists(pk) AND expiresAt < :expiresAt',
            ExpressionAttributeValues: { ':expiresAt': expiresAt },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
  }

  /** Edges of one shard registered at or after `since` (a frame version), read strongly consistent. */
  private async edgesSince(topic: string, shard: number, since: number): Promise<number> {
    let count = 0;
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: 'v >= :since',
        ExpressionAttributeValues: { ':pk': edgePartition(topic, shard), ':since': since },
        Select: 'COUNT',
        ConsistentRead: true,
      },
    );
    for await (const page of pages) count += page.Count ?? 0;
    return count;
  }

  async goLive(subscription: SubscriptionRef, cursorSeq: number, version: number): Promise<'live' | 'behind' | 'gone'> {
    const { topic, shard, connectionId, subId } = subscription;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: edgeKey(topic, shard, connectionId, subId),
          UpdateExpression: 'SET #mode = :live, liveFrom = :cursor',
          // An edge a later subscribe of the id created again (after an unsubscribe) is that one's;
          // one fan-out skipped past the cursor must replay first.
          ConditionExpression: 'attribute_exists(pk) AND v <= :v AND (attribute_not_exists(missedTo) OR missedTo <= :cursor)',
          ExpressionAttributeNames: { '#mode': 'mode' },
          ExpressionAttributeValues: { ':live': 'live', ':cursor': cursorSeq, ':v': version },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'live';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const old = conditionFailureItem(error);
      return old === undefined || (typeof old.v === 'number' && old.v > version) ? 'gone' : 'behind';
    }
  }

  async markMissed(
    topic: string,
    shard: number,
    edge: Pick<Edge, 'connectionId' | 'subId'>,
    seq: number,
  ): Promise<'marked' | 'gone' | { liveFrom: number }> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: edgeKey(topic, shard, edge.connectionId, edge.subId),
          UpdateExpression: 'SET missedTo = :seq',
          ConditionExpression: '#mode = :pending AND (attribute_not_exists(missedTo) OR missedTo < :seq)',
          ExpressionAttributeNames: { '#mode': 'mode' },
          ExpressionAttributeValues: { ':pending': 'pending', ':seq': seq },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'marked';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const old = conditionFailureItem(error);
      if (old === undefined) return 'gone';
      if (old.mode === 'live') return { liveFrom: typeof old.liveFrom === 'number' ? old.liveFrom : 0 };
      return 'marked'; // already marked as far
    }
  }

  async unregister(connectionId: string, subId: string, version: number): Promise<UnregisterResult> {
    for (let race = 0; race < MAX_RACES; race++) {
      const state = await this.subscriptionState(connectionId, subId);
      if (state.kind === 'live' && state.v > version) return { status: 'superseded' };
      const removed = state.kind === 'live' ? await this.remove(state, version) : await this.bury(connectionId, subId, version, state);
      if (removed) return removed;
      // Another frame of this id changed its item between our read and our write: read again.
    }
    throw new Error(`Subscription ${subId} of ${connectionId} kept changing under unregister`);
  }

  /**
   * Replaces a live subscription by its tombstone, deletes its edge and uncounts it, if the item
   * is still as read; undefined when it changed meanwhile.
   */
  private async remove(state: SubscriptionState & { kind: 'live' }, version: number): Promise<UnregisterResult | undefined> {
    const { subscription } = state;
    const { connectionId, subId, topic, shard } = subscription;
    const removeSubscription = [
      {
        Put: {
          TableName: this.tableName,
          Item: this.tombstone(connectionId, subId, version),
          // Items written before versions existed read as v 0.
          ConditionExpression: `attribute_exists(topic) AND ${state.v === 0 ? 'attribute_not_exists(v)' : 'v = :read'}`,
          ...(state.v === 0 ? {} : { ExpressionAttributeValues: { ':read': state.v } }),
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
      if (reasons?.[0] === 'ConditionalCheckFailed') return undefined; // a concurrent frame of the id won
      if (reasons?.[2] !== 'ConditionalCheckFailed') throw error;
      // The connection record is gone (closing): remove the subscription without counting.
      try {
        await this.transact(removeSubscription);
      } catch (retryError) {
        if (cancellationReasons(retryError)?.[0] === 'ConditionalCheckFailed') return undefined;
        throw retryError;
      }
    }
    return { status: 'removed', subscription };
  }

  /**
   * Records an unsubscribe of an id with no live subscription, so that a subscribe sent before it
   * but handled after it is refused; undefined when a frame of the id wrote meanwhile.
   */
  private async bury(
    connectionId: string,
    subId: string,
    version: number,
    state: SubscriptionState & { kind: 'none' | 'tombstone' },
  ): Promise<UnregisterResult | undefined> {
    if (state.kind === 'tombstone' && state.v >= version) return { status: 'absent' };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.tombstone(connectionId, subId, version),
          ConditionExpression: state.kind === 'none' ? 'attribute_not_exists(pk)' : 'gone = :true AND v = :read',
          ExpressionAttributeValues: state.kind === 'none' ? undefined : { ':true': true, ':read': state.v },
        }),
      );
      return { status: 'absent' };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  private tombstone(connectionId: string, subId: string, version: number) {
    const expiresAt = epochSeconds(this.clock()) + TOMBSTONE_TTL_SECONDS;
    return { ...subscriptionKey(connectionId, subId), gone: true, v: version, expiresAt };
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
      keys.push({ pk: String(item.pk), sk }); // tombstones too
      const parsed = subscriptionItemSchema.safeParse(item);
      if (!parsed.success) continue;
      const { topic, shard } = parsed.data;
      const subscription = { connectionId, subId: sk.slice('sub#'.length), topic, shard };
      subscriptions.push(subscription);
      keys.push(edgeKey(topic, shard, connectionId, subscription.subId));
    }
    await this.deleteAll(keys);
    return subscriptions;
  }

  async head(topic: string): Promise<HeadItem | undefined> {
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

  private async subscriptionState(connectionId: string, subId: string): Promise<SubscriptionState> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: subscriptionKey(connectionId, subId), ConsistentRead: true }),
    );
    if (!out.Item) return { kind: 'none' };
    const tombstone = tombstoneItemSchema.safeParse(out.Item);
    if (tombstone.success) return { kind: 'tombstone', v: tombstone.data.v };
    const { topic, shard, v } = subscriptionItemSchema.parse(out.Item);
    return { kind: 'live', subscription: { connectionId, subId, topic, shard }, v };
  }

  /**
   * A subscribe of an id that is registered: the same topic is a repeat (`exists`, and the item
   * takes the frame's version so an older unsubscribe cannot remove it), unless an even later
   * frame was applied (`superseded`); another topic is a client error.
   */
  private async existing(state: SubscriptionState & { kind: 'live' }, topic: string, version: number): Promise<RegisterResult | undefined> {
    const { subscription } = state;
    if (subscription.topic !== topic) {
      throw new BadRequestError(
        `Subscription id "${subscription.subId}" is already used for ${subscription.topic} on this connection; unsubscribe it first`,
        [{ field: 'id', message: 'Already used for another topic' }],
      );
    }
    if (state.v > version) return { status: 'superseded' };
    if (state.v < version) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: subscriptionKey(subscription.connectionId, subscription.subId),
            UpdateExpression: 'SET v = :v',
            ConditionExpression: 'attribute_exists(topic) AND (attribute_not_exists(v) OR v < :v)',
            ExpressionAttributeValues: { ':v': version },
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        return undefined; // another frame of the id changed it meanwhile
      }
    }
    return { status: 'exists', subscription };
  }

  private async deleteAll(keys: { pk: string; sk: string }[]): Promise<void> {
    await batchWriteAll(
      this.client,
      this.tableName,
      keys.map((Key) => ({ DeleteRequest: { Key } })),
    );
  }
}

/** The item a failed condition returned (`ALL_OLD`); the document client leaves it marshalled. */
function conditionFailureItem(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: Record<string, never> }).Item;
  return item === undefined ? undefined : unmarshall(item);
}
