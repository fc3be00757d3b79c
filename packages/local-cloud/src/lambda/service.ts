/**
 * The local Lambda service: each function runs its staged bundle in long-lived worker threads
 * (one invocation per worker at a time, like a Lambda execution environment), with its own
 * environment, heap limit and timeout. Concurrent invocations get more workers up to a limit;
 * beyond it they queue (or are throttled when reserved concurrency says so).
 */
import { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { CloudModel } from '../model';
import type { VirtualClock } from '../clock';
import { functionSpecs, type FunctionSpec } from './functions';

const BOOTSTRAP = fileURLToPath(new URL('./worker.mjs', import.meta.url));
/**
 * Past the environment limit, invocations are handed only to environments whose current
 * invocation started less than this long ago, and one handed over that still waits this long is
 * taken back: later arrivals never overtake it by much more than this.
 */
const STALE_HANDOVER_MS = 100;
/**
 * Lambda's init phase limit for on-demand functions. An init that takes longer does not fail the
 * invocation: Lambda retries it within the first invocation, under the function's own timeout
 * ("Understanding the Lambda execution environment lifecycle", Init phase). Here the init goes on
 * and the invocation's timeout starts at this mark; it fails only past that timeout.
 */
export const INIT_TIMEOUT_MS = 10_000;

export interface LambdaError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace?: string[];
}

export interface InvokeSuccess {
  readonly ok: true;
  /** The handler's result, JSON-serialized as Lambda returns it. */
  readonly payload: string;
  readonly requestId: string;
}

export interface InvokeFailure {
  readonly ok: false;
  readonly error: LambdaError;
  readonly requestId: string;
  /** `Unhandled` for crashes, timeouts and init failures, as the Lambda Invoke API reports them. */
  readonly functionError: 'Handled' | 'Unhandled';
  readonly timedOut?: boolean;
}

export type InvokeResult = InvokeSuccess | InvokeFailure;

export interface LambdaServiceOptions {
  /** The shared virtual clock: handlers see it as `Date`, and invocations count as work in flight. */
  readonly clock?: VirtualClock;
  /** Variables every function gets (service endpoints, credentials, region). */
  readonly baseEnvironment: () => Record<string, string>;
  /** PEM of a CA the functions must trust (the local cloud's TLS endpoints). */
  readonly caPem?: string;
  /** Most workers one function may have at once. @default 8 */
  readonly maxWorkersPerFunction?: number;
  /**
   * Scheduling niceness of worker threads relative to the local cloud's own (Linux). Under load on
   * a 2-core machine, 10 raised HTTP throughput through a function by about a quarter. 0 = equal.
   * @default 10
   */
  readonly workerNiceness?: number;
  /** Where function output goes. @default tagged lines on the process's stdout/stderr */
  readonly log?: (functionName: string, fd: 1 | 2, text: string) => void;
}

export class LambdaService {
  readonly functions: ReadonlyMap<string, LocalFunction>;
  /** Every way a function is referred to (name, ARN, `Stack/LogicalId`) → the function: `get` is on hot paths. */
  private readonly byReference = new Map<string, LocalFunction>();

  constructor(
    private readonly model: CloudModel,
    private readonly options: LambdaServiceOptions,
  ) {
    const map = new Map<string, LocalFunction>();
    for (const spec of functionSpecs(model)) {
      const fn = new LocalFunction(spec, this.model, this.options);
      map.set(spec.name, fn);
      for (const key of [spec.name, spec.arn, spec.resource.where]) this.byReference.set(key, fn);
    }
    this.functions = map;
  }

  /** A function by name, ARN (also qualified `:$LATEST`), `Stack/LogicalId`, or API Gateway integration URI. */
  get(nameOrArn: string): LocalFunction | undefined {
    const found = this.byReference.get(nameOrArn);
    if (found) return found;
    // API Gateway integration URIs wrap the ARN: arn:aws:apigateway:...:lambda:path/2015-03-31/functions/ARN/invocations
    const wrapped = /functions\/(arn:[^/]+)\/invocations/.exec(nameOrArn);
    return this.byReference.get((wrapped ? wrapped[1]! : nameOrArn).replace(/:\$LATEST$/, ''));
  }

  async invoke(nameOrArn: string, event: unknown): Promise<InvokeResult> {
    const fn = this.get(nameOrArn);
    if (!fn) throw new Error(`Function not found: ${nameOrArn}`);
    return fn.invoke(event);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.functions.values()].map((f) => f.stop()));
  }
}

