/**
 * The one retry loop: exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"). Every place that tries an AWS call again uses it, with its own budget:
 *
 *   retry(() => client.send(command), { attempts: 5, baseDelayMs: 25, maxDelayMs: 200, retryable: isConflict })
 *
 * `retryRemaining` is the same loop for batch calls that succeed in part (BatchWriteItem's
 * unprocessed items, SendMessageBatch's and PutEvents' failed entries): it re-sends what is left.
 *
 * `sleep` and `random` are parameters, so tests run the loop without waiting and with known delays.
 */

export type Sleep = (ms: number) => Promise<void>;

export const sleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface BackoffPolicy {
  /** Calls in all, the first included. */
  readonly attempts: number;
  /** Bound of the first backoff in ms; it doubles with each further one. */
  readonly baseDelayMs: number;
  /** Bound of any one backoff. */
  readonly maxDelayMs: number;
}

export interface RetryOptions extends BackoffPolicy {
  /** Waits between attempts. @default a timer */
  readonly sleep?: Sleep;
  /** Uniform in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * Full jitter: the backoff after attempt `n` (0 for the first) is uniform in
 * [0, min(maxDelayMs, baseDelayMs·2^n)).
 */
export function backoffDelay(n: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** n);
}

/** Waits the backoff after attempt `n`, in whole milliseconds (what timers resolve to anyway). */
function pause(n: number, options: RetryOptions): Promise<void> {
  return (options.sleep ?? sleep)(Math.floor(backoffDelay(n, options, options.random)));
}

/**
 * Calls `operation` until it resolves, at most `attempts` times, backing off between calls. A
 * failure that is not `retryable`, or the last one, is thrown as it is.
 */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions & { readonly retryable: (error: unknown) => boolean },
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt + 1 >= options.attempts || !options.retryable(error)) throw error;
      await pause(attempt, options);
    }
  }
}

/**
 * Sends `items` and then, after a backoff each time, what `send` answers is still left, until
 * nothing is or `attempts` sends were made. Returns what is left (empty when all went through);
 * an error `send` throws is not retried.
 */
export async function retryRemaining<T>(
  items: readonly T[],
  send: (items: readonly T[], attempt: number) => Promise<readonly T[]>,
  options: RetryOptions,
): Promise<readonly T[]> {
  let remaining = items;
  for (let attempt = 0; remaining.length > 0 && attempt < options.attempts; attempt++) {
    if (attempt > 0) await pause(attempt - 1, options);
    remaining = await send(remaining, attempt);
  }
  return remaining;
}
