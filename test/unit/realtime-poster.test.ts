/**
 * Posting to connections (lambdas/shared/realtime/apigw-poster.ts) with the SDK call replaced by a fake:
 * a gone connection is an outcome, not an error; throttling is retried with full-jitter backoff
 * and then surfaces as `Throttled`; anything else surfaces at once. Also `forEachLimited`'s
 * concurrency limit and error contract. (The backoff itself is tested in retry.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ApiGatewayPoster, connectionsEndpoint, DEFAULT_BACKOFF, type SendFrame } from '../../lambdas/shared/realtime/apigw-poster';
import { forEachLimited, Throttled } from '../../lambdas/shared/realtime/poster';
import type { BackoffPolicy } from '../../lambdas/shared/retry';

/** An SDK-shaped error: what the v3 client throws (name and `$metadata`, no `statusCode`). */
function sdkError(name: string, httpStatusCode?: number): Error {
  return Object.assign(new Error(name), { name, ...(httpStatusCode ? { $metadata: { httpStatusCode } } : {}) });
}

/** A `send` that fails with `failures` in turn, then succeeds; records what it was given. */
function scriptedSend(failures: unknown[]) {
  const calls: { connectionId: string; data: string }[] = [];
  const send: SendFrame = async (connectionId, data) => {
    calls.push({ connectionId, data });
    const failure = failures.shift();
    if (failure !== undefined) throw failure;
  };
  return { send, calls };
}

function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

const POLICY: BackoffPolicy = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 };