interface Pending {
  readonly eventJson: string;
  readonly resolve: (result: InvokeResult) => void;
}

interface EnvironmentHandle {
  readonly worker: Worker;
  /** Settles when init has finished: with its error, if it failed. */
  readonly ready: Promise<LambdaError | undefined>;
  init: 'running' | 'done' | 'failed';
  busy: boolean;
  /** The invocation running in this environment. */
  current?: Invocation;
  /** An invocation handed over while `current` runs, started by the worker as soon as `current` ends. */
  next?: Invocation;
  /** A `revoke` of `next` is on its way. */
  revoking?: boolean;
}

interface Invocation {
  readonly id: number;
  readonly requestId: string;
  readonly pending: Pending;
  timer?: NodeJS.Timeout;
  /** When it was sent to the worker (`performance.now()`). */
  readonly postedAt: number;
  /** When it became the environment's current invocation (`performance.now()`). */
  startedAt?: number;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: LambdaError }
  | { type: 'log'; fd: 1 | 2; text: string }
  | { type: 'result'; id: number; ok: true; payload: string }
  | { type: 'result'; id: number; ok: false; error: LambdaError }
  | { type: 'crash'; id?: number; error: LambdaError }
  | { type: 'revoked'; id: number };

export class LocalFunction {
  private readonly environments = new Set<EnvironmentHandle>();
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private stopped = false;
  private readonly maxWorkers: number;
  private environmentVariables?: Record<string, string>;

  constructor(
    readonly spec: FunctionSpec,
    private readonly model: CloudModel,
    private readonly options: LambdaServiceOptions,
  ) {
    this.maxWorkers = Math.max(1, Math.min(options.maxWorkersPerFunction ?? 8, spec.reservedConcurrency ?? Infinity));
  }

  /** Number of execution environments currently alive (for tests and metrics). */
  get environmentCount(): number {
    return this.environments.size;
  }

  invoke(event: unknown): Promise<InvokeResult> {
    if (this.spec.reservedConcurrency === 0) {
      return Promise.resolve(this.failure(randomUUID(), 'TooManyRequestsException', 'Rate Exceeded.', 'Unhandled'));
    }
    const clock = this.options.clock;
    clock?.begin();
    return new Promise<InvokeResult>((resolve) => {
      this.queue.push({
        eventJson: JSON.stringify(event ?? null),
        resolve: clock
          ? (result) => {
              clock.end();
              resolve(result);
            }
          : resolve,
      });
      this.dispatch();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.environments].map((e) => e.worker.terminate()));
    this.environments.clear();
  }

  /**
   * Hands queued invocations to execution environments: an idle one first, then a new one (up to
   * the limit). Past the limit an invocation would wait anyway, so it is handed to a busy
   * environment as its next one: that environment then goes straight from one invocation to the
   * next without sleeping, which on a small machine is most of the cost of an invocation. Should
   * another environment free up first, the handed-over invocation is taken back (`revoke`): at
   * once when nothing else waits, after `STALE_HANDOVER_MS` otherwise.
   */
  private dispatch(): void {
    while (this.queue.length > 0 && !this.stopped) {
      const idle = this.idleEnvironment();
      if (idle) {
        this.run(idle, this.queue.shift()!);
      } else if (this.environments.size < this.maxWorkers) {
        this.run(this.spawn(), this.queue.shift()!);
      } else {
        const busy = this.handoverCandidate();
        if (!busy) break; // queued until an environment frees up
        busy.next = this.post(busy, this.queue.shift()!);
      }
    }
    this.revokeWaiting();
  }

  private idleEnvironment(): EnvironmentHandle | undefined {
    for (const env of this.environments) if (!env.busy) return env;
    return undefined;
  }

  /**
   * A busy environment that has finished its init, holds no next invocation yet, and whose current
   * invocation started less than `STALE_HANDOVER_MS` ago (a long one would hold the next back).
   */
  private handoverCandidate(): EnvironmentHandle | undefined {
    const now = performance.now();
    for (const env of this.environments) {
      if (env.busy && env.init === 'done' && env.current && !env.next && now - env.current.startedAt! < STALE_HANDOVER_MS) return env;
    }
    return undefined;
  }

