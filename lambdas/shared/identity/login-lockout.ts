/**
 * The login attempt budget per email: at most `MAX_FAILURES` logins per window of `WINDOW_SECONDS`
 * (counted from the window's first attempt) get their password checked; the rest are refused with
 * `TooManyAttempts` until the window ends — even with the right password, or a guesser could keep
 * going. A successful login clears the window, so what stays counted are failed attempts (and
 * attempts still running).
 *
 * The budget is spent BEFORE the password is checked: `reserve` takes one attempt in a single
 * conditional write, so however many logins for one email run at once (Lambda scales out), no more
 * than `MAX_FAILURES` passwords are checked per window. Counting failures after the check instead
 * let a burst test as many passwords as it sent (issue 11, finding 1).
 *
 * Emails without an account are budgeted the same way, so the budget reveals nothing either. The
 * domain table's adapter is `DynamoLoginThrottle` (dynamo-login-throttle.ts); what is decided here
 * is pure.
 */

export const MAX_FAILURES = 5;
export const WINDOW_SECONDS = 15 * 60;

/** One email's window as stored: attempts reserved since `windowStart` (epoch seconds). */
export interface AttemptWindow {
  readonly attempts: number;
  readonly windowStart: number;
}

/** Windows that started at or before this are over: a reservation opens a new one. */
export function windowCutoff(nowSeconds: number): number {
  return nowSeconds - WINDOW_SECONDS;
}

/**
 * Seconds until `window` lets logins through again; 0 when it does now (no window, an ended one,
 * or budget left). Pure.
 */
export function retryAfterSeconds(window: AttemptWindow | undefined, nowSeconds: number): number {
  if (!window || window.windowStart <= windowCutoff(nowSeconds)) return 0;
  return window.attempts >= MAX_FAILURES ? window.windowStart + WINDOW_SECONDS - nowSeconds : 0;
}

export interface LoginThrottle {
  /**
   * Takes one attempt from the email's budget, before its password is checked; `TooManyAttempts`
   * (with the seconds to wait) when the window's budget is spent.
   */
  reserve(email: string): Promise<void>;
  /** Clears the window after a successful login. */
  reset(email: string): Promise<void>;
}
