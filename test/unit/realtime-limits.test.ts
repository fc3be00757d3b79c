/**
 * The WebSocket limits' logic (lambdas/shared/realtime/limits.ts), without DynamoDB: windows,
 * verdicts, the limiter's counting and closing, free slots, configuration from the environment,
 * and the `@connections` close (apigw-frame-limit.ts) with a fake call.
 */
import { describe, expect, it } from 'vitest';
import { ApiGatewayCloser } from '../../lambdas/shared/realtime/apigw-frame-limit';
import {
  DEFAULT_FRAME_RATE_LIMIT,
  fixedWindow,
  FrameLimiter,
  frameRateLimitFromEnv,
  frameVerdict,
  freeSlots,
  positiveIntegerEnv,
  secondsUntilEnd,
  validateFrameRateLimit,
  type FrameCounter,
  type Window,
} from '../../lambdas/shared/realtime/limits';

const limit = { frames: 3, windowSeconds: 10, closeAfter: 6 };

describe('fixedWindow', () => {
  it('aligns windows on the epoch, so every invocation agrees on them', () => {
    expect(fixedWindow(1_700_000_000_000, 60)).toEqual({ start: 1_699_999_980, end: 1_700_000_040 });
    expect(fixedWindow(1_699_999_980_000, 60)).toEqual({ start: 1_699_999_980, end: 1_700_000_040 });
    expect(fixedWindow(1_699_999_979_999, 60).end).toBe(1_699_999_980);
  });

  it('counts whole seconds to the end of the window, at least 1', () => {
    const window: Window = { start: 100, end: 160 };
    expect(secondsUntilEnd(window, 100_000)).toBe(60);
    expect(secondsUntilEnd(window, 159_100)).toBe(1);
    expect(secondsUntilEnd(window, 159_999)).toBe(1);
  });
});

describe('frameVerdict', () => {
  it('handles up to the limit, answers rate_limited up to closeAfter, then closes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => frameVerdict(n, limit))).toEqual([
      'handle',
      'handle',
      'handle',
      'rate_limited',
      'rate_limited',
      'rate_limited',
      'close',
      'close',
    ]);
  });

  it('lets a client subscribe to 100 topics at connect by default, and closes only at twice the limit', () => {
    expect(frameVerdict(101, DEFAULT_FRAME_RATE_LIMIT)).toBe('handle');
    expect(DEFAULT_FRAME_RATE_LIMIT.closeAfter).toBe(2 * DEFAULT_FRAME_RATE_LIMIT.frames);
  });
});

describe('FrameLimiter', () => {
  /** A counter in memory, per connection and window start. */
  function memoryCounter(): FrameCounter & { windows: string[] } {
    const counts = new Map<string, number>();
    const windows: string[] = [];
    return {
      windows,
      async add(connectionId, window) {
        const key = `${connectionId}@${window.start}`;
        windows.push(key);
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return counts.get(key)!;
      },
    };
  }

  it('counts each frame in the window of its receipt and closes the connection past closeAfter, each time', async () => {
    const closed: string[] = [];
    const counter = memoryCounter();
    const limiter = new FrameLimiter(limit, counter, { close: async (id) => void closed.push(id) });
    const at = 1_700_000_003_000; // 7 s left in its 10-s window
    const verdicts = [];
    for (let i = 0; i < 8; i++) verdicts.push(await limiter.admit('c1', at));
    expect(verdicts.map((v) => v.verdict)).toEqual([
      'handle',
      'handle',
      'handle',
      'rate_limited',
      'rate_limited',
      'rate_limited',
      'close',
      'close',
    ]);
    expect(verdicts[3]).toEqual({ verdict: 'rate_limited', count: 4, retryAfterSeconds: 7 });
    expect(closed).toEqual(['c1', 'c1']);
    // Another connection, and the next window, start from zero.
    expect((await limiter.admit('c2', at)).verdict).toBe('handle');
    expect((await limiter.admit('c1', at + 7_000)).verdict).toBe('handle');
    expect(new Set(counter.windows)).toEqual(new Set(['c1@1700000000', 'c2@1700000000', 'c1@1700000010']));
  });

  it('refuses a limit that makes no sense', () => {
    expect(() => validateFrameRateLimit({ frames: 0, windowSeconds: 60, closeAfter: 1 })).toThrow(/frames/);
    expect(() => validateFrameRateLimit({ frames: 5, windowSeconds: 0, closeAfter: 10 })).toThrow(/windowSeconds/);
    expect(() => validateFrameRateLimit({ frames: 5, windowSeconds: 60, closeAfter: 4 })).toThrow(/closeAfter/);
    const counter = memoryCounter();
    expect(() => new FrameLimiter({ frames: 1.5, windowSeconds: 60, closeAfter: 3 }, counter, { close: async () => undefined })).toThrow();
  });
});

