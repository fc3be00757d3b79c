/**
 * The `Idempotency-Key` contract of the writes that move money or reserve slots (DESIGN.md
 * section 4), around the work of a route's `handle`:
 *
 *   const idempotent = withIdempotency({ store: new DynamoIdempotencyStore(db, TABLE_NAME) });
 *   export const handler = httpRoute({
 *     caller: 'authorized',
 *     body: paymentSchema,
 *     failureLog: 'Payment failed',
 *     handle: (request) =>
 *       idempotent(request, async () => json(201, await payments.process(request.principal.userId, request.body))),
 *   });
 *
 * (A call inside `handle` rather than a wrapper of it, so that `request` keeps the types the
 * route's schemas give it, and so that a public route, which has no caller to scope keys to, does
 * not type-check.)
 *
 * Without the header a request simply runs. With it (1-255 printable ASCII characters, else a 400
 * naming `Idempotency-Key`), the key is claimed for the caller and the route, so one user's key
 * never meets another's and one route's never another route's. The first request runs; its
 * response is kept 24 hours and answered again (status, headers, body, plus
 * `idempotent-replayed: true`) to the same key with the same request, without running the handler;
 * the same key with another request is a 409 `idempotency_key_reused`; while the first still runs
 * it is a 409 `request_in_progress`. "The same request" is the same body bytes and path parameters.
 *
 * Which answers are kept: those the client should get again, every status below 500 including a
 * refusal the handler threw (a declined card stays declined for that key) but those that say
 * "later", not "no": a 429, and a 409 `request_in_progress` the work threw because another request
 * of the caller holds what it needs (its message says "try again in a moment", which a kept answer
 * would make a lie for 24 hours; Stripe keeps no result for a request that conflicted with a
 * concurrent one either). A 5xx or an unexpected error keeps nothing, so the client may retry with
 * the same key. The schemas of the route run before this: an invalid body is a 400 that claims nothing.
 *
 * An in-progress claim holds the key for `lockSeconds`; after that another request with the key
 * may take it over (its holder died: a crash, a timeout). The holder's later writes are
 * conditional on its own lock token, so a holder that was taken over cannot overwrite the new one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { AppError, type AppErrorCode, BadRequestError } from '../errors';
import type { Principal } from '../identity/tokens';
import { logger } from '../observability';
import { toErrorResponse, type HttpResponse } from './response';
import type { HttpEvent } from './route';

/** Payload 2.0 lower-cases header names. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/**
 * Longer than any HTTP route can run (API Gateway gives up after 30 s, `AppFunction` defaults to a
 * 10 s timeout), so a live holder is never taken over.
 */
export const DEFAULT_LOCK_SECONDS = 60;

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

/** Refusals that say "not now" rather than "no": the same request may succeed in a moment. */
const NOT_NOW_CODES: ReadonlySet<AppErrorCode> = new Set<AppErrorCode>(['request_in_progress', 'rate_limited']);

export const storedResponseSchema = z.object({
  statusCode: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
});

/** What holds a key: a request still running, or the response of one that finished. */
export type IdempotencyRecord =
  | { readonly status: 'in_progress'; readonly requestHash: string; readonly lockedUntil: number; readonly expiresAt: number }
  | { readonly status: 'completed'; readonly requestHash: string; readonly response: HttpResponse; readonly expiresAt: number };

export interface IdempotencyClaim {
  /** `idempotencyId` of the caller, route and key. */
  readonly id: string;
  readonly requestHash: string;
  /** Unique to this request: only it may complete or release the claim. */
  readonly lockToken: string;
  /** Epoch milliseconds. */
  readonly lockedUntil: number;
  /** Epoch seconds: the TTL of the record. */
  readonly expiresAt: number;
}

export interface IdempotencyStore {
  /**
   * Writes `claim` as the in-progress record of its id unless a live record holds the id: one that
   * has not expired at `now` and is completed or still locked. Undefined when the claim was
   * written; otherwise the record that holds the id, as it was when the claim was refused.
   */
  claim(claim: IdempotencyClaim, now: Date): Promise<IdempotencyRecord | undefined>;
  /** Makes a claim the completed record with `response`; false when `lockToken` no longer holds it. */
  complete(id: string, lockToken: string, response: HttpResponse): Promise<boolean>;
  /** Deletes a claim, if `lockToken` still holds it, so that the key may be used again. */
  release(id: string, lockToken: string): Promise<void>;
}

/** The same key with another request. → 409 */
export class IdempotencyKeyReused extends AppError {
  constructor() {
    super('idempotency_key_reused', 'This Idempotency-Key was used with another request; use a new key for a new request');
  }
}

