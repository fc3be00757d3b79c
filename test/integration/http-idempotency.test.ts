/**
 * The `Idempotency-Key` contract (lambdas/shared/http/idempotency.ts) with its DynamoDB store
 * (dynamo-idempotency.ts) against DynamoDB Local, through a route made up for the test: 50
 * requests racing on one key run the work once, another body is refused, a 500 keeps nothing, a
 * dead holder's claim is taken over, keys are per user, and the key is free again after 24 hours
 * (TTL is lazy, so the condition must see expiry itself). One fresh table per test.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const { json } = await import('../../lambdas/shared/http/response');
const { httpRoute } = await import('../../lambdas/shared/http/route');
const { IDEMPOTENCY_TTL_SECONDS, idempotencyId, requestHashOf, withIdempotency } = await import('../../lambdas/shared/http/idempotency');
const { DynamoIdempotencyStore, idempotencyKey } = await import('../../lambdas/shared/http/dynamo-idempotency');
type HttpResponse = import('../../lambdas/shared/http/response').HttpResponse;

let local: LocalDynamo;
let table: string;

useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
});

const context = { functionName: 'fn', awsRequestId: 'lambda-1' } as Context;
const T0 = new Date('2026-11-21T10:00:00.000Z');

/** A route over the test's table whose work the test scripts, and a clock the test moves. */
function setup(work: (n: number) => Promise<HttpResponse> = async (n) => json(201, { payment: `p-${n}` })) {
  let now = T0.getTime();
  let runs = 0;
  const idempotent = withIdempotency({ store: new DynamoIdempotencyStore(local.db, table), clock: () => new Date(now) });
  const handler = httpRoute({
    caller: 'authorized',
    body: z.object({ amount: z.number() }),
    failureLog: 'Payment failed',
    handle: (request) => idempotent(request, () => work(++runs)),
  });
  return {
    runs: () => runs,
    advance: (seconds: number) => (now += seconds * 1000),
    call: ({ key = 'key-1', body = '{"amount":999}', userId = 'u-1' } = {}) => {
      const event = {
        routeKey: 'POST /api/v1/payments/process',
        body,
        headers: { 'idempotency-key': key },
        requestContext: { requestId: 'api-req-1', authorizer: { lambda: { userId, role: 'user' } } },
      };
      return handler(event, context);
    },
  };
}

const codeOf = (response: HttpResponse) => (JSON.parse(response.body) as { error?: { code: string } }).error?.code;

async function recordOf(userId: string, key: string) {
  const out = await local.db.send(
    new GetCommand({
      TableName: table,
      Key: idempotencyKey(idempotencyId(userId, 'POST /api/v1/payments/process', key)),
      ConsistentRead: true,
    }),
  );
  return out.Item;
}

describe('Idempotency-Key on DynamoDB', () => {
  it('runs the work once for 50 parallel requests with one key; the others replay or are told it is in progress', async () => {
    const route = setup(async (n) => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return json(201, { payment: `p-${n}` });
    });
    const responses = await Promise.all(Array.from({ length: 50 }, () => route.call()));
    expect(route.runs()).toBe(1);
    const outcomes = responses.map((r) => (r.statusCode === 201 ? r.body : `${r.statusCode} ${codeOf(r)}`));
    for (const outcome of outcomes) expect(['{"payment":"p-1"}', '409 request_in_progress']).toContain(outcome);
    expect(responses.filter((r) => r.statusCode === 201 && r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);

    const after = await route.call();
    expect([after.statusCode, after.body, after.headers['idempotent-replayed']]).toEqual([201, '{"payment":"p-1"}', 'true']);
    expect(route.runs()).toBe(1);
    expect(await recordOf('u-1', 'key-1')).toEqual({
      ...idempotencyKey(idempotencyId('u-1', 'POST /api/v1/payments/process', 'key-1')),
      entity: 'IdempotencyRecord',
      status: 'completed',
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      response: {
        statusCode: 201,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: '{"payment":"p-1"}',
      },
      expiresAt: T0.getTime() / 1000 + IDEMPOTENCY_TTL_SECONDS,
    });
  });

  it('refuses the same key with another body with 409 idempotency_key_reused', async () => {
    const route = setup();
    await route.call();
    const other = await route.call({ body: '{"amount":1000}' });
    expect([other.statusCode, codeOf(other)]).toEqual([409, 'idempotency_key_reused']);
    expect(route.runs()).toBe(1);
  });

  it('frees the key 24 hours after the first request, though TTL has not removed the record', async () => {
    const route = setup();
    await route.call();
    route.advance(IDEMPOTENCY_TTL_SECONDS - 1);
    expect((await route.call()).headers['idempotent-replayed']).toBe('true');
    route.advance(1);
    const fresh = await route.call({ body: '{"amount":5}' });
    expect([fresh.statusCode, fresh.body, fresh.headers['idempotent-replayed']]).toEqual([201, '{"payment":"p-2"}', undefined]);
    expect(route.runs()).toBe(2);
  });

  it('keeps nothing for a 500, so a retry with the same key runs', async () => {
    const route = setup(async (n) => {
      if (n === 1) throw new Error('provider timed out');
      return json(201, { payment: `p-${n}` });
    });
    expect((await route.call()).statusCode).toBe(500);
    expect(await recordOf('u-1', 'key-1')).toBeUndefined();
    const retry = await route.call();
    expect([retry.statusCode, retry.body]).toEqual([201, '{"payment":"p-2"}']);
  });

  it('lets a request take over the claim of a holder that died once its lock ran out, and not before', async () => {
    const route = setup();
    const store = new DynamoIdempotencyStore(local.db, table);
    // A claim left in progress by a holder that never came back (a crash, a timeout).
    const orphan = {
      id: idempotencyId('u-1', 'POST /api/v1/payments/process', 'key-1'),
      requestHash: requestHashOf({ body: '{"amount":999}' }),
      lockToken: 'dead',
      lockedUntil: T0.getTime() + 60_000,
      expiresAt: T0.getTime() / 1000 + IDEMPOTENCY_TTL_SECONDS,
    };
    expect(await store.claim(orphan, T0)).toBeUndefined();
    route.advance(59);
    expect(codeOf(await route.call())).toBe('request_in_progress');
    route.advance(2);
    expect((await route.call()).statusCode).toBe(201);
    expect(route.runs()).toBe(1);
    // The holder, were it to wake up, can neither overwrite nor free the key.
    expect(await store.complete(orphan.id, 'dead', json(200, {}))).toBe(false);
    await store.release(orphan.id, 'dead');
    expect(await recordOf('u-1', 'key-1')).toMatchObject({ status: 'completed', response: { body: '{"payment":"p-1"}' } });
  });

  it('runs another user with the same key independently', async () => {
    const route = setup();
    const [first, second] = await Promise.all([route.call({ userId: 'u-1' }), route.call({ userId: 'u-2' })]);
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    expect(new Set([first.body, second.body])).toEqual(new Set(['{"payment":"p-1"}', '{"payment":"p-2"}']));
    expect(route.runs()).toBe(2);
  });
});
