/**
 * The retry helper (lambdas/shared/retry.ts): full-jitter backoff bounds, how many calls `retry`
 * and `retryRemaining` make, what they wait between them (with `sleep` and `random` injected), and
 * what they throw or return when the budget runs out.
 */
import { describe, expect, it } from 'vitest';
import { backoffDelay, retry, retryRemaining, type BackoffPolicy } from '../../lambdas/shared/retry';

/** A `sleep` that only records what it was asked to wait. */
function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

const POLICY: BackoffPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 250 };

class Retryable extends Error {}

describe('backoffDelay', () => {
  const policy: BackoffPolicy = { attempts: 10, baseDelayMs: 50, maxDelayMs: 2_000 };
  const bound = (attempt: number) => Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);

  it('is full jitter: uniform in [0, min(cap, base·2^n))', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      expect(backoffDelay(attempt, policy, () => 0)).toBe(0);
      expect(backoffDelay(attempt, policy, () => 0.5)).toBe(bound(attempt) / 2);
      const top = backoffDelay(attempt, policy, () => 1 - Number.EPSILON);
      expect(top).toBeLessThan(bound(attempt));
      expect(top).toBeGreaterThan(bound(attempt) * 0.999);
    }
  });

  it('grows exponentially until the cap', () => {
    const half = (attempt: number) => backoffDelay(attempt, policy, () => 0.5);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(half)).toEqual([25, 50, 100, 200, 400, 800, 1000, 1000]);
  });

  it('stays within bounds with the real random source', () => {
    for (let i = 0; i < 1_000; i++) {
      const attempt = i % 8;
      const delay = backoffDelay(attempt, policy);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(bound(attempt));
    }
  });
});

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const { sleep, delays } = recordingSleep();
    const attempts: number[] = [];
    const result = await retry(
      async (attempt) => {
        attempts.push(attempt);
        return 'ok';
      },
      { ...POLICY, sleep, retryable: () => true },
    );
    expect(result).toBe('ok');
    expect(attempts).toEqual([0]);
    expect(delays).toEqual([]);
  });

  it('retries retryable failures with full-jitter backoff in whole milliseconds, then succeeds', async () => {
    const { sleep, delays } = recordingSleep();
    const attempts: number[] = [];
    const result = await retry(
      async (attempt) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Retryable(`try ${attempt}`);
        return attempt;
      },
      { ...POLICY, sleep, random: () => 0.999, retryable: (e) => e instanceof Retryable },
    );
    expect(result).toBe(3);
    expect(attempts).toEqual([0, 1, 2, 3]);
    // Bounds 100, 200, then capped at 250; drawn at 0.999 and rounded down.
    expect(delays).toEqual([99, 199, 249]);
  });

  it('throws the last failure once the attempts are spent, without waiting after it', async () => {
    const { sleep, delays } = recordingSleep();
    const errors: Error[] = [];
    const failure = await retry(
      async () => {
        errors.push(new Retryable(`try ${errors.length}`));
        throw errors.at(-1);
      },
      { ...POLICY, sleep, random: () => 0.5, retryable: () => true },
    ).catch((e: unknown) => e);
    expect(errors).toHaveLength(POLICY.attempts);
    expect(failure).toBe(errors.at(-1));
    expect(delays).toEqual([50, 100, 125]);
  });

  it('throws a failure that is not retryable at once', async () => {
    const { sleep, delays } = recordingSleep();
    const boom = new Error('boom');
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw boom;
        },
        { ...POLICY, sleep, retryable: (e) => e instanceof Retryable },
      ),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
    expect(delays).toEqual([]);
  });

  it('waits on a real timer by default', async () => {
    let calls = 0;
    const started = Date.now();
    await retry(
      async () => {
        if (calls++ === 0) throw new Retryable();
      },
      { attempts: 2, baseDelayMs: 20, maxDelayMs: 20, random: () => 0.99, retryable: () => true },
    );
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });
});

describe('retryRemaining', () => {
  it('re-sends only what is left, backing off between sends, until nothing is', async () => {
    const { sleep, delays } = recordingSleep();
    const sent: (readonly number[])[] = [];
    const left = await retryRemaining(
      [1, 2, 3, 4],
      async (items, attempt) => {
        sent.push(items);
        return items.filter((n) => n > attempt + 2);
      },
      { ...POLICY, sleep, random: () => 0.5 },
    );
    expect(sent).toEqual([[1, 2, 3, 4], [3, 4], [4]]);
    expect(delays).toEqual([50, 100]);
    expect(left).toEqual([]);
  });

  it('returns what is still left after the last attempt', async () => {
    const { sleep, delays } = recordingSleep();
    let sends = 0;
    const left = await retryRemaining(
      ['a', 'b'],
      async (items) => {
        sends++;
        return items.slice(1);
      },
      { attempts: 1, baseDelayMs: 10, maxDelayMs: 10, sleep },
    );
    expect(sends).toBe(1);
    expect(left).toEqual(['b']);
    expect(delays).toEqual([]);
  });

  it('sends nothing for nothing', async () => {
    let sends = 0;
    expect(
      await retryRemaining(
        [],
        async (items) => {
          sends++;
          return items;
        },
        POLICY,
      ),
    ).toEqual([]);
    expect(sends).toBe(0);
  });

  it('lets an error from the send through, without retrying it', async () => {
    const { sleep, delays } = recordingSleep();
    const boom = new Error('boom');
    await expect(retryRemaining([1], async () => Promise.reject(boom), { ...POLICY, sleep })).rejects.toBe(boom);
    expect(delays).toEqual([]);
  });
});
