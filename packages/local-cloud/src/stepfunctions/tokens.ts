/**
 * Task tokens of `.waitForTaskToken` tasks: issued when the task starts, completed through
 * SendTaskSuccess / SendTaskFailure, kept alive through SendTaskHeartbeat, with the API errors
 * AWS returns for unknown, finished and timed-out tasks.
 */
import { randomBytes } from 'node:crypto';
import { AwsError } from '../aws-protocol';

export interface TokenListener {
  succeed(output: unknown): void;
  fail(error: string, cause: string): void;
  heartbeat(): void;
}

type Outcome = { kind: 'success'; output: unknown } | { kind: 'failure'; error: string; cause: string };

interface LiveToken {
  listener?: TokenListener;
  /** A completion that arrived before the task started listening. */
  early?: Outcome;
}

const MAX_CLOSED = 10_000;

export class TaskTokens {
  private readonly live = new Map<string, LiveToken>();
  private readonly closed = new Set<string>();

  /** Issues a token for a task that is about to start. */
  create(): string {
    // AWS tokens are long opaque strings; length and alphabet are similar.
    const token = `AQ${randomBytes(96).toString('base64').replace(/=+$/, '')}`;
    this.live.set(token, {});
    return token;
  }

  get size(): number {
    return this.live.size;
  }

  listen(token: string, listener: TokenListener): void {
    const entry = this.live.get(token);
    if (!entry) return;
    entry.listener = listener;
    const early = entry.early;
    if (early) {
      entry.early = undefined;
      if (early.kind === 'success') listener.succeed(early.output);
      else listener.fail(early.error, early.cause);
    }
  }

  unlisten(token: string): void {
    const entry = this.live.get(token);
    if (entry) entry.listener = undefined;
  }

  /** The task is over (completed, failed, timed out or aborted): the token no longer works. */
  close(token: string): void {
    if (!this.live.delete(token)) return;
    this.closed.add(token);
    if (this.closed.size > MAX_CLOSED) this.closed.delete(this.closed.values().next().value!);
  }

  succeed(token: string, output: unknown): void {
    this.complete(token, { kind: 'success', output });
  }

  fail(token: string, error: string, cause: string): void {
    this.complete(token, { kind: 'failure', error, cause });
  }

  heartbeat(token: string): void {
    this.entry(token).listener?.heartbeat();
  }

  private complete(token: string, outcome: Outcome): void {
    const entry = this.entry(token);
    if (entry.early) throw timedOut();
    if (!entry.listener) {
      entry.early = outcome;
      return;
    }
    const listener = entry.listener;
    entry.listener = undefined;
    // The task closes the token when it ends; until then a second completion is refused.
    entry.early = outcome;
    if (outcome.kind === 'success') listener.succeed(outcome.output);
    else listener.fail(outcome.error, outcome.cause);
  }

  private entry(token: string): LiveToken {
    if (typeof token !== 'string' || token.length === 0 || token.length > 2048)
      throw new AwsError('InvalidToken', 'Invalid Token: the task token is malformed');
    const entry = this.live.get(token);
    if (entry) return entry;
    if (this.closed.has(token)) throw timedOut();
    throw new AwsError(
      'InvalidToken',
      `Invalid Token: '${token.slice(0, 32)}...' was not issued by this local cloud (or it restarted since)`,
    );
  }
}

function timedOut(): AwsError {
  return new AwsError('TaskTimedOut', "Task Timed Out: 'Provided task does not exist anymore'");
}
