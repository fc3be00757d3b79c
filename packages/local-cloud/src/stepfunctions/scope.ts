/**
 * Cancellation and idleness bookkeeping for running executions.
 *
 * A `Scope` is aborted when its execution is stopped or times out, when a sibling Parallel branch
 * or Map iteration fails, or when a Task's timeout fires; everything waiting inside it stops.
 *
 * `Activity` counts the execution threads (an execution, a Parallel branch, a Map iteration) that
 * can make progress right now. A thread blocked on the virtual clock (Wait, Retry interval, a
 * timeout) or on the outside world (a task token, a child execution) is not counted, so the local
 * cloud can tell when it has settled and the clock may move to the next timer.
 */
export class Scope {
  private abortReason?: Error;
  private readonly listeners = new Set<(reason: Error) => void>();
  private readonly detach?: () => void;

  constructor(parent?: Scope) {
    if (parent) this.detach = parent.onAbort((reason) => this.abort(reason));
  }

  get reason(): Error | undefined {
    return this.abortReason;
  }

  abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener(reason);
  }

  /** Calls `listener` once when aborted (at once if already aborted); returns an unsubscribe. */
  onAbort(listener: (reason: Error) => void): () => void {
    if (this.abortReason) {
      listener(this.abortReason);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Throws the abort reason, if any. */
  check(): void {
    if (this.abortReason) throw this.abortReason;
  }

  /** Stops listening to the parent (call when the work of this scope is over). */
  dispose(): void {
    this.detach?.();
    this.listeners.clear();
  }

  /** Resolves or rejects with `work`, or rejects as soon as this scope is aborted. */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const off = this.onAbort(reject);
      work.then(
        (value) => {
          off();
          resolve(value);
        },
        (error: unknown) => {
          off();
          reject(error);
        },
      );
    });
  }
}

export class Activity {
  private runnable = 0;

  get idle(): boolean {
    return this.runnable <= 0;
  }

  get count(): number {
    return this.runnable;
  }

  /** Runs `work` as a new runnable thread. */
  spawn<T>(work: () => Promise<T>): Promise<T> {
    this.runnable++;
    let promise: Promise<T>;
    try {
      promise = work();
    } catch (error) {
      promise = Promise.reject(error);
    }
    return promise.finally(() => this.runnable--);
  }

  /**
   * Blocks the current thread, not counted as runnable, until `start`'s resume/fail is called or
   * `scope` is aborted. The count goes back up in the same call that resumes the thread, so there
   * is no moment where the local cloud looks settled while the thread is about to continue.
   * `start` returns a cleanup function (e.g. clearing a timer), or undefined when it needs none.
   */
  block<T>(scope: Scope, start: (resume: (value: T) => void, fail: (error: unknown) => void) => (() => void) | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (scope.reason) return reject(scope.reason);
      this.runnable--;
      let done = false;
      let cleanup: (() => void) | undefined;
      let off: (() => void) | undefined;
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        this.runnable++;
        off?.();
        if (cleanup) cleanup();
        settle();
      };
      try {
        cleanup = start(
          (value) => finish(() => resolve(value)),
          (error) => finish(() => reject(error)),
        );
      } catch (error) {
        finish(() => reject(error));
      }
      if (done && cleanup) cleanup();
      if (!done) off = scope.onAbort((reason) => finish(() => reject(reason)));
    });
  }

  /** Awaits `work` (done by other threads) without counting the current thread as runnable. */
  async wait<T>(work: Promise<T>): Promise<T> {
    this.runnable--;
    try {
      return await work;
    } finally {
      this.runnable++;
    }
  }
}
