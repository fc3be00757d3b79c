/**
 * The Amazon States Language interpreter (JSONPath query language) that runs one execution:
 * Pass, Task, Choice, Wait, Succeed, Fail, Parallel and inline Map states, input/output
 * processing, Retry/Catch, task timeouts and heartbeats, the context object, and an execution
 * history shaped like GetExecutionHistory's.
 *
 * Time is the local cloud's virtual clock: Wait states, Retry intervals and timeouts are clock
 * timers, and timestamps come from `clock.now()`. Threads blocked on a timer or on the outside
 * world are not counted as runnable (see `Activity`), so advancing the clock by three days runs
 * a three-day Wait the same way as living it.
 */
import type { VirtualClock } from '../clock';
import { evaluateRule, parseTimestamp, type ChoiceRule } from './choice';
import { Interrupted, StatesError, errorMatches, runtimeError } from './errors';
import { taskTarget, type IntegrationHost, type TaskTarget } from './integrations';
import { applyResultPath, applyTemplate, evaluateExpression, selectPath } from './io';
import { isObject } from './jsonpath';
import { Scope, type Activity } from './scope';
import type { TaskTokens } from './tokens';

export type StateDefinition = Record<string, unknown> & { readonly Type: string };

export interface MachineDefinition {
  readonly StartAt: string;
  readonly States: Record<string, StateDefinition>;
  readonly TimeoutSeconds?: number;
  readonly QueryLanguage?: string;
  readonly Comment?: string;
}

/** Step Functions' limit on the size of a state's input or output. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;
/** Step Functions' limit on the events in one execution's history. */
export const MAX_HISTORY_EVENTS = 25_000;
/** State transitions between two yields to the event loop (a loop of Pass/Choice states never blocks the local cloud). */
const TRANSITIONS_PER_YIELD = 100;

export interface HistoryEvent {
  /** Epoch seconds (what the JSON protocol carries for timestamps). */
  readonly timestamp: number;
  readonly type: string;
  readonly id: number;
  readonly previousEventId: number;
  readonly [details: string]: unknown;
}

export class History {
  readonly events: HistoryEvent[] = [];
  private closed = false;

  constructor(private readonly now: () => number) {}

  /** Appends an event caused by `previous`; returns its id (ignored once the execution has ended). */
  add(type: string, previous: number, details: Record<string, unknown> = {}): number {
    if (this.closed) return previous;
    const id = this.events.length + 1;
    this.events.push({ timestamp: this.now() / 1000, type, id, previousEventId: previous, ...details });
    return id;
  }

  get lastId(): number {
    return this.events.length;
  }

  close(): void {
    this.closed = true;
  }
}

/** What an execution needs from the service running it. */
export interface Runtime {
  readonly clock: VirtualClock;
  readonly activity: Activity;
  readonly host: IntegrationHost;
  readonly tokens: TaskTokens;
  readonly log: (line: string) => void;
}

export interface ExecutionIdentity {
  readonly executionArn: string;
  readonly name: string;
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  readonly roleArn: string;
  readonly input: unknown;
  /** Epoch ms. */
  readonly startTime: number;
}

/** A thread of the execution: the scope it runs in and its last history event. */
interface Frame {
  readonly scope: Scope;
  last: number;
}

interface StateResult {
  readonly output: unknown;
  /** Undefined when the state ends its (sub-)machine. */
  readonly next?: string;
}

