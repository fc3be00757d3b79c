/**
 * The frame limit in the WebSocket house wrapper (lambdas/shared/realtime/frame-route.ts): every
 * frame is counted before anything else, a frame over the limit is answered `rate_limited` (with
 * its subscription id) and not handled, one far over it closes the connection and answers
 * nothing, and a counter that fails lets frames through. The limiter's own logic is in
 * realtime-limits.test.ts.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { FrameLimiter, type FrameCounter } from '../../lambdas/shared/realtime/limits';
import type { ConnectionPoster } from '../../lambdas/shared/realtime/poster';
import type { ServerFrame } from '../../lambdas/shared/realtime/frames';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const { logger, metrics } = await import('../../lambdas/shared/observability');
const { frameRoute } = await import('../../lambdas/shared/realtime/frame-route');
const { subscriptionIdSchema } = await import('../../lambdas/shared/realtime/frames');

const context = { functionName: 'fn', awsRequestId: 'lambda-1' } as Context;
const pokeSchema = z.strictObject({ type: z.literal('poke'), id: subscriptionIdSchema });
const RECEIVED_AT = 1_700_000_003_000; // 37 s before its minute (epoch-aligned) ends

const event = (body: string, connectionId = 'c1') => ({
  requestContext: { connectionId, requestId: 'api-req-1', requestTimeEpoch: RECEIVED_AT, authorizer: { userId: 'u1', role: 'user' } },
  body,
});

/** A limiter of 2 frames a minute, closing past 4, over a counter in memory. */
function limiter(counter?: FrameCounter) {
  const counts = new Map<string, number>();
  const closed: string[] = [];
  const memory: FrameCounter = {
    add: async (connectionId) => {
      counts.set(connectionId, (counts.get(connectionId) ?? 0) + 1);
      return counts.get(connectionId)!;
    },
  };
  const l = new FrameLimiter({ frames: 2, windowSeconds: 60, closeAfter: 4 }, counter ?? memory, {
    close: async (id) => void closed.push(id),
  });
  return { limiter: l, closed };
}

afterEach(() => vi.restoreAllMocks());

describe('frameRoute with a frame limit', () => {
  it('handles frames up to the limit, answers rate_limited after, then closes the connection and answers nothing', async () => {
    const { limiter: l, closed } = limiter();
    const handle = vi.fn(async ({ frame }: { frame: { id: string } }) => ({ type: 'unsubscribed' as const, id: frame.id }));
    const counted = vi.spyOn(metrics, 'addMetric');
    const handler = frameRoute({ frame: pokeSchema, failureLog: 'Poke failed', limiter: l, handle });
    const answers = [];
    for (const body of [
      '{"type":"poke","id":"a"}',
      '{"type":"poke","id":"b"}',
      '{"type":"poke","id":"c"}',
      'not json',
      '{"type":"poke","id":"e"}',
    ]) {
      answers.push(await handler(event(body), context));
    }
    expect(answers.slice(0, 2).map((a) => JSON.parse(a.body!))).toEqual([
      { type: 'unsubscribed', id: 'a' },
      { type: 'unsubscribed', id: 'b' },
    ]);
    expect(JSON.parse(answers[2]!.body!)).toEqual({
      type: 'error',
      id: 'c',
      code: 'rate_limited',
      message: 'Over 2 frames in 60 s on this connection: frame not handled; retry in 37 s (past 4 the connection is closed)',
    });
    // A frame that does not parse still counts, and is refused for its rate, not its shape.
    expect(JSON.parse(answers[3]!.body!)).toMatchObject({ code: 'rate_limited' });
    expect(JSON.parse(answers[3]!.body!)).not.toHaveProperty('id');
    expect(answers[4]).toEqual({ statusCode: 200 });
    expect(closed).toEqual(['c1']);
    expect(handle).toHaveBeenCalledTimes(2);
    expect(counted.mock.calls.map(([name]) => name)).toEqual(['FrameRateLimited', 'FrameRateLimited', 'ConnectionClosedForFrameRate']);
  });

  it('counts per connection', async () => {
    const { limiter: l } = limiter();
    const handler = frameRoute({
      frame: pokeSchema,
      failureLog: 'Poke failed',
      limiter: l,
      handle: async () => ({ type: 'pong' as const }),
    });
    for (let i = 0; i < 3; i++) await handler(event('{"type":"poke","id":"a"}', 'c1'), context);
    expect(JSON.parse((await handler(event('{"type":"poke","id":"a"}', 'c2'), context)).body!)).toEqual({ type: 'pong' });
  });

  it('sends rate_limited through @connections on a route that answers that way', async () => {
    const { limiter: l } = limiter();
    const sent: (ServerFrame | string)[] = [];
    const poster: ConnectionPoster = {
      post: async (_id, frame) => {
        sent.push(frame);
        return 'sent';
      },
    };
    const handler = frameRoute({
      frame: pokeSchema,
      failureLog: 'Poke failed',
      limiter: l,
      replyVia: poster,
      handle: async () => undefined,
    });
    for (let i = 0; i < 3; i++) expect(await handler(event('{"type":"poke","id":"a"}'), context)).toEqual({ statusCode: 200 });
    expect(sent).toEqual([expect.objectContaining({ type: 'error', id: 'a', code: 'rate_limited' })]);
  });

  it('handles the frame when the counter fails, and logs that', async () => {
    const boom = new Error('ProvisionedThroughputExceededException');
    const { limiter: l } = limiter({
      add: async () => {
        throw boom;
      },
    });
    const logged = vi.spyOn(logger, 'error');
    const handler = frameRoute({
      frame: pokeSchema,
      failureLog: 'Poke failed',
      limiter: l,
      handle: async () => ({ type: 'pong' as const }),
    });
    expect(JSON.parse((await handler(event('{"type":"poke","id":"a"}'), context)).body!)).toEqual({ type: 'pong' });
    expect(logged).toHaveBeenCalledWith('Frame limit unavailable; frame handled', boom);
  });

  it('takes its limiter from the environment by default: none without FRAME_RATE_LIMIT, the table and @connections with it', async () => {
    expect(() => frameRoute({ frame: pokeSchema, failureLog: 'Poke failed', handle: async () => undefined })).not.toThrow();
    vi.stubEnv('FRAME_RATE_LIMIT', '10');
    try {
      expect(() => frameRoute({ frame: pokeSchema, failureLog: 'Poke failed', handle: async () => undefined })).toThrow(
        /REALTIME_TABLE_NAME/,
      );
    } finally {
      vi.stubEnv('FRAME_RATE_LIMIT', '');
    }
  });
});
