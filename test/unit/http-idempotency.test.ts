/**
 * The `Idempotency-Key` contract (lambdas/shared/http/idempotency.ts) on a route made up for the
 * test, with an in-memory store that keeps the conditions of the DynamoDB one: the key's format,
 * replay of what was kept, the two 409s, which answers are kept, scoping by caller, route and
 * request, the lock that a dead holder leaves, and the 24 hours. DynamoDB's own behaviour (the
 * conditional put under a race) is test/integration/http-idempotency.test.ts.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const { AppError, RateLimitedError } = await import('../../lambdas/shared/errors');
const { json } = await import('../../lambdas/shared/http/response');
const { httpRoute } = await import('../../lambdas/shared/http/route');
const { logger } = await import('../../lambdas/shared/observability');
const { IDEMPOTENCY_TTL_SECONDS, idempotencyId, requestHashOf, withIdempotency } = await import('../../lambdas/shared/http/idempotency');
type IdempotencyStore = import('../../lambdas/shared/http/idempotency').IdempotencyStore;
type IdempotencyClaim = import('../../lambdas/shared/http/idempotency').IdempotencyClaim;
type IdempotencyRecord = import('../../lambdas/shared/http/idempotency').IdempotencyRecord;
type HttpResponse = import('../../lambdas/shared/http/response').HttpResponse;

const context = { functionName: 'fn', awsRequestId: 'lambda-1' } as Context;

/** The DynamoDB store's conditions, over a Map. */
class MemoryStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord & { lockToken?: string }>();

  async claim(claim: IdempotencyClaim, now: Date): Promise<IdempotencyRecord | undefined> {
    const held = this.records.get(claim.id);
    const free =
      held === undefined ||
      held.expiresAt <= Math.floor(now.getTime() / 1000) ||
      (held.status === 'in_progress' && held.lockedUntil < now.getTime());
    if (!free) return held;
    const { id, ...fields } = claim;
    this.records.set(id, { status: 'in_progress', ...fields });
    return undefined;
  }

  async complete(id: string, lockToken: string, response: HttpResponse): Promise<boolean> {
    const held = this.records.get(id);
    if (held?.lockToken !== lockToken) return false;
    this.records.set(id, { status: 'completed', requestHash: held.requestHash, expiresAt: held.expiresAt, response });
    return true;
  }

  async release(id: string, lockToken: string): Promise<void> {
    if (this.records.get(id)?.lockToken === lockToken) this.records.delete(id);
  }
}

const T0 = new Date('2026-11-21T10:00:00.000Z');

/** A store, a clock the test moves, and a route whose work the test scripts. */
function setup(work: (n: number) => Promise<HttpResponse> = async (n) => json(201, { n }, { location: `/things/${n}` })) {
  const store = new MemoryStore();
  let now = T0.getTime();
  let runs = 0;
  const idempotent = withIdempotency({ store, clock: () => new Date(now) });
  const handler = httpRoute({
    caller: 'authorized',
    path: z.object({ id: z.string() }).partial(),
    body: z.object({ amount: z.number() }),
    failureLog: 'Thing failed',
    handle: (request) => idempotent(request, () => work(++runs)),
  });
  return {
    store,
    runs: () => runs,
    advance: (seconds: number) => (now += seconds * 1000),
    call: (options: RequestOptions = {}) => handler(event(options), context),
  };
}

interface RequestOptions {
  key?: string;
  body?: string;
  userId?: string;
  routeKey?: string;
  pathParameters?: Record<string, string>;
}

function event({ key = 'key-1', body = '{"amount":5}', userId = 'u-1', routeKey = 'POST /things', pathParameters }: RequestOptions) {
  return {
    routeKey,
    body,
    headers: key === 'none' ? {} : { 'idempotency-key': key },
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: { requestId: 'api-req-1', authorizer: { lambda: { userId, role: 'user' } } },
  };
}

