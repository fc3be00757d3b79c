/**
 * Subscribe and unsubscribe (DESIGN.md section 3): authorization, registration, replay, and the
 * switch to live delivery, with no gap and no duplicate a client cannot drop by `seq`.
 *
 * The order, and why it is gap-free:
 *
 * 1. Read the topic's head seq H, then register: the edge is written `pending`.
 * 2. Send `subscribed`, then replay from the log everything after the client's `lastEventId`
 *    (or after H when it gave none), in order, up to H.
 * 3. Go live: flip the edge to `live` from the last seq replayed, with a condition on the edge
 *    alone: that fan-out has not marked it as having skipped a later event. If it has, read the
 *    head again, replay up to it, and try again.
 *
 * Fan-out numbers an event and appends it to the log before it reads edges; a pending edge it
 * reads gets the event's seq as `missedTo` (a conditional write that fails once the edge is
 * live, and then fan-out delivers the event itself). So an event is replayed (numbered before H
 * was read, or marked on the edge before the switch, which then fails until it is replayed) or
 * sent live (fan-out read the edge live, or found it live when marking): never neither. Because
 * live data only reaches an edge once its replay has ended, the client sees seqs in order. The
 * edge records the seq it went live at (`liveFrom`), and fan-out sends it only later ones, so an
 * event replayed while its own delivery was still under way is not sent twice. Only a retried
 * fan-out can send a seq again; clients drop any `seq` they already have. Nothing in this is
 * shared by the topic's subscribers (decision 11): a join storm writes to its own edges.
 *
 * The log keeps 24 hours and a replay sends at most `maxReplay` events; past either, or when the
 * client's id is unknown (from the future, or from an older head of the topic: heads expire, and a
 * new one numbers above every seq an old one gave), the client gets `reset` (refetch over HTTP)
 * and live data from then on.
 *
 * The last frame for an id wins: subscribe and unsubscribe pass the time API Gateway received the
 * frame, and a frame older than the last one applied to the id is `superseded`, answered with
 * nothing (subscription-registry.ts). A subscribe overtaken mid-replay by its unsubscribe stops at
 * the switch to live (the edge is gone); frames it sent before are for an id the client dropped.
 */
import { ForbiddenError } from '../errors';
import { sleep as defaultSleep, type Sleep } from '../retry';
import { dataFrame } from './frames';
import type { ConnectionPoster } from './poster';
import {
  ConnectionGone,
  type RegisterResult,
  type SubscriptionRef,
  type SubscriptionRegistry,
  type TopicHead,
} from './subscription-registry';
import type { LogEntry, TopicLog } from './topic-log';
import { authorizeSubscription, parseTopic, seqOfEventId, type Subscriber } from './topics';

export interface SubscriptionServiceConfig {
  /** Most events one replay sends before answering `reset`. @default 1000 */
  readonly maxReplay: number;
  /**
   * How long to wait for numbered events to reach the log (fan-out appends right after numbering)
   * before giving up with `reset`. @default 2000
   */
  readonly logWaitMs: number;
}

export const DEFAULT_SUBSCRIPTION_CONFIG: SubscriptionServiceConfig = { maxReplay: 1_000, logWaitMs: 2_000 };

export interface SubscribeRequest {
  readonly connectionId: string;
  readonly who: Subscriber;
  readonly id: string;
  readonly topic: string;
  readonly lastEventId?: string;
  /** When API Gateway received the frame (epoch ms): orders it among the id's other frames. */
  readonly receivedAt: number;
}

/** `superseded`: a later frame for the id was applied first; nothing was sent. */
export type SubscribeOutcome = 'subscribed' | 'already_subscribed' | 'superseded' | 'connection_gone';
export type UnsubscribeOutcome = 'unsubscribed' | 'superseded';

const NO_HEAD: TopicHead = { seq: 0, base: 0, shards: 1 };

export class SubscriptionService {
  constructor(
    private readonly registry: SubscriptionRegistry,
    private readonly log: TopicLog,
    private readonly poster: ConnectionPoster,
    private readonly config: SubscriptionServiceConfig = DEFAULT_SUBSCRIPTION_CONFIG,
    private readonly sleep: Sleep = defaultSleep,
  ) {}

