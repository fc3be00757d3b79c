/**
 * Pushing frames to connections: what fan-out and subscribe need, as an interface. The
 * `@connections` adapter is `ApiGatewayPoster` (apigw-poster.ts): a gone connection is an outcome,
 * throttling past its retry budget is `Throttled`.
 */
import type { ServerFrame } from './frames';

export type PostOutcome = 'sent' | 'gone';

export interface ConnectionPoster {
  /** Sends one frame (or an already serialised one) to a connection. */
  post(connectionId: string, frame: ServerFrame | string): Promise<PostOutcome>;
}

/** API Gateway kept throttling (or failing) a post past the retry budget. */
export class Throttled extends Error {
  constructor(
    readonly connectionId: string,
    cause: unknown,
  ) {
    super(`Posting to ${connectionId} was throttled past the retry budget`, { cause });
    this.name = 'Throttled';
  }
}

/**
 * Runs `work` over `items` with at most `limit` in flight: bounded concurrency instead of an
 * unbounded `Promise.all` over every connection. Rejects with the first error after the in-flight
 * work has settled.
 */
export async function forEachLimited<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    for (let next = iterator.next(); !next.done && !failure; next = iterator.next()) {
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const lanes = Number.isFinite(limit) ? Math.max(1, Math.floor(limit)) : 1;
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failure) throw failure.error;
}
