/**
 * Per-connection and per-user limits of the WebSocket (docs/protocol.md, "Limits"): the logic,
 * without DynamoDB (the adapters are in dynamo-limits.ts, the `@connections` close in
 * apigw-frame-limit.ts).
 *
 * - **Frames per connection**: a fixed window counter per connection. Up to `frames` frames in a
 *   window are handled; past that each frame is answered `rate_limited` and not handled; past
 *   `closeAfter` (abuse: by default twice the limit in one window) the connection is closed.
 *   API Gateway's own throttle is stage-wide, so without this one client could spend everyone's
 *   budget, and every frame costs an invocation whether or not it is handled.
 * - **Open connections per user**: `cap` numbered slots per user, each claimed by one connection
 *   at `$connect` with a conditional write and released at `$disconnect`; a slot also frees itself
 *   when its connection has certainly ended (API Gateway closes every connection after 2 hours),
 *   so a `$disconnect` API Gateway never sends cannot leak one.
 * - **Tickets per user per minute**: a fixed window counter per user, refused at the cap.
 *
 * Every counter is one atomic DynamoDB write, so parallel invocations never count past a cap.
 * Windows are aligned on the epoch (`fixedWindow`), so every invocation agrees on the window a
 * moment falls in without sharing anything but the counter.
 */
import { RateLimitedError } from '../errors';

/** The frame limit of one connection. */
export interface FrameRateLimit {
  /** Frames handled per window; the next ones are answered `rate_limited`. */
  readonly frames: number;
  /** Length of the fixed window, in seconds. */
  readonly windowSeconds: number;
  /** Frames in one window past which the connection is closed (abuse); at least `frames`. */
  readonly closeAfter: number;
}

/**
 * 240 frames a minute: a client that subscribes to 100 topics at connect (the most a connection
 * may hold) has room for 140 more frames that minute (unsubscribes, resubscribes, pings); a
 * sustained 4 frames a second is far beyond what subscribe/unsubscribe/ping need. Closed at twice
 * that: no client that reads its `rate_limited` errors gets there.
 */
export const DEFAULT_FRAME_RATE_LIMIT: FrameRateLimit = { frames: 240, windowSeconds: 60, closeAfter: 480 };

/**
 * 20 open connections per user: a tab each in many tabs on a few devices, plus connections a
 * device left behind when its network changed (they hold a slot until API Gateway notices).
 */
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 20;

/** 60 tickets a minute per user: every connection of a full user reconnecting at once, three times over. */
export const DEFAULT_TICKETS_PER_MINUTE = 60;

export const TICKET_WINDOW_SECONDS = 60;

/** Environment variables the limits are configured with (set by lib/constructs). */
export const LIMIT_ENV = {
  frames: 'FRAME_RATE_LIMIT',
  windowSeconds: 'FRAME_RATE_WINDOW_SECONDS',
  closeAfter: 'FRAME_RATE_CLOSE_AFTER',
  connectionsPerUser: 'MAX_CONNECTIONS_PER_USER',
  ticketsPerMinute: 'TICKETS_PER_USER_PER_MINUTE',
} as const;

/** Throws when a limit makes no sense: say which. */
export function validateFrameRateLimit(limit: FrameRateLimit): FrameRateLimit {
  const { frames, windowSeconds, closeAfter } = limit;
  if (!Number.isInteger(frames) || frames < 1) throw new RangeError(`frames must be a positive integer, got ${frames}`);
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 3600) {
    throw new RangeError(`windowSeconds must be an integer from 1 to 3600, got ${windowSeconds}`);
  }
  if (!Number.isInteger(closeAfter) || closeAfter < frames) {
    throw new RangeError(`closeAfter must be an integer of at least frames (${frames}), got ${closeAfter}`);
  }
  return limit;
}