  /**
   * Asks for handed-over invocations back: one when an environment is free and nothing else waits
   * (it would otherwise wait for nothing), and any that has waited `STALE_HANDOVER_MS` (its
   * environment's invocation is a long one: back at the front of the queue, it goes to whichever
   * environment is next to be free, and later arrivals do not overtake it for long).
   */
  private revokeWaiting(): void {
    const now = performance.now();
    let one = this.queue.length === 0 && this.idleEnvironment() !== undefined;
    for (const env of this.environments) {
      const next = env.next;
      if (!next || env.revoking) continue;
      if (one || now - next.postedAt >= STALE_HANDOVER_MS) {
        env.revoking = true;
        env.worker.postMessage({ type: 'revoke', id: next.id });
        one = false;
      }
    }
  }

  private spawn(): EnvironmentHandle {
    this.environmentVariables ??= this.buildEnvironment();
    const worker = new Worker(BOOTSTRAP, {
      env: this.environmentVariables,
      execArgv: [],
      workerData: {
        taskRoot: this.spec.taskRoot,
        handler: this.spec.handler,
        functionName: this.spec.name,
        functionArn: this.spec.arn,
        memoryMb: this.spec.memoryMb,
        caPem: this.options.caPem,
        clock: this.options.clock?.shared,
        niceness: this.options.workerNiceness ?? 10,
        sourceMaps: (this.environmentVariables.NODE_OPTIONS ?? '').includes('--enable-source-maps'),
      },
      resourceLimits: { maxOldGenerationSizeMb: this.spec.memoryMb },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    let resolveReady!: (error: LambdaError | undefined) => void;
    const handle: EnvironmentHandle = {
      worker,
      init: 'running',
      busy: false,
      ready: new Promise((r) => (resolveReady = r)),
    };
    const settleReady = (error: LambdaError | undefined) => {
      if (handle.init !== 'running') return;
      handle.init = error ? 'failed' : 'done';
      resolveReady(error);
    };
    worker.on('message', (message: WorkerMessage | string) => {
      if (typeof message === 'string') {
        // A successful result, `id \t payload` (see worker.mjs).
        const tab = message.indexOf('\t');
        return this.settle(handle, { type: 'result', id: Number(message.slice(0, tab)), ok: true, payload: message.slice(tab + 1) });
      }
      if (message.type === 'log') return this.log(message.fd, message.text);
      if (message.type === 'ready' || message.type === 'init-error') {
        settleReady(message.type === 'ready' ? undefined : message.error);
        return;
      }
      this.settle(handle, message);
    });
    worker.on('error', (error) => {
      // Out-of-memory and other fatal worker errors end the environment, like a Lambda crash.
      const err: LambdaError = {
        errorType: (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
        errorMessage: `RequestId: unknown Error: Runtime exited with error: ${error.message}`,
      };
      settleReady(err);
      this.settle(handle, { type: 'crash', error: err });
    });
    worker.on('exit', () => {
      this.environments.delete(handle);
      settleReady({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited during init' });
      this.settle(handle, {
        type: 'crash',
        error: { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited without providing a reason' },
      });
      this.dispatch();
    });
    this.environments.add(handle);
    return handle;
  }

  /**
   * Runs `pending` in `env` once its init has finished (at once when it already has). An init gets
   * `INIT_TIMEOUT_MS`; past it, as Lambda retries the init within the invocation, the invocation's
   * own timeout starts, and what is left of it when the init ends is what the handler gets. Time
   * before that (the init's 10 s, a queue) is never the function's execution time.
   */
  private run(env: EnvironmentHandle, pending: Pending): void {
    env.busy = true;
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    if (env.init === 'done') {
      this.begin(env, this.post(env, pending, timeoutMs), timeoutMs);
      return;
    }
    let invokePhaseFrom: number | undefined;
    let timedOut = false;
    let invokeTimer: NodeJS.Timeout | undefined;
    const initTimer = setTimeout(() => {
      invokePhaseFrom = performance.now();
      invokeTimer = setTimeout(() => {
        timedOut = true;
        const requestId = randomUUID();
        const message = `${new Date().toISOString()} ${requestId} Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`;
        this.log(2, `${message} (init went on past ${INIT_TIMEOUT_MS / 1000} s and then past the function's timeout)\n`);
        this.discard(env);
        pending.resolve({ ...this.failure(requestId, 'Sandbox.Timedout', message, 'Unhandled'), timedOut: true });
        this.dispatch();
      }, timeoutMs);
    }, INIT_TIMEOUT_MS);
    void env.ready.then((initError) => {
      clearTimeout(initTimer);
      clearTimeout(invokeTimer);
      if (timedOut) return;
      if (!initError) {
        const left = invokePhaseFrom === undefined ? timeoutMs : Math.max(1, timeoutMs - (performance.now() - invokePhaseFrom));
        return this.begin(env, this.post(env, pending, left), left);
      }
      // Lambda discards an environment whose init failed and tries a fresh one next time.
      this.discard(env);
      pending.resolve(this.failure(randomUUID(), initError.errorType, initError.errorMessage, 'Unhandled', initError.stackTrace));
    });
  }

  /** Sends an invocation to the environment's worker, which runs it when it is done with the one before. */
  private post(env: EnvironmentHandle, pending: Pending, timeoutMs = this.spec.timeoutSeconds * 1000): Invocation {
    const invocation: Invocation = { id: this.nextId++, requestId: randomUUID(), pending, postedAt: performance.now() };
    // One string (see worker.mjs): copied across threads, not serialized field by field.
    env.worker.postMessage(`${invocation.id}\t${invocation.requestId}\t${Math.round(timeoutMs)}\t${pending.eventJson}`);
    return invocation;
  }

  /** The invocation is now the one running in `env`: its timeout starts (`timeoutMs`: what is left of it). */
  private begin(env: EnvironmentHandle, invocation: Invocation, timeoutMs = this.spec.timeoutSeconds * 1000): void {
    env.current = invocation;
    invocation.startedAt = performance.now();
    invocation.timer = setTimeout(() => {
      const message = `${new Date().toISOString()} ${invocation.requestId} Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`;
      this.log(2, `${message}\n`);
      this.discard(env);
      this.finish(env, { ...this.failure(invocation.requestId, 'Sandbox.Timedout', message, 'Unhandled'), timedOut: true });
    }, timeoutMs);
  }

  /** A message from the environment's worker about its invocations. */
  private settle(env: EnvironmentHandle, message: WorkerMessage): void {
    if (message.type === 'revoked') {
      if (env.next?.id !== message.id) return;
      this.queue.unshift(env.next.pending); // it was first in line when it was handed over
      env.next = undefined;
      env.revoking = false;
      this.dispatch();
      return;
    }
    const current = env.current;
    if (!current) return;
    if (message.type === 'result' && message.id === current.id) {
      this.finish(
        env,
        message.ok
          ? { ok: true, payload: message.payload, requestId: current.requestId }
          : this.failure(current.requestId, message.error.errorType, message.error.errorMessage, 'Handled', message.error.stackTrace),
      );
    } else if (message.type === 'crash') {
      this.log(2, `${current.requestId} ${message.error.errorType}: ${message.error.errorMessage}\n`);
      this.discard(env);
      this.finish(
        env,
        this.failure(current.requestId, message.error.errorType, message.error.errorMessage, 'Unhandled', message.error.stackTrace),
      );
    }
  }

  /** Ends the running invocation with `result`; the environment starts its next one, if it holds one. */
  private finish(env: EnvironmentHandle, result: InvokeResult): void {
    const done = env.current!;
    clearTimeout(done.timer);
    env.current = undefined;
    const next = env.next;
    env.next = undefined;
    env.revoking = false;
    if (next) this.begin(env, next);
    else if (this.environments.has(env)) env.busy = false;
    done.pending.resolve(result);
    this.dispatch();
  }

  /** Ends an environment; an invocation it held but had not started goes back to the front of the queue. */
  private discard(env: EnvironmentHandle): void {
    this.environments.delete(env);
    if (env.next) this.queue.unshift(env.next.pending);
    env.next = undefined;
    void env.worker.terminate();
  }

  private failure(
    requestId: string,
    errorType: string,
    errorMessage: string,
    functionError: 'Handled' | 'Unhandled',
    stackTrace?: string[],
  ): InvokeFailure {
    return { ok: false, requestId, functionError, error: { errorType, errorMessage, stackTrace } };
  }

  private buildEnvironment(): Record<string, string> {
    const { spec, model } = this;
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      // The declared runtime (nodejs22.x) would not warn; only the local Node version would.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...this.options.baseEnvironment(),
      AWS_REGION: model.region,
      AWS_DEFAULT_REGION: model.region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${spec.name}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      LAMBDA_TASK_ROOT: spec.taskRoot,
      _HANDLER: spec.handler,
      ...model.localize(spec.environment),
    };
  }

  private log(fd: 1 | 2, text: string): void {
    if (this.options.log) {
      this.options.log(this.spec.name, fd, text);
      return;
    }
    const tag = `[${this.spec.displayName}] `;
    const lines = text.endsWith('\n') ? text.slice(0, -1) : text;
    (fd === 1 ? process.stdout : process.stderr).write(`${tag}${lines.split('\n').join(`\n${tag}`)}\n`);
  }
}
