/**
 * The WebSocket house wrapper (lambdas/shared/realtime/frame-route.ts) on routes made up for the
 * test: frames that do not parse, typed and untyped failures of `handle` as error frames (with the
 * subscription id), the user check, answers in the route response or through `@connections`, and
 * which of these it logs and counts.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ServerFrame } from '../../lambdas/shared/realtime/frames';
import type { FrameRoute } from '../../lambdas/shared/realtime/frame-route';
import type { ConnectionPoster } from '../../lambdas/shared/realtime/poster';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const { ForbiddenError } = await import('../../lambdas/shared/errors');
const { logger, metrics } = await import('../../lambdas/shared/observability');
const { frameRoute } = await import('../../lambdas/shared/realtime/frame-route');
const { errorFrame, subscriptionIdSchema } = await import('../../lambdas/shared/realtime/frames');

const context = { functionName: 'fn', awsRequestId: 'lambda-1' } as Context;

const pokeSchema = z.strictObject({ type: z.literal('poke'), id: subscriptionIdSchema });

/** A route for `poke` frames; each test adds what it is about. */
const pokeRoute = (options: Omit<FrameRoute<typeof pokeSchema, boolean>, 'frame' | 'failureLog'>) =>
  frameRoute({ frame: pokeSchema, failureLog: 'Poke failed', ...options });

function event(body: string | undefined, user = true) {
  return {
    requestContext: {
      connectionId: 'c1',
      requestId: 'api-req-1',
      requestTimeEpoch: 1_700_000_000_000,
      ...(user ? { authorizer: { userId: 'u1', role: 'user' } } : {}),
    },
    ...(body === undefined ? {} : { body }),
  };
}

class RecordingPoster implements ConnectionPoster {
  readonly sent: { connectionId: string; frame: ServerFrame | string }[] = [];
  async post(connectionId: string, frame: ServerFrame | string) {
    this.sent.push({ connectionId, frame });
    return 'sent' as const;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('frameRoute', () => {
  it('answers in the route response with what the handler returns, given the connection, user and frame', async () => {
    const seen: unknown[] = [];
    const handler = pokeRoute({
      handle: async (request) => {
        seen.push(request);
        return { type: 'unsubscribed', id: request.frame.id };
      },
    });
    expect(await handler(event('{"type":"poke","id":"s1"}'), context)).toEqual({
      statusCode: 200,
      body: '{"type":"unsubscribed","id":"s1"}',
    });
    expect(seen).toEqual([
      { connectionId: 'c1', receivedAt: 1_700_000_000_000, who: { userId: 'u1', role: 'user' }, frame: { type: 'poke', id: 's1' } },
    ]);
  });

  it('answers nothing when the handler returns nothing', async () => {
    const handler = pokeRoute({ handle: async () => undefined });
    expect(await handler(event('{"type":"poke","id":"s1"}'), context)).toEqual({ statusCode: 200 });
  });

  it('answers a frame that does not parse with bad_request, without calling the handler', async () => {
    const handle = vi.fn(async () => undefined);
    const handler = pokeRoute({ handle });
    const result = await handler(event('{"type":"poke","id":"s1","extra":1}'), context);
    expect(JSON.parse(result.body!)).toEqual({
      type: 'error',
      id: 's1',
      code: 'bad_request',
      message: 'Invalid frame: extra: Unknown field',
    });
    expect(handle).not.toHaveBeenCalled();
  });

  it('counts and logs rejected frames as asked, also when the handler answers with an error frame', async () => {
    const info = vi.spyOn(logger, 'info');
    const counted = vi.spyOn(metrics, 'addMetric');
    const handler = pokeRoute({
      rejected: { metric: 'PokeRejected', log: 'Poke rejected' },
      handle: async () => errorFrame('unknown_type', 'No such poke'),
    });
    await handler(event('not json'), context);
    await handler(event('{"type":"poke","id":"s1"}'), context);
    expect(info.mock.calls).toEqual([
      ['Poke rejected', { connectionId: 'c1', code: 'bad_request' }],
      ['Poke rejected', { connectionId: 'c1', code: 'unknown_type' }],
    ]);
    expect(counted.mock.calls.map(([name]) => name)).toEqual(['PokeRejected', 'PokeRejected']);
  });

  it('turns a typed error into its error frame with the subscription id, counted but not logged', async () => {
    const logged = vi.spyOn(logger, 'error');
    const counted = vi.spyOn(metrics, 'addMetric');
    const handler = pokeRoute({
      refusedMetric: 'PokeRefused',
      handle: async () => {
        throw new ForbiddenError('Not yours');
      },
    });
    const result = await handler(event('{"type":"poke","id":"s1"}'), context);
    expect(JSON.parse(result.body!)).toEqual({ type: 'error', id: 's1', code: 'forbidden', message: 'Not yours' });
    expect(counted.mock.calls.map(([name]) => name)).toEqual(['PokeRefused']);
    expect(logged).not.toHaveBeenCalled();
  });

  it('turns anything else into an internal error frame that hides it, and logs it whole', async () => {
    const logged = vi.spyOn(logger, 'error');
    const boom = new Error('arn:aws:dynamodb:secret');
    const handler = pokeRoute({
      handle: async () => {
        throw boom;
      },
    });
    const result = await handler(event('{"type":"poke","id":"s1"}'), context);
    expect(JSON.parse(result.body!)).toEqual({ type: 'error', id: 's1', code: 'internal', message: 'Internal server error' });
    expect(logged).toHaveBeenCalledWith('Poke failed', boom);
  });

  it('refuses a connection without a user when the route requires one, after parsing the frame', async () => {
    const handle = vi.fn(async () => undefined);
    const handler = pokeRoute({ requireUser: true, handle });
    const refused = await handler(event('{"type":"poke","id":"s1"}', false), context);
    expect(JSON.parse(refused.body!)).toEqual({ type: 'error', id: 's1', code: 'unauthorized', message: 'The connection carries no user' });
    const malformed = await handler(event('{"type":"poke"}', false), context);
    expect(JSON.parse(malformed.body!)).toMatchObject({ code: 'bad_request' });
    expect(handle).not.toHaveBeenCalled();
  });

  it('sends every answer through @connections with replyVia, and no body', async () => {
    const poster = new RecordingPoster();
    const handler = pokeRoute({
      replyVia: poster,
      handle: async ({ frame }) => {
        if (frame.id === 'bad') throw new ForbiddenError('No');
        return { type: 'unsubscribed', id: frame.id };
      },
    });
    expect(await handler(event('{"type":"poke","id":"ok"}'), context)).toEqual({ statusCode: 200 });
    expect(await handler(event('{"type":"poke","id":"bad"}'), context)).toEqual({ statusCode: 200 });
    expect(await handler(event(''), context)).toEqual({ statusCode: 200 });
    expect(poster.sent).toEqual([
      { connectionId: 'c1', frame: { type: 'unsubscribed', id: 'ok' } },
      { connectionId: 'c1', frame: { type: 'error', id: 'bad', code: 'forbidden', message: 'No' } },
      { connectionId: 'c1', frame: expect.objectContaining({ type: 'error', code: 'bad_request' }) },
    ]);
  });

  it('fails the invocation for an event that is not a message of a connection', async () => {
    const handler = pokeRoute({ handle: async () => undefined });
    await expect(handler({ body: '{"type":"poke","id":"s1"}' }, context)).rejects.toThrow();
  });
});
