/**
 * The HTTP house wrapper (lambdas/shared/http/route.ts) on routes made up for the test: the order
 * of its checks (caller, path, query, body), the mapping of what `handle` throws to a response, which
 * failures it logs and counts, the route table of `httpRoutes`, and the correlation id.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const { AppError, RateLimitedError } = await import('../../lambdas/shared/errors');
const { json } = await import('../../lambdas/shared/http/response');
const { httpRoute, httpRoutes, route } = await import('../../lambdas/shared/http/route');
const { logger, metrics } = await import('../../lambdas/shared/observability');
const { topicSchema } = await import('../../lambdas/shared/realtime/topics');

const context = { functionName: 'fn', awsRequestId: 'lambda-1' } as Context;

const ADMIN = { userId: 'u-admin', role: 'admin' } as const;
const USER = { userId: 'u-1', role: 'user' } as const;

function event(options: { caller?: { userId: string; role: string }; topic?: string; body?: unknown; routeKey?: string } = {}) {
  return {
    routeKey: options.routeKey ?? 'POST /things/{topic}',
    ...(options.topic === undefined ? {} : { pathParameters: { topic: options.topic } }),
    ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    requestContext: { requestId: 'api-req-1', ...(options.caller ? { authorizer: { lambda: options.caller } } : {}) },
  };
}

const bodyOf = (response: { body: string }) =>
  JSON.parse(response.body) as { error: { code: string; message: string; details: unknown[] } };

afterEach(() => vi.restoreAllMocks());

describe('httpRoute', () => {
  const publish = httpRoute({
    caller: { role: 'admin', refusal: 'Only admins here' },
    path: z.object({ topic: topicSchema }),
    body: z.strictObject({ n: z.number() }),
    failureLog: 'Thing failed',
    handle: async ({ principal, path, body }) => json(202, { by: principal.userId, topic: path.topic, n: body.n }),
  });

  it('hands the handler the caller, the path and the body, parsed', async () => {
    const response = await publish(event({ caller: ADMIN, topic: 'feed:a', body: { n: 1 } }), context);
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toEqual({ by: 'u-admin', topic: 'feed:a', n: 1 });
  });

  it('checks the caller first, then the path, then the body', async () => {
    const everythingWrong = { topic: 'bad topic', body: '{"n":' };
    const anonymous = await publish(event(everythingWrong), context);
    expect([anonymous.statusCode, bodyOf(anonymous).error.code]).toEqual([401, 'unauthorized']);
    const notAdmin = await publish(event({ ...everythingWrong, caller: USER }), context);
    expect([notAdmin.statusCode, bodyOf(notAdmin).error]).toEqual([403, { code: 'forbidden', message: 'Only admins here', details: [] }]);
    const badPath = await publish(event({ ...everythingWrong, caller: ADMIN }), context);
    expect(badPath.statusCode).toBe(400);
    expect(bodyOf(badPath).error.message).toMatch(/^Invalid topic: expected one of user:\{id\}/);
    expect(bodyOf(badPath).error.details).toEqual([{ field: 'topic', message: expect.stringMatching(/^expected one of/) }]);
    const badBody = await publish(event({ caller: ADMIN, topic: 'feed:a', body: { n: 'one', extra: true } }), context);
    expect(badBody.statusCode).toBe(400);
    expect(bodyOf(badBody).error.details).toEqual([
      { field: 'n', message: expect.any(String) },
      { field: 'extra', message: 'Unknown field' },
    ]);
  });

  it('hands the handler the query string through its schema, after the path and before the body', async () => {
    const list = httpRoute({
      path: z.object({ topic: topicSchema }),
      query: z.object({ limit: z.string().regex(/^\d+$/).transform(Number).default(20), tag: z.string().optional() }),
      body: z.object({}),
      failureLog: 'Thing failed',
      handle: async ({ query }) => json(200, query),
    });
    const withQuery = { ...event({ topic: 'feed:a', body: {} }), queryStringParameters: { limit: '5', tag: 'a,b' } };
    expect(JSON.parse((await list(withQuery, context)).body)).toEqual({ limit: 5, tag: 'a,b' });
    // API Gateway leaves `queryStringParameters` out when there is no query string.
    expect(JSON.parse((await list(event({ topic: 'feed:a', body: {} }), context)).body)).toEqual({ limit: 20 });
    const badQuery = await list({ ...event({ topic: 'bad topic', body: '{' }), queryStringParameters: { limit: 'x' } }, context);
    expect(bodyOf(badQuery).error.message).toMatch(/^Invalid topic/);
    const badQueryAndBody = await list({ ...event({ topic: 'feed:a', body: '{' }), queryStringParameters: { limit: 'x' } }, context);
    expect(badQueryAndBody.statusCode).toBe(400);
    expect(bodyOf(badQueryAndBody).error).toMatchObject({
      message: expect.stringMatching(/^Invalid limit: /),
      details: [{ field: 'limit' }],
    });
  });

  it('answers a typed error with its status and does not log it', async () => {
    const info = vi.spyOn(logger, 'info');
    const error = vi.spyOn(logger, 'error');
    const refusing = httpRoute({
      failureLog: 'Thing failed',
      handle: async () => {
        throw new RateLimitedError('Slow down', 2.5);
      },
    });
    const response = await refusing(event(), context);
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('3');
    expect(info).not.toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it('answers anything else with a bare 500 and logs it whole', async () => {
    const logged = vi.spyOn(logger, 'error');
    const boom = new Error('table arn:aws:dynamodb:secret is on fire');
    const failing = httpRoute({
      failureLog: 'Thing failed',
      handle: async () => {
        throw boom;
      },
    });
    const response = await failing(event(), context);
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response).error).toEqual({ code: 'internal', message: 'Internal server error', details: [] });
    expect(response.body).not.toContain('secret');
    expect(logged).toHaveBeenCalledWith('Thing failed', boom);
  });

  it('runs the handler with the API Gateway request id as correlation id', async () => {
    let seen: unknown;
    const correlated = httpRoute({
      failureLog: 'Thing failed',
      handle: async () => {
        seen = logger.getCorrelationId();
        return json(200, {});
      },
    });
    await correlated(event(), context);
    expect(seen).toBe('api-req-1');
  });
});

describe('httpRoutes', () => {
  const handler = httpRoutes(
    {
      'POST /a': route({ body: z.object({ x: z.string() }), handle: async ({ body }) => json(200, { x: body.x }) }),
      'POST /b': route({
        caller: 'authorized',
        handle: async () => {
          throw new AppError('conflict', 'Taken');
        },
      }),
    },
    { failureLog: 'Thing failed', refusals: { log: 'Thing refused', metricPrefix: 'ThingRefused_' } },
  );

  it('routes by route key', async () => {
    const response = await handler(event({ routeKey: 'POST /a', body: { x: 'y' } }), context);
    expect(JSON.parse(response.body)).toEqual({ x: 'y' });
  });

  it('answers an unknown route key with 404, logging nothing', async () => {
    const info = vi.spyOn(logger, 'info');
    const response = await handler(event({ routeKey: 'GET /nowhere' }), context);
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response).error).toEqual({ code: 'not_found', message: 'No route GET /nowhere', details: [] });
    expect(info).not.toHaveBeenCalled();
  });

  it('answers a route key naming an inherited property (constructor, __proto__) with 404', async () => {
    for (const routeKey of ['constructor', '__proto__', 'toString']) {
      const response = await handler(event({ routeKey }), context);
      expect(response.statusCode).toBe(404);
    }
  });

  it('logs and counts refusals when asked to, with the route key and the code', async () => {
    const info = vi.spyOn(logger, 'info');
    const counted = vi.spyOn(metrics, 'addMetric');
    const badBody = await handler(event({ routeKey: 'POST /a', body: {} }), context);
    expect(badBody.statusCode).toBe(400);
    const taken = await handler(event({ routeKey: 'POST /b', caller: USER }), context);
    expect(taken.statusCode).toBe(409);
    expect(info.mock.calls).toEqual([
      ['Thing refused', { routeKey: 'POST /a', code: 'bad_request' }],
      ['Thing refused', { routeKey: 'POST /b', code: 'conflict' }],
    ]);
    expect(counted.mock.calls.map(([name]) => name)).toEqual(['ThingRefused_bad_request', 'ThingRefused_conflict']);
  });
});