/** A positive integer from the environment; `fallback` when unset; throws naming the variable when malformed. */
export function positiveIntegerEnv(name: string, env: NodeJS.ProcessEnv, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new RangeError(`Missing required environment variable ${name}`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * The frame limit the environment configures, or `undefined` when `FRAME_RATE_LIMIT` is unset
 * (no limit: a function built outside `RealtimeGateway`, or a unit test; the construct sets it on
 * every frame route, test/constructs/realtime-gateway.test.ts checks that).
 */
export function frameRateLimitFromEnv(env: NodeJS.ProcessEnv): FrameRateLimit | undefined {
  if (env[LIMIT_ENV.frames] === undefined || env[LIMIT_ENV.frames] === '') return undefined;
  const frames = positiveIntegerEnv(LIMIT_ENV.frames, env);
  const windowSeconds = positiveIntegerEnv(LIMIT_ENV.windowSeconds, env, DEFAULT_FRAME_RATE_LIMIT.windowSeconds);
  const closeAfter = positiveIntegerEnv(LIMIT_ENV.closeAfter, env, 2 * frames);
  return validateFrameRateLimit({ frames, windowSeconds, closeAfter });
}

/** A fixed window in epoch seconds: `[start, end)`. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** The window of `windowSeconds` that the moment `atMs` (epoch ms) falls in, aligned on the epoch. */
export function fixedWindow(atMs: number, windowSeconds: number): Window {
  const start = Math.floor(atMs / 1000 / windowSeconds) * windowSeconds;
  return { start, end: start + windowSeconds };
}

/** Whole seconds from `atMs` to the end of `window`, at least 1. */
export function secondsUntilEnd(window: Window, atMs: number): number {
  return Math.max(1, Math.ceil(window.end - atMs / 1000));
}

export type FrameVerdict = 'handle' | 'rate_limited' | 'close';

/** What to do with the `count`-th frame of a connection's window. */
export function frameVerdict(count: number, limit: FrameRateLimit): FrameVerdict {
  if (count <= limit.frames) return 'handle';
  return count <= limit.closeAfter ? 'rate_limited' : 'close';
}

/** Counts a connection's frames per window, atomically across invocations. */
export interface FrameCounter {
  /** Adds one frame to `connectionId`'s count in `window`; answers the count with it. */
  add(connectionId: string, window: Window): Promise<number>;
}

/** Closes a connection from the server side (`@connections` DELETE); a gone connection is no error. */
export interface ConnectionCloser {
  close(connectionId: string): Promise<void>;
}

/** A frame refused by the per-connection limit (`rate_limited`; the frame was not handled). */
export class FrameRateLimited extends RateLimitedError {
  constructor(limit: FrameRateLimit, retryAfterSeconds: number) {
    super(
      `Over ${limit.frames} frames in ${limit.windowSeconds} s on this connection: frame not handled; ` +
        `retry in ${retryAfterSeconds} s (past ${limit.closeAfter} the connection is closed)`,
      retryAfterSeconds,
    );
  }
}

export interface FrameAdmission {
  readonly verdict: FrameVerdict;
  /** The frame's number in its window. */
  readonly count: number;
  /** Seconds until the window ends. */
  readonly retryAfterSeconds: number;
}

/** The per-connection frame limit: counts each frame, and closes the connection on abuse. */
export class FrameLimiter {
  constructor(
    readonly limit: FrameRateLimit,
    private readonly counter: FrameCounter,
    private readonly closer: ConnectionCloser,
  ) {
    validateFrameRateLimit(limit);
  }

  /**
   * Counts a frame API Gateway received at `receivedAt` (epoch ms) and says what to do with it.
   * On `close` the connection has been closed already. Every frame past `closeAfter` closes it
   * again: frames already on their way arrive anyway, and a close that failed gets another try.
   */
  async admit(connectionId: string, receivedAt: number): Promise<FrameAdmission> {
    const window = fixedWindow(receivedAt, this.limit.windowSeconds);
    const count = await this.counter.add(connectionId, window);
    const verdict = frameVerdict(count, this.limit);
    if (verdict === 'close') await this.closer.close(connectionId);
    return { verdict, count, retryAfterSeconds: secondsUntilEnd(window, receivedAt) };
  }
}

/** A user's connection slots: at most `cap` connections hold one at a time. */
export interface ConnectionSlots {
  readonly cap: number;
  /** Claims a free slot for `connectionId`; the slot's number, or undefined when all are held. */
  claim(userId: string, connectionId: string): Promise<number | undefined>;
  /** Frees the slot `connectionId` holds, if any. */
  release(userId: string, connectionId: string): Promise<void>;
}

/** A held slot as stored: its number and when it frees itself (epoch s). */
export interface HeldSlot {
  readonly slot: number;
  readonly expiresAt: number;
}

/**
 * The slots worth trying, in order: those not held at `nowSeconds` (never claimed, released, or
 * expired), starting from `offset` and wrapping around, so concurrent connects of one user start
 * at different slots instead of all racing for slot 0.
 */
export function freeSlots(cap: number, held: readonly HeldSlot[], nowSeconds: number, offset: number): number[] {
  const busy = new Set(held.filter((h) => h.expiresAt > nowSeconds).map((h) => h.slot));
  const start = ((Math.floor(offset) % cap) + cap) % cap;
  const order: number[] = [];
  for (let i = 0; i < cap; i++) {
    const slot = (start + i) % cap;
    if (!busy.has(slot)) order.push(slot);
  }
  return order;
}

/** `$connect` refused: the user holds as many connections as allowed. */
export class TooManyConnections extends RateLimitedError {
  constructor(cap: number) {
    // No window to wait for: a slot frees when one of the user's connections closes.
    super(`A user may hold at most ${cap} open connections; close one first`, 60);
  }
}

/** A user's ticket budget per minute. */
export interface TicketQuota {
  readonly perMinute: number;
  /** Takes one ticket of `userId`'s budget in the minute of `atMs`; throws `TooManyTickets` past it. */
  take(userId: string, atMs: number): Promise<void>;
}

/** `POST /realtime/ticket` refused: the user's tickets for this minute are used up. */
export class TooManyTickets extends RateLimitedError {
  constructor(perMinute: number, retryAfterSeconds: number) {
    super(`At most ${perMinute} tickets a minute per user; retry in ${retryAfterSeconds} s`, retryAfterSeconds);
  }
}
