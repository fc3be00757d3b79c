/**
 * The subscription registry (DESIGN.md sections 2, 3, 7): who follows which topic, readable both
 * ways. What subscribe and fan-out need from it, as an interface; the realtime table's adapter is
 * `DynamoSubscriptionRegistry` (dynamo-subscription-registry.ts).
 *
 * A subscription is an edge from a topic shard to a connection. An edge starts `pending` (being
 * replayed to, no live data) and goes `live` once replay has caught up with the topic's head
 * (subscriptions.ts explains why that is gap-free). A topic starts with one shard; when its
 * subscribers pass `edgesPerShard × shards`, the shard count doubles (up to `maxShards`) and new
 * edges spread over all shards by `shardOf`. Edges never move, so fan-out reads shards
 * `0 … shards-1`.
 */

export interface RegistryConfig {
  /** @default 100 */
  readonly maxSubscriptionsPerConnection: number;
  /** Subscribers per shard before a topic's shard count doubles. @default 500 */
  readonly edgesPerShard: number;
  /** @default 128 */
  readonly maxShards: number;
}

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = {
  maxSubscriptionsPerConnection: 100,
  edgesPerShard: 500,
  maxShards: 128,
};

/** One subscription of one connection: where its edge lives. */
export interface SubscriptionRef {
  readonly connectionId: string;
  readonly subId: string;
  readonly topic: string;
  readonly shard: number;
}

/** What fan-out reads per subscriber. `pending` edges are being replayed to and get no live data. */
export interface Edge {
  readonly connectionId: string;
  readonly subId: string;
  readonly mode: 'pending' | 'live';
  /**
   * The last seq the subscriber had when its edge went live (replayed or skipped by `reset`):
   * fan-out sends it only later ones, so an event numbered before the switch but still being
   * delivered is not sent a second time.
   */
  readonly liveFrom: number;
}

export interface TopicHead {
  readonly seq: number;
  readonly shards: number;
  readonly subscribers: number;
}

export type RegisterResult =
  | { readonly status: 'created'; readonly subscription: SubscriptionRef; readonly headSeq: number }
  | { readonly status: 'exists'; readonly subscription: SubscriptionRef };

/** The connection record is gone (closed, expired or removed after a 410). */
export class ConnectionGone extends Error {
  constructor(readonly connectionId: string) {
    super(`Connection ${connectionId} is not registered`);
    this.name = 'ConnectionGone';
  }
}

/** Capacity a call consumed, for the metrics fan-out reports. */
export type CapacitySink = (readCapacityUnits: number) => void;

export interface SubscriptionRegistry {
  /**
   * Registers subscription `subId` of a connection to `topic` with a `pending` edge (it receives
   * no live data until `goLive`). Subscribing again with the same id and topic is idempotent
   * (`exists`); the same id for another topic is a `BadRequestError`. Throws
   * `TooManySubscriptionsError` at the limit and `ConnectionGone` when the connection record is
   * missing. `headSeq` is the topic's last seq at registration: the default resume point.
   */
  register(connectionId: string, subId: string, topic: string): Promise<RegisterResult>;

  /**
   * Switches a pending edge to live, but only if the topic's head is still `cursorSeq`: everything
   * up to it has been replayed, and every later event will see the live edge (fan-out appends to
   * the log before it reads edges). `behind`: events arrived meanwhile; replay them and try again.
   * `gone`: the subscription was removed meanwhile.
   */
  goLive(subscription: SubscriptionRef, cursorSeq: number): Promise<'live' | 'behind' | 'gone'>;

  /**
   * Removes one subscription; idempotent (an unknown id is already removed). Of two concurrent
   * removals of one id exactly one wins (the delete is conditional), so the connection's count
   * and the topic's count drop once.
   */
  unregister(connectionId: string, subId: string): Promise<SubscriptionRef | undefined>;

  /**
   * Removes a connection with everything it subscribed to: on `$disconnect`, and by fan-out on the
   * first 410. Idempotent. Returns the subscriptions removed.
   */
  forget(connectionId: string): Promise<SubscriptionRef[]>;

  /** The topic's head, read strongly consistent; undefined for a topic nobody published to or joined. */
  head(topic: string): Promise<TopicHead | undefined>;

  /**
   * The edges of one shard of a topic, a page at a time, read strongly consistent (never a
   * scan), with only what fan-out needs. `onCapacity` hears the read capacity each page consumed.
   */
  edges(topic: string, shard: number, onCapacity?: CapacitySink): AsyncIterable<Edge[]>;
}

/** A stable shard in `[0, shards)` for a key (FNV-1a): the same subscription always maps the same way. */
export function shardOf(key: string, shards: number): number {
  if (shards <= 1) return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}
