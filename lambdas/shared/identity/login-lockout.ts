/**
 * Login throttling per email: after `MAX_FAILURES` failed logins within a fixed window of
 * `WINDOW_SECONDS` (counted from the first failure), further logins for that email are refused with
 * `TooManyAttempts` until the window ends — even with the right password, or a guesser could
 * keep going. Emails without an account are throttled the same way, so throttling reveals nothing
 * either. The domain table's adapter is `DynamoLoginThrottle` (dynamo-login-throttle.ts).
 */

export const MAX_FAILURES = 5;
export const WINDOW_SECONDS = 15 * 60;

export interface AttemptWindow {
  readonly failures: number;
  readonly windowStart: number;
}

/** Seconds until `window` lets logins through again; 0 when it does now. Pure. */
export function retryAfterSeconds(window: AttemptWindow | undefined, nowSeconds: number): number {
  if (!window) return 0;
  const end = window.windowStart + WINDOW_SECONDS;
  return window.failures >= MAX_FAILURES && end > nowSeconds ? end - nowSeconds : 0;
}

export interface LoginThrottle {
  /** Throws `TooManyAttempts` while the email is locked out. */
  check(email: string): Promise<void>;
  /** Counts one failed login; returns the failures in the current window. */
  recordFailure(email: string): Promise<number>;
  /** Forgets the failures after a successful login. */
  reset(email: string): Promise<void>;
}