/** The first request with the key has not finished. → 409 */
export class RequestInProgress extends AppError {
  constructor() {
    super('request_in_progress', 'A request with this Idempotency-Key is still in progress; try again in a moment');
  }
}

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** @default systemClock (in the local cloud, its virtual clock) */
  readonly clock?: Clock;
  /** How long a claim holds the key before another request may take it over. @default DEFAULT_LOCK_SECONDS */
  readonly lockSeconds?: number;
}

/** What `idempotent` reads of a route's request (`HttpRequest`): the event and an authorized caller. */
export interface IdempotentRequest {
  readonly event: HttpEvent;
  readonly principal: Principal;
}

/** Runs `work` for `request` under the request's `Idempotency-Key`, or answers for it. */
export type Idempotent = (request: IdempotentRequest, work: () => Promise<HttpResponse>) => Promise<HttpResponse>;

export function withIdempotency(options: IdempotencyOptions): Idempotent {
  const { store, clock = systemClock, lockSeconds = DEFAULT_LOCK_SECONDS } = options;
  return async (request, work) => {
    const key = idempotencyKeyOf(request.event);
    if (key === undefined) return work();

    const now = clock();
    const id = idempotencyId(request.principal.userId, request.event.routeKey ?? '', key);
    const requestHash = requestHashOf(request.event);
    const lockToken = randomUUID();
    const held = await store.claim(
      {
        id,
        requestHash,
        lockToken,
        lockedUntil: now.getTime() + lockSeconds * 1000,
        expiresAt: epochSeconds(now) + IDEMPOTENCY_TTL_SECONDS,
      },
      now,
    );
    if (held) return answerHeld(held, requestHash);

    let response: HttpResponse;
    try {
      response = await work();
    } catch (error) {
      // A refusal the handler threw is an answer like any other (route.ts maps it the same way),
      // unless it says "not now".
      const refusal = error instanceof AppError && !NOT_NOW_CODES.has(error.code) ? toErrorResponse(error) : undefined;
      await settle(store, id, lockToken, refusal);
      throw error;
    }
    await settle(store, id, lockToken, response);
    return response;
  };
}

/** The header's value; undefined when absent. */
export function idempotencyKeyOf(event: HttpEvent): string | undefined {
  const key = event.headers?.[IDEMPOTENCY_HEADER];
  if (key === undefined) return undefined;
  if (!KEY_PATTERN.test(key)) {
    throw new BadRequestError('Invalid Idempotency-Key: expected 1 to 255 printable ASCII characters', [
      { field: 'Idempotency-Key', message: 'Expected 1 to 255 printable ASCII characters' },
    ]);
  }
  return key;
}

/** Where a key lives: the caller, the route and the key, hashed (JSON, so no two triples meet). */
export function idempotencyId(userId: string, routeKey: string, key: string): string {
  return sha256(JSON.stringify([userId, routeKey, key]));
}

/** The body as sent (bytes, whatever its encoding) and the path parameters, in one hash. */
export function requestHashOf(event: HttpEvent): string {
  const body = event.body === undefined ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const path = Object.entries(event.pathParameters ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // JSON has no raw newline, so the separator cannot be faked by a parameter.
  return createHash('sha256').update(JSON.stringify(path)).update('\n').update(body).digest('hex');
}

/** Which answers the client should get again for the key (see the module header). */
export function isReplayable(response: HttpResponse): boolean {
  return response.statusCode < 500 && response.statusCode !== 429;
}

function answerHeld(held: IdempotencyRecord, requestHash: string): HttpResponse {
  // Another request under the same key is a client bug whether or not the first has finished.
  if (held.requestHash !== requestHash) throw new IdempotencyKeyReused();
  if (held.status === 'in_progress') throw new RequestInProgress();
  return { ...held.response, headers: { ...held.response.headers, [REPLAYED_HEADER]: 'true' } };
}

/**
 * Keeps the answer or frees the key. Neither may change what the client gets now: the handler has
 * done its work, and a 500 here would invite a retry that does it again. A claim that could not
 * be completed frees itself when its lock runs out.
 */
async function settle(store: IdempotencyStore, id: string, lockToken: string, response: HttpResponse | undefined): Promise<void> {
  try {
    if (response !== undefined && isReplayable(response)) {
      if (!(await store.complete(id, lockToken, response))) logger.warn('Idempotency claim was taken over before it completed', { id });
    } else {
      await store.release(id, lockToken);
    }
  } catch (error) {
    logger.error('Idempotency record not settled', { id, error: error as Error });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
