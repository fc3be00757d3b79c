/**
 * The subscription registry (DESIGN.md sections 2, 3, 7): who follows which topic, readable both
 * ways. What subscribe and fan-out need from it, as an interface; the realtime table's adapter is
 * `DynamoSubscriptionRegistry` (dynamo-subscription-registry.ts).
 *
 * A subscription is an edge from a topic shard to a connection. An edge starts `pending` (being
 * replayed to, no live data) and goes `live` once replay has caught up with the topic's head
 * (subscriptions.ts explains why that is gap-free). A topic starts with one shard; when one shard
 * holds more than `edgesPerShard` edges, the shard count doubles (up to `maxShards`) and new edges
 * spread over all shards by `shardOf`. Edges never move, so fan-out reads shards `0 … shards-1`.
 * Nothing topic-wide is written per subscribe: a sample of subscribes counts its own shard's edges
 * (`growthCheckRate`), and only a growth writes the head.
 *
 * The last frame wins. API Gateway may run one connection's frames in any order, so every
 * register and unregister carries the time API Gateway received its frame (`version`, epoch ms),
 * and the subscription item keeps the version of the last frame applied to it: a frame older than
 * that is `superseded` and changes nothing. An unsubscribe leaves a tombstone with its version
 * (kept a few minutes), so a subscribe sent before it but run after it is refused too. Within one
 * millisecond the unsubscribe wins.
 */

export interface RegistryConfig {
  /** @default 100 */
  readonly maxSubscriptionsPerConnection: number;
  /** Edges one shard holds before the topic's shard count doubles. @default 500 */
  readonly edgesPerShard: number;
  /** @default 128 */
  readonly maxShards: number;
  /**
   * The share of new subscriptions that count their shard's edges (a strongly consistent COUNT
   * of at most `edgesPerShard + 1` edges) to decide on growth: a shard overshoots by about
   * `1 / growthCheckRate` edges before it splits. @default 1/16
   */
  readonly growthCheckRate: number;
}

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = {
  maxSubscriptionsPerConnection: 100,
  edgesPerShard: 500,
  maxShards: 128,
  growthCheckRate: 1 / 16,
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
  /** The last seq assigned; `base` when none was in this incarnation of the head. */
  readonly seq: number;
  /**
   * The seq the head's numbering started after (topic-log.ts: heads expire, and a new one starts
   * above every seq an old one gave). 0 before the first event.
   */
  readonly base: number;
  readonly shards: number;
}

export type RegisterResult =
  | { readonly status: 'created'; readonly subscription: SubscriptionRef; readonly head: TopicHead }
  | { readonly status: 'exists'; readonly subscription: SubscriptionRef }
  /** A later frame for this id (an unsubscribe or another subscribe) was applied already. */
  | { readonly status: 'superseded' };

export type UnregisterResult =
  | { readonly status: 'removed'; readonly subscription: SubscriptionRef }
  /** Nothing was registered under the id (a tombstone records the unsubscribe all the same). */
  | { readonly status: 'absent' }
  /** A later subscribe for this id was applied already: it stays. */
  | { readonly status: 'superseded' };

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
   * no live data until `goLive`), for a frame received at `version` (epoch ms). Subscribing again
   * with the same id and topic is idempotent (`exists`); the same id for another topic is a
   * `BadRequestError`; a frame older than the last one applied to the id is `superseded`. Throws
   * `TooManySubscriptionsError` at the limit and `ConnectionGone` when the connection record is
   * missing. `head` is the topic's head at registration (seq 0 when it has none): the default
   * resume point.
   */
  register(connectionId: string, subId: string, topic: string, version: number): Promise<RegisterResult>;

  /**
   * Switches a pending edge to live from `cursorSeq` (everything up to it has been replayed),
   * unless fan-out marked it as having skipped a later event (`markMissed`): then `behind`,
   * replay up to the head and try again. `gone`: the subscription was removed meanwhile, or
   * removed and registered again by a later frame (`version` is the registering frame's). One
   * conditional write to the subscriber's own edge: nothing shared by the topic's subscribers.
   */
  goLive(subscription: SubscriptionRef, cursorSeq: number, version: number): Promise<'live' | 'behind' | 'gone'>;

  /**
   * Fan-out found this edge pending while delivering events up to `seq`: records that it skipped
   * them, so the subscriber's go-live replays them first. If the edge went live after fan-out read
   * it, answers `{ liveFrom }` instead, and fan-out delivers the events after it itself.
   */
  markMissed(
    topic: string,
    shard: number,
    edge: Pick<Edge, 'connectionId' | 'subId'>,
    seq: number,
  ): Promise<'marked' | 'gone' | { readonly liveFrom: number }>;

  /**
   * Removes one subscription for a frame received at `version`; idempotent (an unknown id is
   * already removed). Of two concurrent removals of one id exactly one wins (the delete is
   * conditional), so the connection's count drops once.
   */
  unregister(connectionId: string, subId: string, version: number): Promise<UnregisterResult>;

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