describe('ApiGatewayPoster', () => {
  it('serializes a frame, passes a string as is, and answers sent', async () => {
    const { send, calls } = scriptedSend([]);
    const poster = new ApiGatewayPoster(send, POLICY, recordingSleep().sleep);
    expect(await poster.post('c1', { type: 'pong' })).toBe('sent');
    expect(await poster.post('c2', '{"type":"pong"}')).toBe('sent');
    expect(calls).toEqual([
      { connectionId: 'c1', data: '{"type":"pong"}' },
      { connectionId: 'c2', data: '{"type":"pong"}' },
    ]);
  });

  it.each([
    ['GoneException by name', sdkError('GoneException')],
    ['a 410 by $metadata.httpStatusCode', sdkError('UnknownError', 410)],
  ])('answers gone for %s without retrying', async (_, error) => {
    const { send, calls } = scriptedSend([error]);
    const { sleep, delays } = recordingSleep();
    expect(await new ApiGatewayPoster(send, POLICY, sleep).post('c1', { type: 'pong' })).toBe('gone');
    expect(calls).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('does not take a v2-style statusCode 410 for gone', async () => {
    const error = Object.assign(new Error('boom'), { statusCode: 410 });
    const { send } = scriptedSend([error]);
    await expect(new ApiGatewayPoster(send, POLICY, recordingSleep().sleep).post('c1', { type: 'pong' })).rejects.toBe(error);
  });

  it.each([
    ['LimitExceededException', sdkError('LimitExceededException')],
    ['TooManyRequestsException', sdkError('TooManyRequestsException')],
    ['ThrottlingException', sdkError('ThrottlingException')],
    ['a 429', sdkError('SomethingElse', 429)],
  ])('retries %s with backoff and then delivers', async (_, error) => {
    const { send, calls } = scriptedSend([error, error]);
    const { sleep, delays } = recordingSleep();
    expect(await new ApiGatewayPoster(send, POLICY, sleep).post('c1', { type: 'pong' })).toBe('sent');
    expect(calls).toHaveLength(3);
    expect(delays).toHaveLength(2);
    delays.forEach((ms, attempt) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(POLICY.maxDelayMs, POLICY.baseDelayMs * 2 ** attempt));
    });
  });

  it('throws Throttled after `attempts` tries, keeping the last error as its cause', async () => {
    const errors = Array.from({ length: 10 }, (_, i) => sdkError(i % 2 ? 'LimitExceededException' : 'TooManyRequestsException', 429));
    const { send, calls } = scriptedSend([...errors]);
    const { sleep, delays } = recordingSleep();
    const failure = await new ApiGatewayPoster(send, POLICY, sleep).post('c7', { type: 'pong' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Throttled);
    expect((failure as Throttled).connectionId).toBe('c7');
    expect((failure as Throttled).cause).toBe(errors[POLICY.attempts - 1]);
    expect(calls).toHaveLength(POLICY.attempts);
    expect(delays).toHaveLength(POLICY.attempts - 1);
  });

  it('uses five attempts by default', async () => {
    const { send, calls } = scriptedSend(Array.from({ length: 10 }, () => sdkError('LimitExceededException')));
    await expect(new ApiGatewayPoster(send, undefined, recordingSleep().sleep).post('c1', { type: 'pong' })).rejects.toThrow(Throttled);
    expect(DEFAULT_BACKOFF.attempts).toBe(5);
    expect(calls).toHaveLength(5);
  });

  it('answers gone when a throttled retry finds the connection gone', async () => {
    const { send, calls } = scriptedSend([sdkError('LimitExceededException'), sdkError('GoneException', 410)]);
    expect(await new ApiGatewayPoster(send, POLICY, recordingSleep().sleep).post('c1', { type: 'pong' })).toBe('gone');
    expect(calls).toHaveLength(2);
  });

  it.each([
    ['a 500', sdkError('InternalServerErrorException', 500)],
    ['a reset socket', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a timeout', sdkError('TimeoutError')],
  ])('retries %s like throttling, then gives up with Throttled', async (_, error) => {
    const { send, calls } = scriptedSend([error, error, error, error, error]);
    const { sleep, delays } = recordingSleep();
    await expect(new ApiGatewayPoster(send, POLICY, sleep).post('c1', { type: 'pong' })).rejects.toThrow(Throttled);
    expect(calls).toHaveLength(POLICY.attempts);
    expect(delays).toHaveLength(POLICY.attempts - 1);
  });

  it('delivers after a transient failure', async () => {
    const { send, calls } = scriptedSend([sdkError('TimeoutError')]);
    expect(await new ApiGatewayPoster(send, POLICY, recordingSleep().sleep).post('c1', { type: 'pong' })).toBe('sent');
    expect(calls).toHaveLength(2);
  });

  it.each([
    ['a 403', sdkError('ForbiddenException', 403)],
    ['a plain Error', new Error('boom')],
    ['a non-error', 'weird'],
  ])('throws %s at once, without retrying', async (_, error) => {
    const { send, calls } = scriptedSend([error]);
    const { sleep, delays } = recordingSleep();
    await expect(new ApiGatewayPoster(send, POLICY, sleep).post('c1', { type: 'pong' })).rejects.toBe(error);
    expect(calls).toHaveLength(1);
    expect(delays).toEqual([]);
  });
});

describe('forEachLimited', () => {
  const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('does every item and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachLimited(
      Array.from({ length: 25 }, (_, i) => i),
      4,
      async (i) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await tick((i * 7) % 5);
        inFlight -= 1;
        done.push(i);
      },
    );
    expect(peak).toBe(4);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('runs one at a time for a limit below one, and resolves on nothing', async () => {
    let inFlight = 0;
    let peak = 0;
    let count = 0;
    await forEachLimited([1, 2, 3], 0, async () => {
      peak = Math.max(peak, ++inFlight);
      await tick(1);
      inFlight -= 1;
      count += 1;
    });
    expect([peak, count]).toEqual([1, 3]);
    await expect(forEachLimited([], 3, async () => Promise.reject(new Error('never')))).resolves.toBeUndefined();
  });

  it('pulls lazily from an iterable such as a Map', async () => {
    const seen: string[] = [];
    await forEachLimited(
      new Map([
        ['a', 1],
        ['b', 2],
      ]),
      8,
      async ([key]) => void seen.push(key),
    );
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('rejects with the first error only after the work in flight has settled, and starts nothing new', async () => {
    const first = new Error('first');
    const started: number[] = [];
    let slowFinished = false;
    const run = forEachLimited([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      if (i === 0) {
        await tick(40);
        slowFinished = true;
        throw new Error('second, later');
      }
      if (i === 1) {
        await tick(5);
        throw first;
      }
    });
    const failure = await run.catch((e: unknown) => e);
    expect(failure).toBe(first);
    expect(slowFinished).toBe(true);
    expect(started).toEqual([0, 1]);
  });
});

describe('connectionsEndpoint', () => {
  const callback = 'https://abc.execute-api.eu-west-1.amazonaws.com/prod';

  it('is the stage callback URL, unless the SDK endpoint override for the service is set', () => {
    expect(connectionsEndpoint(callback, {})).toBe(callback);
    expect(connectionsEndpoint(callback, { AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: '' })).toBe(callback);
    expect(connectionsEndpoint(callback, { AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: 'http://127.0.0.1:3001/local' })).toBe(
      'http://127.0.0.1:3001/local',
    );
  });
});