  /**
   * Subscribes and sends `subscribed`, any replay, and `reset` when needed, to the connection.
   * Throws `AppError`s (bad topic or event id, forbidden, too many subscriptions) for the caller
   * to answer with an error frame.
   */
  async subscribe(request: SubscribeRequest): Promise<SubscribeOutcome> {
    const { connectionId, id, receivedAt } = request;
    const topic = parseTopic(request.topic);
    if (!request.who.userId) throw new ForbiddenError('The connection has no user');
    authorizeSubscription(request.who, topic);
    const lastSeq = request.lastEventId === undefined ? undefined : seqOfEventId(topic.name, request.lastEventId);

    let registered: RegisterResult;
    try {
      registered = await this.registry.register(connectionId, id, topic.name, receivedAt);
    } catch (error) {
      if (error instanceof ConnectionGone) return 'connection_gone';
      throw error;
    }
    if (registered.status === 'superseded') return 'superseded';
    const { subscription } = registered;
    // A repeated subscribe is answered as the first one, and also finishes the switch to live: the
    // first attempt may have failed half way and left the edge pending (an edge already live only
    // gets duplicates, which the client drops).
    const head = registered.status === 'created' ? registered.head : ((await this.registry.head(topic.name)) ?? NO_HEAD);
    if (!(await this.send(connectionId, { type: 'subscribed', id, topic: topic.name }))) return 'connection_gone';

    // `topic:0` asks for everything there is: the head's events start above its base.
    let cursor = lastSeq === 0 ? head.base : (lastSeq ?? head.seq);
    if (
      lastSeq !== undefined &&
      (lastSeq > head.seq || (lastSeq > 0 && lastSeq <= head.base) || head.seq - cursor > this.config.maxReplay)
    ) {
      // An id from the future is one we never issued for this topic; one at or below the head's
      // base is from an older head, whose events are gone; a gap this wide is cheaper to
      // refetch than to replay.
      if (!(await this.reset(subscription, lastSeq > head.seq ? 'replay_unavailable' : 'replay_window_exceeded'))) return 'connection_gone';
      cursor = head.seq;
    }
    if (!(await this.catchUpAndGoLive(subscription, cursor, head.seq, receivedAt))) return 'connection_gone';
    return registered.status === 'created' ? 'subscribed' : 'already_subscribed';
  }

  /** Removes a subscription, unless a later subscribe of the id was applied first; idempotent. */
  async unsubscribe(connectionId: string, id: string, receivedAt: number): Promise<UnsubscribeOutcome> {
    const result = await this.registry.unregister(connectionId, id, receivedAt);
    return result.status === 'superseded' ? 'superseded' : 'unsubscribed';
  }

  /**
   * Replays from `cursor` up to the head, then tries to go live; repeats while events keep
   * arriving. False when the connection went away.
   */
  private async catchUpAndGoLive(subscription: SubscriptionRef, cursor: number, knownHead: number, version: number): Promise<boolean> {
    // Set when the log is found behind the head, cleared on progress: only waiting counts.
    let deadline: number | undefined;
    let head = knownHead;
    for (;;) {
      if (cursor >= head) {
        const outcome = await this.registry.goLive(subscription, cursor, version);
        if (outcome !== 'behind') return true; // live, or unsubscribed meanwhile: either way done
        const next = await this.registry.head(subscription.topic);
        head = next?.seq ?? cursor;
        // The topic had no head when we registered and has one now: its numbers start above
        // its base, so nothing before the base was missed.
        if (next && cursor < next.base) cursor = next.base;
        continue;
      }
      if (head - cursor > this.config.maxReplay) {
        if (!(await this.reset(subscription, 'replay_window_exceeded'))) return false;
        cursor = head;
        continue;
      }
      const entries = await this.log.read(subscription.topic, cursor, head - cursor);
      const contiguous = takeContiguous(entries, cursor);
      if (contiguous.length === 0) {
        deadline ??= Date.now() + this.config.logWaitMs;
        if (entries.length > 0 || Date.now() > deadline) {
          // The next event expired from the log (a gap), or numbered events never reached it.
          const reason = entries.length > 0 ? 'replay_window_exceeded' : 'replay_unavailable';
          if (!(await this.reset(subscription, reason))) return false;
          cursor = head;
          deadline = undefined;
        } else {
          await this.sleep(20); // numbered, not appended yet: fan-out is mid-write
        }
        continue;
      }
      deadline = undefined;
      for (const entry of contiguous) {
        if (!(await this.send(subscription.connectionId, dataFrame(subscription.subId, entry)))) return false;
      }
      cursor = contiguous.at(-1)!.seq;
    }
  }

  private async reset(subscription: SubscriptionRef, reason: 'replay_window_exceeded' | 'replay_unavailable'): Promise<boolean> {
    return this.send(subscription.connectionId, { type: 'reset', id: subscription.subId, topic: subscription.topic, reason });
  }

  /** Sends a frame; on 410 forgets the connection and answers false. */
  private async send(connectionId: string, frame: Parameters<ConnectionPoster['post']>[1]): Promise<boolean> {
    if ((await this.poster.post(connectionId, frame)) === 'sent') return true;
    await this.registry.forget(connectionId);
    return false;
  }
}

/** The entries that follow `cursor` without a hole. */
function takeContiguous(entries: readonly LogEntry[], cursor: number): LogEntry[] {
  const out: LogEntry[] = [];
  for (const entry of entries) {
    if (entry.seq !== cursor + out.length + 1) break;
    out.push(entry);
  }
  return out;
}