const STATE_TYPES = new Set(['Pass', 'Task', 'Choice', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map']);
const json = (value: unknown) => JSON.stringify(value) ?? 'null';
const iso = (ms: number) => new Date(ms).toISOString();

export class ExecutionRunner {
  private transitions = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly id: ExecutionIdentity,
    private readonly machine: MachineDefinition,
    readonly history: History,
    /** Aborted to stop the execution. */
    readonly scope: Scope,
  ) {}

  /** Runs the execution to its end: resolves with its output, rejects with a StatesError or Interrupted. */
  async run(): Promise<unknown> {
    const { clock } = this.rt;
    const timeout = this.machine.TimeoutSeconds;
    const timer =
      typeof timeout === 'number' && timeout > 0
        ? clock.setTimeout(
            timeout * 1000,
            () =>
              this.scope.abort(
                new Interrupted('timed-out', 'States.Timeout', `The execution ran longer than its TimeoutSeconds (${timeout} s)`),
              ),
            `Step Functions ${this.id.name} TimeoutSeconds`,
          )
        : undefined;
    try {
      return await this.runStates(this.machine, this.id.input, { scope: this.scope, last: this.history.lastId });
    } finally {
      clock.clearTimer(timer);
    }
  }

  private now(): number {
    return Math.floor(this.rt.clock.now());
  }

  private add(frame: Frame, type: string, details?: Record<string, unknown>): void {
    frame.last = this.history.add(type, frame.last, details);
  }

  private async runStates(machine: MachineDefinition, input: unknown, frame: Frame): Promise<unknown> {
    if (machine.QueryLanguage === 'JSONata')
      throw runtimeError('the JSONata query language is not supported by the local cloud (JSONPath only)');
    if (!isObject(machine.States)) throw runtimeError('the state machine (or a branch) has no States');
    let name = machine.StartAt;
    let value = input;
    for (;;) {
      if (++this.transitions % TRANSITIONS_PER_YIELD === 0) await new Promise((resolve) => setImmediate(resolve));
      frame.scope.check();
      if (this.history.events.length >= MAX_HISTORY_EVENTS) {
        throw runtimeError(`the execution reached the limit of ${MAX_HISTORY_EVENTS} history events`);
      }
      const state = machine.States[name];
      if (!isObject(state)) throw runtimeError(`the state ${JSON.stringify(name)} is not defined`);
      const result = await this.runState(name, state as StateDefinition, value, frame);
      if (result.next === undefined) return result.output;
      name = result.next;
      value = result.output;
    }
  }

  private async runState(name: string, state: StateDefinition, raw: unknown, frame: Frame): Promise<StateResult> {
    const type = state.Type;
    if (!STATE_TYPES.has(type)) throw runtimeError(`state ${name}: unknown state type ${JSON.stringify(type)}`);
    if (state.QueryLanguage === 'JSONata')
      throw runtimeError(`state ${name}: the JSONata query language is not supported by the local cloud`);
    if (state.Assign !== undefined) throw runtimeError(`state ${name}: Assign (workflow variables) is not supported by the local cloud`);
    const entered = this.now();
    this.add(frame, `${type}StateEntered`, { stateEnteredEventDetails: { name, input: json(raw), inputDetails: { truncated: false } } });
    let result: StateResult;
    switch (type) {
      case 'Pass':
        result = this.pass(name, state, raw, entered);
        break;
      case 'Task':
        result = await this.withRetry(name, state, raw, frame, (retryCount) => this.task(name, state, raw, frame, entered, retryCount));
        break;
      case 'Parallel':
        result = await this.withRetry(name, state, raw, frame, (retryCount) =>
          this.parallel(state, raw, frame, this.context(name, entered, retryCount)),
        );
        break;
      case 'Map':
        result = await this.withRetry(name, state, raw, frame, (retryCount) => this.map(name, state, raw, frame, entered, retryCount));
        break;
      case 'Choice':
        result = this.choice(name, state, raw, entered);
        break;
      case 'Wait':
        result = await this.wait(name, state, raw, frame, entered);
        break;
      case 'Succeed': {
        const context = this.context(name, entered, 0);
        result = { output: selectPath(state.OutputPath, selectPath(state.InputPath, raw, context, 'InputPath'), context, 'OutputPath') };
        break;
      }
      case 'Fail':
        throw this.fail(name, state, raw, entered);
      default:
        throw runtimeError(`state ${name}: unknown state type ${JSON.stringify(type)}`);
    }
    const output = json(result.output);
    if (Buffer.byteLength(output) > MAX_PAYLOAD_BYTES) {
      throw new StatesError(
        'States.DataLimitExceeded',
        `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit.`,
      );
    }
    this.add(frame, `${type}StateExited`, { stateExitedEventDetails: { name, output, outputDetails: { truncated: false } } });
    return result;
  }

  private next(name: string, state: StateDefinition): string | undefined {
    if (state.End === true) return undefined;
    if (typeof state.Next === 'string') return state.Next;
    throw runtimeError(`state ${name} has neither Next nor End`);
  }

  /** The context object (`$$`). */
  private context(stateName: string, entered: number, retryCount: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const { id } = this;
    return {
      Execution: {
        Id: id.executionArn,
        Input: id.input,
        Name: id.name,
        RoleArn: id.roleArn,
        StartTime: iso(id.startTime),
        RedriveCount: 0,
      },
      State: { EnteredTime: iso(entered), Name: stateName, RetryCount: retryCount },
      StateMachine: { Id: id.stateMachineArn, Name: id.stateMachineName },
      ...extra,
    };
  }

  // -----------------------------------------------------------------------------------------------
  // Pass, Choice, Wait, Fail

  private pass(name: string, state: StateDefinition, raw: unknown, entered: number): StateResult {
    const context = this.context(name, entered, 0);
    let effective = selectPath(state.InputPath, raw, context, 'InputPath');
    if (state.Parameters !== undefined) effective = applyTemplate(state.Parameters, effective, context);
    const result = 'Result' in state ? state.Result : effective;
    const output = selectPath(state.OutputPath, applyResultPath(raw, result, state.ResultPath), context, 'OutputPath');
    return { output, next: this.next(name, state) };
  }

  private choice(name: string, state: StateDefinition, raw: unknown, entered: number): StateResult {
    const context = this.context(name, entered, 0);
    const effective = selectPath(state.InputPath, raw, context, 'InputPath');
    const choices = Array.isArray(state.Choices) ? (state.Choices as ChoiceRule[]) : [];
    let next: string | undefined;
    for (const rule of choices) {
      if (evaluateRule(rule, effective, context)) {
        next = String(rule.Next);
        break;
      }
    }
    if (next === undefined) {
      if (typeof state.Default !== 'string') {
        throw new StatesError(
          'States.NoChoiceMatched',
          `No Choice Rules in state '${name}' matched the input, and the state has no Default.`,
        );
      }
      next = state.Default;
    }
    return { output: selectPath(state.OutputPath, effective, context, 'OutputPath'), next };
  }

  private async wait(name: string, state: StateDefinition, raw: unknown, frame: Frame, entered: number): Promise<StateResult> {
    const context = this.context(name, entered, 0);
    const effective = selectPath(state.InputPath, raw, context, 'InputPath');
    const now = this.rt.clock.now();
    let due: number;
    const seconds = (value: unknown, field: string) => {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw runtimeError(`Wait state ${name}: ${field} must be a non-negative number of seconds, got ${JSON.stringify(value)}`);
      }
      return now + value * 1000;
    };
    const timestamp = (value: unknown, field: string) => {
      const ms = parseTimestamp(value);
      if (ms === undefined)
        throw runtimeError(
          `Wait state ${name}: ${field} must be an RFC 3339 timestamp such as 2026-01-31T23:59:59Z, got ${JSON.stringify(value)}`,
        );
      return ms;
    };
    if (state.Seconds !== undefined) due = seconds(state.Seconds, 'Seconds');
    else if (state.Timestamp !== undefined) due = timestamp(state.Timestamp, 'Timestamp');
    else if (state.SecondsPath !== undefined)
      due = seconds(evaluateExpression(state.SecondsPath, effective, context, 'SecondsPath'), 'SecondsPath');
    else if (state.TimestampPath !== undefined)
      due = timestamp(evaluateExpression(state.TimestampPath, effective, context, 'TimestampPath'), 'TimestampPath');
    else throw runtimeError(`Wait state ${name} needs Seconds, Timestamp, SecondsPath or TimestampPath`);
    await this.sleepUntil(due, frame.scope, `Step Functions ${this.id.name} Wait ${name}`);
    return { output: selectPath(state.OutputPath, effective, context, 'OutputPath'), next: this.next(name, state) };
  }

  private fail(name: string, state: StateDefinition, raw: unknown, entered: number): StatesError {
    const context = this.context(name, entered, 0);
    const text = (field: 'Error' | 'Cause') => {
      const path = state[`${field}Path`];
      const value = path !== undefined ? evaluateExpression(path, raw, context, `${field}Path`) : state[field];
      if (value !== undefined && typeof value !== 'string')
        throw runtimeError(`Fail state ${name}: ${field}Path must select a string, got ${JSON.stringify(value)}`);
      return value ?? '';
    };
    return new StatesError(text('Error'), text('Cause'));
  }

  /** Blocks the thread on the virtual clock until `due` (epoch ms); not runnable meanwhile. */
  private sleepUntil(due: number, scope: Scope, label: string): Promise<void> {
    scope.check();
    if (due <= this.rt.clock.now()) return Promise.resolve();
    const { clock, activity } = this.rt;
    return activity.block<void>(scope, (resume) => {
      const handle = clock.setTimer(due, () => resume(), label);
      return () => clock.clearTimer(handle);
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Retry and Catch

  private async withRetry(
    name: string,
    state: StateDefinition,
    raw: unknown,
    frame: Frame,
    attempt: (retryCount: number) => Promise<unknown>,
  ): Promise<StateResult> {
    const retriers = (Array.isArray(state.Retry) ? state.Retry : []) as Array<Record<string, unknown>>;
    const catchers = (Array.isArray(state.Catch) ? state.Catch : []) as Array<Record<string, unknown>>;
    const attempts = retriers.map(() => 0);
    let retryCount = 0;
    for (;;) {
      let error: StatesError;
      try {
        return { output: await attempt(retryCount), next: this.next(name, state) };
      } catch (thrown) {
        error = this.asStatesError(thrown, name);
      }
      const index = retriers.findIndex((r) => errorMatches(stringList(r.ErrorEquals), error));
      const retrier = retriers[index];
      if (retrier && attempts[index]! < numberOr(retrier.MaxAttempts, 3)) {
        let delay = numberOr(retrier.IntervalSeconds, 1) * numberOr(retrier.BackoffRate, 2) ** attempts[index]!;
        if (typeof retrier.MaxDelaySeconds === 'number') delay = Math.min(delay, retrier.MaxDelaySeconds);
        if (retrier.JitterStrategy === 'FULL') delay = Math.random() * delay;
        attempts[index]!++;
        retryCount++;
        await this.sleepUntil(this.rt.clock.now() + delay * 1000, frame.scope, `Step Functions ${this.id.name} Retry ${name}`);
        continue;
      }
      const catcher = catchers.find((c) => errorMatches(stringList(c.ErrorEquals), error));
      if (!catcher) throw error;
      if (typeof catcher.Next !== 'string') throw runtimeError(`a Catch of state ${name} has no Next`);
      return { output: applyResultPath(raw, error.toOutput(), catcher.ResultPath), next: catcher.Next };
    }
  }

  private asStatesError(thrown: unknown, stateName: string): StatesError {
    if (thrown instanceof StatesError) return thrown;
    if (thrown instanceof Interrupted) throw thrown;
    this.rt.log(`Step Functions ${this.id.executionArn} state ${stateName}: internal error: ${(thrown as Error)?.stack ?? String(thrown)}`);
    return runtimeError(`internal error of the local cloud in state ${stateName}: ${(thrown as Error)?.message ?? String(thrown)}`);
  }

  // -----------------------------------------------------------------------------------------------
  // Task

  private async task(
    name: string,
    state: StateDefinition,
    raw: unknown,
    frame: Frame,
    entered: number,
    retryCount: number,
  ): Promise<unknown> {
    if (state.Credentials !== undefined) this.rt.log(`Step Functions state ${name}: Credentials are ignored locally`);
    const target = taskTarget(state.Resource, this.rt.host);
    const token = target.pattern === 'token' ? this.rt.tokens.create() : undefined;
    try {
      const context = this.context(name, entered, retryCount, token ? { Task: { Token: token } } : {});
      const effective = selectPath(state.InputPath, raw, context, 'InputPath');
      const parameters = state.Parameters !== undefined ? applyTemplate(state.Parameters, effective, context) : effective;
      const timeoutSeconds = this.optionalSeconds(state, 'TimeoutSeconds', effective, context);
      const heartbeatSeconds = this.optionalSeconds(state, 'HeartbeatSeconds', effective, context);
      const result = await this.invoke(target, parameters, frame, token, timeoutSeconds, heartbeatSeconds);
      return taskOutput(state, raw, result, context);
    } finally {
      if (token) this.rt.tokens.close(token);
    }
  }

  private optionalSeconds(
    state: StateDefinition,
    field: 'TimeoutSeconds' | 'HeartbeatSeconds',
    input: unknown,
    context: unknown,
  ): number | undefined {
    const value =
      state[`${field}Path`] !== undefined ? evaluateExpression(state[`${field}Path`], input, context, `${field}Path`) : state[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
      throw runtimeError(`${field} must be a positive integer, got ${JSON.stringify(value)}`);
    return value;
  }

  private async invoke(
    target: TaskTarget,
    parameters: unknown,
    frame: Frame,
    token: string | undefined,
    timeoutSeconds: number | undefined,
    heartbeatSeconds: number | undefined,
  ): Promise<unknown> {
    const { clock, activity, tokens, host } = this.rt;
    const scope = new Scope(frame.scope);
    const resource = { resourceType: target.resourceType, resource: target.resourceName };
    if (target.lambdaFunction) {
      this.add(frame, 'LambdaFunctionScheduled', {
        lambdaFunctionScheduledEventDetails: {
          resource: target.resourceName,
          input: json(parameters),
          inputDetails: { truncated: false },
          ...(timeoutSeconds ? { timeoutInSeconds: timeoutSeconds } : {}),
        },
      });
      this.add(frame, 'LambdaFunctionStarted');
    } else {
      this.add(frame, 'TaskScheduled', {
        taskScheduledEventDetails: {
          ...resource,
          region: host.model.region,
          parameters: json(parameters),
          ...(timeoutSeconds ? { timeoutInSeconds: timeoutSeconds } : {}),
          ...(heartbeatSeconds ? { heartbeatInSeconds: heartbeatSeconds } : {}),
        },
      });
      this.add(frame, 'TaskStarted', { taskStartedEventDetails: resource });
    }
    const label = `Step Functions ${this.id.name} ${target.resourceType}:${target.resourceName}`;
    const timeoutTimer = timeoutSeconds
      ? clock.setTimeout(
          timeoutSeconds * 1000,
          () => scope.abort(new StatesError('States.Timeout', `The task ran longer than its TimeoutSeconds (${timeoutSeconds} s)`)),
          `${label} TimeoutSeconds`,
        )
      : undefined;
    let heartbeatTimer: ReturnType<VirtualClock['setTimer']> | undefined;
    const armHeartbeat = () => {
      if (!heartbeatSeconds) return;
      clock.clearTimer(heartbeatTimer);
      heartbeatTimer = clock.setTimeout(
        heartbeatSeconds * 1000,
        () =>
          scope.abort(new StatesError('States.Timeout', `The task sent no heartbeat for ${heartbeatSeconds} s (HeartbeatSeconds)`, true)),
        `${label} HeartbeatSeconds`,
      );
    };
    try {
      let result: unknown;
      if (target.pattern === 'token') {
        armHeartbeat();
        // The request runs while the task already listens for its token: a function may call
        // SendTaskSuccess before it returns.
        const submitted = clock.track(target.request(parameters, scope));
        submitted.catch(() => {}); // reported through `fail` below, unless the task already ended
        let waiting = true;
        result = await activity.block<unknown>(scope, (resume, fail) => {
          tokens.listen(token!, {
            succeed: resume,
            fail: (error, cause) => fail(new StatesError(error, cause)),
            heartbeat: armHeartbeat,
          });
          submitted.then((response) => {
            if (waiting)
              this.add(frame, 'TaskSubmitted', {
                taskSubmittedEventDetails: { ...resource, output: json(response), outputDetails: { truncated: false } },
              });
          }, fail);
          return () => {
            waiting = false;
            tokens.unlisten(token!);
          };
        });
      } else {
        result = await target.request(parameters, scope);
        if (target.complete) {
          this.add(frame, 'TaskSubmitted', {
            taskSubmittedEventDetails: { ...resource, output: json(result), outputDetails: { truncated: false } },
          });
          const started = result;
          result = await activity.block<unknown>(scope, (resume, fail) => void target.complete!(started, scope).then(resume, fail));
        }
      }
      if (target.lambdaFunction) {
        this.add(frame, 'LambdaFunctionSucceeded', {
          lambdaFunctionSucceededEventDetails: { output: json(result), outputDetails: { truncated: false } },
        });
      } else {
        this.add(frame, 'TaskSucceeded', {
          taskSucceededEventDetails: { ...resource, output: json(result), outputDetails: { truncated: false } },
        });
      }
      return result;
    } catch (error) {
      if (error instanceof StatesError) {
        const details = { error: error.error, cause: error.cause };
        const timedOut = error.error === 'States.Timeout';
        if (target.lambdaFunction) {
          this.add(frame, timedOut ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed', {
            [timedOut ? 'lambdaFunctionTimedOutEventDetails' : 'lambdaFunctionFailedEventDetails']: details,
          });
        } else {
          this.add(frame, timedOut ? 'TaskTimedOut' : 'TaskFailed', {
            [timedOut ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails']: { ...resource, ...details },
          });
        }
      }
      throw error;
    } finally {
      clock.clearTimer(timeoutTimer);
      clock.clearTimer(heartbeatTimer);
      scope.dispose();
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Parallel and Map

  private async parallel(state: StateDefinition, raw: unknown, frame: Frame, context: Record<string, unknown>): Promise<unknown> {
    const effective = selectPath(state.InputPath, raw, context, 'InputPath');
    const input = state.Parameters !== undefined ? applyTemplate(state.Parameters, effective, context) : effective;
    const branches = (Array.isArray(state.Branches) ? state.Branches : []) as MachineDefinition[];
    const results = await this.fanOutState('Parallel', frame, undefined, branches.length, Infinity, (i, child) =>
      this.runStates(branches[i]!, input, child),
    );
    return taskOutput(state, raw, results, context);
  }

  private async map(
    name: string,
    state: StateDefinition,
    raw: unknown,
    frame: Frame,
    entered: number,
    retryCount: number,
  ): Promise<unknown> {
    const context = this.context(name, entered, retryCount);
    const processor = (state.ItemProcessor ?? state.Iterator) as (MachineDefinition & { ProcessorConfig?: { Mode?: string } }) | undefined;
    if (!isObject(processor)) throw runtimeError(`Map state ${name} has no ItemProcessor (or Iterator)`);
    if (processor.ProcessorConfig?.Mode === 'DISTRIBUTED')
      throw runtimeError(`Map state ${name}: distributed mode is not supported by the local cloud (inline only)`);
    for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter']) {
      if (state[field] !== undefined) throw runtimeError(`Map state ${name}: ${field} is not supported by the local cloud`);
    }
    const effective = selectPath(state.InputPath, raw, context, 'InputPath');
    const items = state.ItemsPath !== undefined ? selectPath(state.ItemsPath, effective, context, 'ItemsPath') : effective;
    if (!Array.isArray(items)) {
      throw runtimeError(`Map state ${name}: ItemsPath '${String(state.ItemsPath ?? '$')}' must select an array, got ${json(items)}`);
    }
    const concurrency =
      state.MaxConcurrencyPath !== undefined
        ? evaluateExpression(state.MaxConcurrencyPath, effective, context, 'MaxConcurrencyPath')
        : (state.MaxConcurrency ?? 0);
    if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 0) {
      throw runtimeError(`Map state ${name}: MaxConcurrency must be a non-negative integer, got ${json(concurrency)}`);
    }
    const selector = state.ItemSelector ?? state.Parameters;
    const started = { mapStateStartedEventDetails: { length: items.length } };
    const threads = concurrency === 0 ? Infinity : concurrency;
    const results = await this.fanOutState('Map', frame, started, items.length, threads, async (index, child) => {
      const itemContext = this.context(name, entered, retryCount, { Map: { Item: { Index: index, Value: items[index] } } });
      const input = selector !== undefined ? applyTemplate(selector, effective, itemContext) : items[index];
      this.add(child, 'MapIterationStarted', { mapIterationStartedEventDetails: { name, index } });
      try {
        const output = await this.runStates(processor, input, child);
        this.add(child, 'MapIterationSucceeded', { mapIterationSucceededEventDetails: { name, index } });
        return output;
      } catch (error) {
        if (error instanceof Interrupted) this.add(child, 'MapIterationAborted', { mapIterationAbortedEventDetails: { name, index } });
        else this.add(child, 'MapIterationFailed', { mapIterationFailedEventDetails: { name, index } });
        throw error;
      }
    });
    return taskOutput(state, raw, results, context);
  }

  /**
   * What Parallel and Map share around their fan-out: the state's Started event, then Failed (when
   * the states language failed it, not when it was interrupted) or Succeeded.
   */
  private async fanOutState(
    kind: 'Parallel' | 'Map',
    frame: Frame,
    started: Record<string, unknown> | undefined,
    n: number,
    concurrency: number,
    work: (index: number, frame: Frame) => Promise<unknown>,
  ): Promise<unknown[]> {
    this.add(frame, `${kind}StateStarted`, started);
    let results: unknown[];
    try {
      results = await this.fanOut(n, concurrency, frame, work);
    } catch (error) {
      if (error instanceof StatesError) this.add(frame, `${kind}StateFailed`);
      throw error;
    }
    this.add(frame, `${kind}StateSucceeded`);
    return results;
  }

  /**
   * Runs `work` for indexes 0..n-1 on up to `concurrency` threads; the first failure cancels the
   * others (as a failed branch or iteration fails the whole Parallel or Map) and is rethrown.
   */
  private async fanOut(
    n: number,
    concurrency: number,
    frame: Frame,
    work: (index: number, frame: Frame) => Promise<unknown>,
  ): Promise<unknown[]> {
    const results = new Array<unknown>(n);
    if (n === 0) return results;
    const { activity } = this.rt;
    const group = new Scope(frame.scope);
    let nextIndex = 0;
    let failure: { error: unknown } | undefined;
    const worker = async () => {
      while (nextIndex < n && !failure && !group.reason) {
        const index = nextIndex++;
        try {
          results[index] = await work(index, { scope: group, last: frame.last });
        } catch (error) {
          if (!failure) {
            failure = { error };
            group.abort(new Interrupted('cancelled'));
          }
          return;
        }
      }
    };
    const threads: Promise<void>[] = [];
    for (let i = 0; i < Math.min(n, concurrency); i++) threads.push(activity.spawn(worker));
    try {
      await activity.wait(Promise.all(threads));
    } finally {
      group.dispose();
    }
    frame.last = this.history.lastId;
    if (failure) throw failure.error;
    frame.scope.check();
    return results;
  }
}

/** A Task's, Parallel's or Map's output from its result: ResultSelector, then ResultPath, then OutputPath. */
function taskOutput(state: StateDefinition, raw: unknown, result: unknown, context: Record<string, unknown>): unknown {
  const selected = state.ResultSelector !== undefined ? applyTemplate(state.ResultSelector, result, context) : result;
  return selectPath(state.OutputPath, applyResultPath(raw, selected, state.ResultPath), context, 'OutputPath');
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}
