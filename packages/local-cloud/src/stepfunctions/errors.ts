/**
 * Errors inside a Step Functions execution, with the names AWS gives them (`States.Runtime`,
 * `States.Timeout`, a Lambda function's `errorType`, ...), and how Retry/Catch match them.
 */

/** An error raised in a state: what `Retry`/`Catch` see and what a failed execution reports. */
export class StatesError extends Error {
  constructor(
    /** The error name, e.g. `States.Timeout` or a function's `errorType`. */
    readonly error: string,
    /** Free text (often JSON) explaining the error. */
    override readonly cause = '',
    /** Raised by a missed heartbeat: still `States.Timeout`, but also matched by `States.HeartbeatTimeout`. */
    readonly heartbeat = false,
  ) {
    super(cause ? `${error}: ${cause}` : error);
    this.name = 'StatesError';
  }

  /** The `{Error, Cause}` object a Catch puts at its ResultPath. */
  toOutput(): { Error: string; Cause: string } {
    return { Error: this.error, Cause: this.cause };
  }
}

export const runtimeError = (cause: string) => new StatesError('States.Runtime', cause);

/**
 * Why a thread of an execution stopped without a state error: the execution was stopped or timed
 * out, or a sibling branch of a Parallel/Map failed. Never matched by Retry or Catch.
 */
export class Interrupted extends Error {
  constructor(
    readonly kind: 'stopped' | 'timed-out' | 'cancelled',
    readonly error?: string,
    override readonly cause?: string,
  ) {
    super(`execution ${kind}`);
    this.name = 'Interrupted';
  }
}

/** Errors `States.ALL` (and `States.TaskFailed`) do not match: they always end the execution. */
const TERMINAL = new Set(['States.Runtime', 'States.DataLimitExceeded']);

/** Whether an `ErrorEquals` list matches `error`, as AWS documents the reserved names. */
export function errorMatches(errorEquals: readonly string[], error: StatesError): boolean {
  if (error.error === 'States.Runtime') return false; // "isn't retriable, and will always cause the execution to fail"
  return errorEquals.some((name) => {
    if (name === error.error) return true;
    if (name === 'States.ALL') return !TERMINAL.has(error.error);
    if (name === 'States.TaskFailed') return error.error !== 'States.Timeout' && !TERMINAL.has(error.error);
    if (name === 'States.HeartbeatTimeout') return error.heartbeat;
    return false;
  });
}
