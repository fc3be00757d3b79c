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
/** Lambda's init phase limit for on-demand functions. */
const INIT_TIMEOUT_MS = 10_000;

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
  readonly ready: Promise<LambdaError | undefined>;
  busy: boolean;
  onMessage?: (message: WorkerMessage) => void;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: LambdaError }
  | { type: 'log'; fd: 1 | 2; text: string }
  | { type: 'result'; id: number; ok: true; payload: string }
  | { type: 'result'; id: number; ok: false; error: LambdaError }
  | { type: 'crash'; id?: number; error: LambdaError };

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
    const result = new Promise<InvokeResult>((resolve) => {
      this.queue.push({ eventJson: JSON.stringify(event ?? null), resolve });
      this.dispatch();
    });
    return this.options.clock ? this.options.clock.track(result) : result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.environments].map((e) => e.worker.terminate()));
    this.environments.clear();
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.stopped) {
      let env = [...this.environments].find((e) => !e.busy);
      if (!env) {
        if (this.environments.size >= this.maxWorkers) return; // queued until one frees up
        env = this.spawn();
      }
      const pending = this.queue.shift()!;
      void this.run(env, pending);
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
    let settleReady!: (error: LambdaError | undefined) => void;
    const handle: EnvironmentHandle = {
      worker,
      busy: false,
      ready: new Promise((r) => (settleReady = r)),
    };
    const initTimer = setTimeout(
      () => settleReady({ errorType: 'Runtime.InitTimeout', errorMessage: `Init phase exceeded ${INIT_TIMEOUT_MS / 1000} seconds` }),
      INIT_TIMEOUT_MS,
    );
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'log') return this.log(message.fd, message.text);
      if (message.type === 'ready' || message.type === 'init-error') {
        clearTimeout(initTimer);
        settleReady(message.type === 'ready' ? undefined : message.error);
        return;
      }
      handle.onMessage?.(message);
    });
    worker.on('error', (error) => {
      // Out-of-memory and other fatal worker errors end the environment, like a Lambda crash.
      clearTimeout(initTimer);
      const err: LambdaError = {
        errorType: (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
        errorMessage: `RequestId: unknown Error: Runtime exited with error: ${error.message}`,
      };
      settleReady(err);
      handle.onMessage?.({ type: 'crash', error: err });
    });
    worker.on('exit', () => {
      clearTimeout(initTimer);
      this.environments.delete(handle);
      settleReady({ errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited during init' });
      handle.onMessage?.({ type: 'crash', error: { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited without providing a reason' } });
      this.dispatch();
    });
    this.environments.add(handle);
    return handle;
  }

  private async run(env: EnvironmentHandle, pending: Pending): Promise<void> {
    env.busy = true;
    const requestId = randomUUID();
    const initError = await env.ready;
    if (initError) {
      // Lambda discards an environment whose init failed and tries a fresh one next time.
      this.discard(env);
      pending.resolve(this.failure(requestId, initError.errorType, initError.errorMessage, 'Unhandled', initError.stackTrace));
      return;
    }
    const id = this.nextId++;
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const deadline = performance.timeOrigin + performance.now() + timeoutMs;
    const result = await new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => {
        const message = `${new Date().toISOString()} ${requestId} Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`;
        this.log(2, `${message}\n`);
        this.discard(env);
        resolve({ ...this.failure(requestId, 'Sandbox.Timedout', message, 'Unhandled'), timedOut: true });
      }, timeoutMs);
      env.onMessage = (message) => {
        if (message.type === 'result' && message.id === id) {
          clearTimeout(timer);
          resolve(
            message.ok
              ? { ok: true, payload: message.payload, requestId }
              : this.failure(requestId, message.error.errorType, message.error.errorMessage, 'Handled', message.error.stackTrace),
          );
        } else if (message.type === 'crash') {
          clearTimeout(timer);
          this.log(2, `${requestId} ${message.error.errorType}: ${message.error.errorMessage}\n`);
          this.discard(env);
          resolve(this.failure(requestId, message.error.errorType, message.error.errorMessage, 'Unhandled', message.error.stackTrace));
        }
      };
      env.worker.postMessage({ type: 'invoke', id, requestId, eventJson: pending.eventJson, deadline });
    });
    env.onMessage = undefined;
    if (this.environments.has(env)) env.busy = false;
    pending.resolve(result);
    this.dispatch();
  }

  private discard(env: EnvironmentHandle): void {
    env.onMessage = undefined;
    this.environments.delete(env);
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
    if (this.options.log) return this.options.log(this.spec.name, fd, text);
    const tag = `[${this.spec.displayName}] `;
    const lines = text.endsWith('\n') ? text.slice(0, -1) : text;
    (fd === 1 ? process.stdout : process.stderr).write(`${tag}${lines.split('\n').join(`\n${tag}`)}\n`);
  }
}