const errorOf = (response: { body: string }) => (JSON.parse(response.body) as { error: { code: string; details: unknown[] } }).error;

afterEach(() => vi.restoreAllMocks());

describe('withIdempotency', () => {
  it('runs every request without the header, keeping nothing', async () => {
    const route = setup();
    await route.call({ key: 'none' });
    await route.call({ key: 'none' });
    expect(route.runs()).toBe(2);
    expect(route.store.records.size).toBe(0);
  });

  it('refuses a key that is empty, longer than 255 or not printable ASCII with a 400 naming the header', async () => {
    const route = setup();
    for (const key of ['', 'k'.repeat(256), 'clé', 'a\tb', 'a\nb']) {
      const response = await route.call({ key });
      expect(response.statusCode).toBe(400);
      expect(errorOf(response)).toMatchObject({
        code: 'bad_request',
        details: [{ field: 'Idempotency-Key', message: expect.any(String) }],
      });
    }
    expect(route.runs()).toBe(0);
    expect((await route.call({ key: `${'k'.repeat(254)}~` })).statusCode).toBe(201);
    expect((await route.call({ key: ' !"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~' })).statusCode).toBe(201);
  });

  it('answers the same key and body with the first response again, without running the work', async () => {
    const route = setup();
    const first = await route.call();
    const again = await route.call();
    expect(route.runs()).toBe(1);
    expect(again).toEqual({ ...first, headers: { ...first.headers, 'idempotent-replayed': 'true' } });
    expect(again.headers.location).toBe('/things/1');
  });

  it('refuses the same key with another body, or other path parameters, with 409 idempotency_key_reused', async () => {
    const route = setup();
    await route.call({ pathParameters: { id: 'a' } });
    for (const other of [{ body: '{"amount":6}', pathParameters: { id: 'a' } }, { pathParameters: { id: 'b' } }]) {
      const response = await route.call(other);
      expect([response.statusCode, errorOf(response).code]).toEqual([409, 'idempotency_key_reused']);
    }
    expect(route.runs()).toBe(1);
  });

  it('answers 409 request_in_progress while the first request runs, then the replay', async () => {
    let finish!: () => void;
    const route = setup(async (n) => {
      await new Promise<void>((resolve) => (finish = resolve));
      return json(201, { n });
    });
    const first = route.call();
    await vi.waitFor(() => expect(route.runs()).toBe(1));
    const meanwhile = await route.call();
    expect([meanwhile.statusCode, errorOf(meanwhile).code]).toEqual([409, 'request_in_progress']);
    // Another body is a reuse even while the first runs: that is the client's bug either way.
    expect(errorOf(await route.call({ body: '{"amount":7}' })).code).toBe('idempotency_key_reused');
    finish();
    expect((await first).statusCode).toBe(201);
    expect((await route.call()).headers['idempotent-replayed']).toBe('true');
    expect(route.runs()).toBe(1);
  });

  it('keeps a refusal the work threw and answers it again, but not a 429', async () => {
    const declined = setup(async () => {
      throw new AppError('card_declined', 'The card was declined');
    });
    expect((await declined.call()).statusCode).toBe(402);
    const again = await declined.call();
    expect([again.statusCode, errorOf(again).code, again.headers['idempotent-replayed']]).toEqual([402, 'card_declined', 'true']);
    expect(declined.runs()).toBe(1);

    const limited = setup(async () => {
      throw new RateLimitedError('Slow down', 1);
    });
    await limited.call();
    await limited.call();
    expect(limited.runs()).toBe(2);
    expect(limited.store.records.size).toBe(0);
  });

  it('keeps nothing for a refusal that says "not now" (409 request_in_progress from the work), so the same key runs again', async () => {
    // Another request of the user (under another key, or none) holds what this one needs.
    const busy = setup(async (n) => {
      if (n === 1) throw new AppError('request_in_progress', 'A subscribe for this account is being processed');
      return json(201, { n });
    });
    const first = await busy.call();
    expect([first.statusCode, errorOf(first).code]).toEqual([409, 'request_in_progress']);
    expect(busy.store.records.size).toBe(0);
    const again = await busy.call();
    expect([again.statusCode, again.headers['idempotent-replayed']]).toEqual([201, undefined]);
    expect(busy.runs()).toBe(2);
  });

  it('keeps nothing for a 5xx or an unexpected error, so the same key runs again', async () => {
    const unavailable = setup(async (n) => (n === 1 ? json(503, {}) : json(201, { n })));
    expect((await unavailable.call()).statusCode).toBe(503);
    expect((await unavailable.call()).statusCode).toBe(201);
    expect(unavailable.runs()).toBe(2);

    const failing = setup(async (n) => {
      if (n === 1) throw new Error('table on fire');
      return json(201, { n });
    });
    expect((await failing.call()).statusCode).toBe(500);
    expect(failing.store.records.size).toBe(0);
    expect((await failing.call()).statusCode).toBe(201);
  });

  it('scopes a key to the caller and to the route', async () => {
    const route = setup();
    await route.call();
    await route.call({ userId: 'u-2' });
    await route.call({ routeKey: 'POST /other' });
    expect(route.runs()).toBe(3);
    expect(idempotencyId('u-1', 'POST /things', 'k')).not.toBe(idempotencyId('u-2', 'POST /things', 'k'));
    // The parts are delimited: moving characters from one part to the next is another id.
    expect(idempotencyId('u-1', 'POST /things', 'k')).not.toBe(idempotencyId('u-1', 'POST /thing', 'sk'));
  });

  it('lets another request take over a claim whose holder died, once its lock has run out', async () => {
    const route = setup();
    const id = idempotencyId('u-1', 'POST /things', 'key-1');
    const body = '{"amount":5}';
    route.store.records.set(id, {
      status: 'in_progress',
      requestHash: requestHashOf({ body }),
      lockToken: 'dead',
      lockedUntil: T0.getTime() + 60_000,
      expiresAt: T0.getTime() / 1000 + IDEMPOTENCY_TTL_SECONDS,
    });
    route.advance(59);
    expect(errorOf(await route.call({ body })).code).toBe('request_in_progress');
    route.advance(2);
    expect((await route.call({ body })).statusCode).toBe(201);
    expect(route.runs()).toBe(1);
    // The dead holder, were it to wake up, can no longer settle the key.
    expect(await route.store.complete(id, 'dead', json(200, {}))).toBe(false);
  });

  it('frees the key 24 hours after the first request', async () => {
    const route = setup();
    await route.call();
    route.advance(IDEMPOTENCY_TTL_SECONDS - 1);
    expect((await route.call()).headers['idempotent-replayed']).toBe('true');
    route.advance(1);
    const fresh = await route.call({ body: '{"amount":99}' });
    expect([fresh.statusCode, fresh.headers['idempotent-replayed']]).toEqual([201, undefined]);
    expect(route.runs()).toBe(2);
  });

  it('answers what the work answered even when the store cannot keep it', async () => {
    const logged = vi.spyOn(logger, 'error');
    const route = setup();
    route.store.complete = async () => {
      throw new Error('throttled');
    };
    const response = await route.call();
    expect(response.statusCode).toBe(201);
    expect(logged).toHaveBeenCalledWith('Idempotency record not settled', expect.objectContaining({ id: expect.any(String) }));
  });

  it('hashes the body by its bytes, whatever its encoding', () => {
    const body = '{"amount":5}';
    expect(requestHashOf({ body })).toBe(requestHashOf({ body: Buffer.from(body).toString('base64'), isBase64Encoded: true }));
    expect(requestHashOf({ body })).not.toBe(requestHashOf({ body: '{"amount": 5}' }));
    expect(requestHashOf({})).toBe(requestHashOf({ body: '' }));
  });
});