describe('configuration from the environment', () => {
  it('is off without FRAME_RATE_LIMIT; closeAfter defaults to twice the limit, the window to a minute', () => {
    expect(frameRateLimitFromEnv({})).toBeUndefined();
    expect(frameRateLimitFromEnv({ FRAME_RATE_LIMIT: '50' })).toEqual({ frames: 50, windowSeconds: 60, closeAfter: 100 });
    expect(frameRateLimitFromEnv({ FRAME_RATE_LIMIT: '50', FRAME_RATE_WINDOW_SECONDS: '5', FRAME_RATE_CLOSE_AFTER: '70' })).toEqual({
      frames: 50,
      windowSeconds: 5,
      closeAfter: 70,
    });
  });

  it('names a malformed or missing variable', () => {
    expect(() => frameRateLimitFromEnv({ FRAME_RATE_LIMIT: 'many' })).toThrow(/FRAME_RATE_LIMIT must be a positive integer/);
    expect(() => frameRateLimitFromEnv({ FRAME_RATE_LIMIT: '5', FRAME_RATE_CLOSE_AFTER: '4' })).toThrow(/closeAfter/);
    expect(() => positiveIntegerEnv('MAX_CONNECTIONS_PER_USER', {})).toThrow(/MAX_CONNECTIONS_PER_USER/);
    expect(() => positiveIntegerEnv('MAX_CONNECTIONS_PER_USER', { MAX_CONNECTIONS_PER_USER: '0' })).toThrow(/positive integer/);
    expect(positiveIntegerEnv('X', {}, 7)).toBe(7);
  });
});

describe('freeSlots', () => {
  it('lists the slots not held at that moment, from the offset around, expired ones as free', () => {
    const held = [
      { slot: 0, expiresAt: 2_000 },
      { slot: 2, expiresAt: 999 }, // its connection has certainly ended
      { slot: 3, expiresAt: 1_000 }, // expires at exactly now: free
    ];
    expect(freeSlots(5, held, 1_000, 0)).toEqual([1, 2, 3, 4]);
    expect(freeSlots(5, held, 1_000, 3.7)).toEqual([3, 4, 1, 2]);
    expect(
      freeSlots(
        2,
        [
          { slot: 0, expiresAt: 2_000 },
          { slot: 1, expiresAt: 2_000 },
        ],
        1_000,
        1,
      ),
    ).toEqual([]);
  });
});

describe('ApiGatewayCloser', () => {
  const noSleep = async () => undefined;
  const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('deletes the connection; a gone one is what was wanted', async () => {
    const deleted: string[] = [];
    await new ApiGatewayCloser(async (id) => void deleted.push(id)).close('c1');
    expect(deleted).toEqual(['c1']);
    await expect(
      new ApiGatewayCloser(async () => {
        throw sdkError('GoneException', 410);
      }).close('c1'),
    ).resolves.toBeUndefined();
  });

  it('retries throttling, and throws anything else', async () => {
    let calls = 0;
    const flaky = new ApiGatewayCloser(
      async () => {
        if (++calls < 3) throw sdkError('LimitExceededException', 429);
      },
      { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 },
      noSleep,
    );
    await flaky.close('c1');
    expect(calls).toBe(3);
    await expect(
      new ApiGatewayCloser(async () => {
        throw sdkError('ForbiddenException', 403);
      }).close('c1'),
    ).rejects.toThrow('ForbiddenException');
  });
});
