/**
 * The local Step Functions service: state machines from the template (`AWS::StepFunctions::StateMachine`,
 * their CDK-synthesized ASL with `Fn::Join`/`Ref` pieces resolved, `DefinitionSubstitutions`
 * applied) and from CreateStateMachine, executions in memory, and the API the real
 * `@aws-sdk/client-sfn` speaks (JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`):
 * StartExecution (idempotent by name), StartSyncExecution, DescribeExecution, StopExecution,
 * ListExecutions, GetExecutionHistory, DescribeStateMachine(ForExecution), ListStateMachines,
 * Create/DeleteStateMachine, SendTaskSuccess/Failure/Heartbeat.
 *
 * Registered as the target for `arn:aws:states:` ARNs, so rules and schedules start executions.
 * Whatever a definition uses that the local cloud cannot run is reported at start-up.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsError, type JsonService, type RequestContext } from '../aws-protocol';
import type { ServiceContext } from '../context';
import type { ModelResource } from '../model';
import { Interrupted, StatesError } from './errors';
import {
  ExecutionRunner,
  History,
  MAX_PAYLOAD_BYTES,
  type HistoryEvent,
  type MachineDefinition,
  type Runtime,
  type StateDefinition,
} from './interpreter';
import { ignoredParameters, unsupportedResource, type ExecutionSummary, type IntegrationHost } from './integrations';
import { isObject } from './jsonpath';
import { Activity, Scope } from './scope';
import { TaskTokens } from './tokens';

export interface StepFunctionsOptions {
  /** DynamoDB Local's endpoint, for the `dynamodb:*Item` integrations (also settable later). */
  readonly dynamodbEndpoint?: string;
}

type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

interface StateMachineRecord {
  readonly arn: string;
  readonly name: string;
  readonly type: 'STANDARD' | 'EXPRESS';
  /** The ASL text as DescribeStateMachine returns it. */
  readonly definition: string;
  readonly parsed?: MachineDefinition;
  /** Why the definition cannot run (invalid JSON, ...): its executions fail with this cause. */
  readonly problem?: string;
  readonly roleArn: string;
  readonly creationDate: number;
}

interface ExecutionRecord {
  readonly executionArn: string;
  readonly machine: StateMachineRecord;
  readonly name: string;
  readonly input: string;
  readonly startDate: number;
  status: ExecutionStatus;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: History;
  readonly scope: Scope;
  readonly finished: Promise<ExecutionSummary>;
  readonly resolveFinished: (summary: ExecutionSummary) => void;
  run?: Promise<void>;
}

const STATUSES = new Set<ExecutionStatus>(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
/** AWS: 1-80 characters, none of whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS's name rule excludes the control characters, so the class lists them on purpose
const VALID_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

const seconds = (ms: number) => ms / 1000;

export class StepFunctionsService {
  readonly jsonService: JsonService;
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly activity = new Activity();
  private readonly tokens = new TaskTokens();
  private readonly runtime: Runtime;
  private dynamodbEndpoint?: string;
  private dynamodbClient?: DynamoDBClient;
  private started = false;

  constructor(
    private readonly context: ServiceContext,
    options: StepFunctionsOptions = {},
  ) {
    this.dynamodbEndpoint = options.dynamodbEndpoint;
    const host: IntegrationHost = {
      model: context.model,
      targets: context.targets,
      lambda: context.lambda,
      dynamodb: () => this.dynamodb(),
      startExecution: (arn, input, name) => this.startExecution(arn, input, name),
      whenDone: (arn) => this.execution(arn).finished,
      stopExecution: (arn, error, cause) => void this.stopExecution(arn, error, cause),
    };
    this.runtime = { clock: context.clock, activity: this.activity, host, tokens: this.tokens, log: context.log };
    for (const resource of context.model.ofType('AWS::StepFunctions::StateMachine')) this.loadFromTemplate(resource);
    this.jsonService = {
      targetPrefix: 'AWSStepFunctions',
      contentType: 'application/x-amz-json-1.0',
      operations: {
        StartExecution: (input) => this.apiStartExecution(input),
        StartSyncExecution: (input) => this.apiStartSyncExecution(input),
        DescribeExecution: (input) => this.describeExecution(this.execution(requiredString(input, 'executionArn'))),
        StopExecution: (input) =>
          this.stopExecution(requiredString(input, 'executionArn'), optionalString(input, 'error'), optionalString(input, 'cause')),
        ListExecutions: (input) => this.listExecutions(input),
        GetExecutionHistory: (input) => this.getExecutionHistory(input),
        DescribeStateMachine: (input) => this.describeStateMachine(this.machine(requiredString(input, 'stateMachineArn'))),
        DescribeStateMachineForExecution: (input) => {
          const execution = this.execution(requiredString(input, 'executionArn'));
          const { status: _status, ...description } = this.describeStateMachine(execution.machine);
          return { ...description, updateDate: description.creationDate };
        },
        ListStateMachines: (input) => this.listStateMachines(input),
        CreateStateMachine: (input, ctx) => this.createStateMachine(input, ctx),
        DeleteStateMachine: (input) => {
          this.machine(requiredString(input, 'stateMachineArn'));
          this.machines.delete(String(input.stateMachineArn));
          return {};
        },
        SendTaskSuccess: (input) => {
          const output = requiredString(input, 'output');
          let value: unknown;
          try {
            value = JSON.parse(output);
          } catch {
            throw new AwsError('InvalidOutput', `Invalid Output: '${output.slice(0, 100)}' is not valid JSON`);
          }
          this.tokens.succeed(requiredString(input, 'taskToken'), value);
          return {};
        },
        SendTaskFailure: (input) => {
          this.tokens.fail(requiredString(input, 'taskToken'), optionalString(input, 'error') ?? '', optionalString(input, 'cause') ?? '');
          return {};
        },
        SendTaskHeartbeat: (input) => {
          this.tokens.heartbeat(requiredString(input, 'taskToken'));
          return {};
        },
      },
    };
  }

  /** Registers with the target delivery (`arn:aws:states:`) and the clock's settling. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.context.targets.register('arn:aws:states:', async (delivery) => this.startExecution(delivery.arn, delivery.input, delivery.name));
    this.context.clock.register({ name: 'Step Functions executions', isIdle: () => this.isIdle() });
  }

  /** Stops every running execution (ABORTED) and releases the DynamoDB client. */
  async stop(): Promise<void> {
    const running = [...this.executions.values()].filter((e) => e.status === 'RUNNING');
    for (const execution of running) this.stopExecution(execution.executionArn, 'States.Aborted', 'the local cloud stopped');
    await Promise.allSettled(running.map((e) => e.run));
    this.dynamodbClient?.destroy();
    this.dynamodbClient = undefined;
  }

  /** True when no execution can make progress without the clock or the outside world. */
  isIdle(): boolean {
    return this.activity.idle;
  }

  /** Where `dynamodb:*Item` tasks send their requests (DynamoDB Local). */
  setDynamoDbEndpoint(endpoint: string): void {
    this.dynamodbEndpoint = endpoint;
    this.dynamodbClient?.destroy();
    this.dynamodbClient = undefined;
  }

  /** State machines by ARN (for the endpoints document and tests). */
  get stateMachines(): ReadonlyArray<{ arn: string; name: string; type: string }> {
    return [...this.machines.values()].map(({ arn, name, type }) => ({ arn, name, type }));
  }

  /**
   * Starts an execution (what StartExecution and target deliveries do). Idempotent by name as
   * in AWS: the same name and input while the execution runs returns it again; otherwise a
   * reused name is `ExecutionAlreadyExists`.
   */
  startExecution(stateMachineArn: string, input = '{}', name?: string): { executionArn: string; startDate: number } {
    const machine = this.machine(stateMachineArn);
    if (name !== undefined && !VALID_NAME.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: 'the input is not valid JSON'`);
    }
    if (Buffer.byteLength(input) > MAX_PAYLOAD_BYTES)
      throw new AwsError('InvalidExecutionInput', `Invalid State Machine Execution Input: 'the input is over ${MAX_PAYLOAD_BYTES} bytes'`);
    const executionName = name ?? randomUUID();
    const { region, accountId } = this.context.model;
    const executionArn =
      machine.type === 'EXPRESS'
        ? `arn:aws:states:${region}:${accountId}:express:${machine.name}:${executionName}:${randomUUID()}`
        : `arn:aws:states:${region}:${accountId}:execution:${machine.name}:${executionName}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return { executionArn, startDate: existing.startDate };
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const startDate = Math.floor(this.context.clock.now());
    const history = new History(() => Math.floor(this.context.clock.now()));
    let resolveFinished!: (summary: ExecutionSummary) => void;
    const finished = new Promise<ExecutionSummary>((r) => (resolveFinished = r));
    const record: ExecutionRecord = {
      executionArn,
      machine,
      name: executionName,
      input,
      startDate,
      status: 'RUNNING',
      history,
      scope: new Scope(),
      finished,
      resolveFinished,
    };
    this.executions.set(executionArn, record);
    history.add('ExecutionStarted', 0, {
      executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn: machine.roleArn },
    });
    const runner = machine.parsed
      ? new ExecutionRunner(
          this.runtime,
          {
            executionArn,
            name: executionName,
            stateMachineArn: machine.arn,
            stateMachineName: machine.name,
            roleArn: machine.roleArn,
            input: parsedInput,
            startTime: startDate,
          },
          machine.parsed,
          history,
          record.scope,
        )
      : undefined;
    // Counted as runnable from now on; the states run after this call returns.
    record.run = this.activity.spawn(async () => {
      await null;
      try {
        if (!runner) throw new StatesError('States.Runtime', machine.problem ?? 'the state machine definition cannot run');
        const output = await runner.run();
        this.finish(record, 'SUCCEEDED', { output: JSON.stringify(output) ?? 'null' });
      } catch (error) {
        if (error instanceof Interrupted) {
          if (error.kind === 'timed-out') this.finish(record, 'TIMED_OUT', { error: error.error, cause: error.cause });
          else this.finish(record, 'ABORTED', { error: error.error, cause: error.cause });
        } else if (error instanceof StatesError) {
          this.finish(record, 'FAILED', { error: error.error, cause: error.cause });
        } else {
          this.context.log(`Step Functions ${executionArn}: internal error: ${(error as Error)?.stack ?? String(error)}`);
          this.finish(record, 'FAILED', {
            error: 'States.Runtime',
            cause: `internal error of the local cloud: ${(error as Error)?.message ?? String(error)}`,
          });
        }
      }
    });
    return { executionArn, startDate };
  }

  /** Stops a running execution (ABORTED); a finished one is left as it is. */
  stopExecution(executionArn: string, error?: string, cause?: string): { stopDate: number } {
    const execution = this.execution(executionArn);
    // Finishing aborts the execution's scope: its timers are cleared and its threads unwind.
    if (execution.status === 'RUNNING') this.finish(execution, 'ABORTED', { error, cause });
    return { stopDate: seconds(execution.stopDate ?? Math.floor(this.context.clock.now())) };
  }

  // -----------------------------------------------------------------------------------------------

  private finish(
    record: ExecutionRecord,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    fields: { output?: string; error?: string; cause?: string },
  ): void {
    if (record.status !== 'RUNNING') return;
    record.status = status;
    record.stopDate = Math.floor(this.context.clock.now());
    if (fields.output !== undefined) record.output = fields.output;
    if (fields.error) record.error = fields.error;
    if (fields.cause) record.cause = fields.cause;
    const details = { ...(fields.error ? { error: fields.error } : {}), ...(fields.cause ? { cause: fields.cause } : {}) };
    const last = record.history.lastId;
    switch (status) {
      case 'SUCCEEDED':
        record.history.add('ExecutionSucceeded', last, {
          executionSucceededEventDetails: { output: record.output, outputDetails: { truncated: false } },
        });
        break;
      case 'FAILED':
        record.history.add('ExecutionFailed', last, { executionFailedEventDetails: details });
        this.context.log(`Step Functions: execution ${record.executionArn} FAILED: ${fields.error ?? ''} ${fields.cause ?? ''}`.trim());
        break;
      case 'TIMED_OUT':
        record.history.add('ExecutionTimedOut', last, { executionTimedOutEventDetails: details });
        break;
      case 'ABORTED':
        record.history.add('ExecutionAborted', last, { executionAbortedEventDetails: details });
        break;
    }
    record.history.close();
    // Anything still pending in the execution (a sibling branch, a timer) stops.
    record.scope.abort(new Interrupted(status === 'TIMED_OUT' ? 'timed-out' : 'stopped'));
    record.resolveFinished(this.summary(record));
  }

  private summary(e: ExecutionRecord): ExecutionSummary {
    return {
      executionArn: e.executionArn,
      stateMachineArn: e.machine.arn,
      name: e.name,
      status: e.status,
      startDate: e.startDate,
      ...(e.stopDate !== undefined ? { stopDate: e.stopDate } : {}),
      input: e.input,
      ...(e.output !== undefined ? { output: e.output } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
    };
  }

  private dynamodb(): DynamoDBClient {
    if (!this.dynamodbEndpoint) {
      throw new StatesError(
        'States.Runtime',
        'the local cloud did not tell Step Functions where DynamoDB Local runs (setDynamoDbEndpoint)',
      );
    }
    this.dynamodbClient ??= new DynamoDBClient({
      endpoint: this.dynamodbEndpoint,
      region: this.context.model.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return this.dynamodbClient;
  }

  private machine(arn: string): StateMachineRecord {
    const machine = this.machines.get(arn);
    if (machine) return machine;
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+$/.test(arn)) {
      throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }

  private execution(arn: string): ExecutionRecord {
    const execution = this.executions.get(arn);
    if (execution) return execution;
    if (!/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(execution|express):[^:]+:[^:]+/.test(arn)) {
      throw new AwsError('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    }
    throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
  }

  // -----------------------------------------------------------------------------------------------
  // State machines from the template and from CreateStateMachine

  private loadFromTemplate(resource: ModelResource): void {
    const { model } = this.context;
    const props = model.properties(resource);
    const where = resource.where;
    const substitutions = (isObject(props.DefinitionSubstitutions) ? props.DefinitionSubstitutions : {}) as Record<string, unknown>;
    const substitute = (text: string) =>
      text.replace(/\$\{([^}]+)\}/g, (match, key: string) => (key in substitutions ? String(substitutions[key]) : match));
    let definition: string;
    if (typeof props.DefinitionString === 'string') {
      definition = substitute(props.DefinitionString);
    } else if (isObject(props.Definition)) {
      const walk = (v: unknown): unknown =>
        typeof v === 'string'
          ? substitute(v)
          : Array.isArray(v)
            ? v.map(walk)
            : isObject(v)
              ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
              : v;
      definition = JSON.stringify(walk(props.Definition));
    } else {
      const reason =
        props.DefinitionS3Location !== undefined
          ? 'DefinitionS3Location is not supported by the local cloud (use Definition or DefinitionString)'
          : 'the state machine has no definition';
      model.diagnostics.unsupported(where, reason);
      definition = '{}';
      this.register(resource.physicalId, resource.arn!, 'STANDARD', definition, String(props.RoleArn ?? ''), reason);
      return;
    }
    for (const key of ['LoggingConfiguration', 'TracingConfiguration', 'EncryptionConfiguration']) {
      if (props[key] !== undefined) model.diagnostics.ignored(`${where}/${key}`, `Step Functions ${key} (no local effect)`);
    }
    const type = props.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
    const problems = analyzeDefinition(definition);
    for (const p of problems.unsupported) model.diagnostics.unsupported(`${where}/Definition${p.path}`, p.message);
    this.register(resource.physicalId, resource.arn!, type, definition, String(props.RoleArn ?? ''), problems.fatal);
  }

  private register(
    name: string,
    arn: string,
    type: 'STANDARD' | 'EXPRESS',
    definition: string,
    roleArn: string,
    problem?: string,
  ): StateMachineRecord {
    let parsed: MachineDefinition | undefined;
    if (!problem) parsed = JSON.parse(definition) as MachineDefinition;
    const record: StateMachineRecord = {
      arn,
      name,
      type,
      definition,
      parsed,
      problem,
      roleArn,
      creationDate: Math.floor(this.context.clock.now()),
    };
    this.machines.set(arn, record);
    return record;
  }

  private createStateMachine(input: Record<string, unknown>, ctx: RequestContext) {
    const name = requiredString(input, 'name');
    const definition = requiredString(input, 'definition');
    if (!VALID_NAME.test(name)) throw new AwsError('InvalidName', `Invalid Name: '${name}'`);
    const problems = analyzeDefinition(definition);
    if (problems.fatal) throw new AwsError('InvalidDefinition', `Invalid State Machine Definition: '${problems.fatal}'`);
    const type = input.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
    const arn = `arn:aws:states:${ctx.region}:${ctx.accountId}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.definition === definition && existing.type === type)
        return { stateMachineArn: arn, creationDate: seconds(existing.creationDate) };
      throw new AwsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    for (const p of problems.unsupported) this.context.log(`Step Functions ${name}: unsupported: ${p.path || '/'}: ${p.message}`);
    const record = this.register(name, arn, type, definition, optionalString(input, 'roleArn') ?? '');
    return { stateMachineArn: arn, creationDate: seconds(record.creationDate) };
  }

  // -----------------------------------------------------------------------------------------------
  // API

  private apiStartExecution(input: Record<string, unknown>) {
    const { executionArn, startDate } = this.startExecution(
      requiredString(input, 'stateMachineArn'),
      optionalString(input, 'input') ?? '{}',
      optionalString(input, 'name'),
    );
    return { executionArn, startDate: seconds(startDate) };
  }

  private async apiStartSyncExecution(input: Record<string, unknown>) {
    const machine = this.machine(requiredString(input, 'stateMachineArn'));
    if (machine.type !== 'EXPRESS')
      throw new AwsError(
        'StateMachineTypeNotSupported',
        'This operation is not supported by this type of state machine (STANDARD); StartSyncExecution needs an EXPRESS state machine',
      );
    const { executionArn } = this.startExecution(machine.arn, optionalString(input, 'input') ?? '{}', optionalString(input, 'name'));
    const done = await this.execution(executionArn).finished;
    return {
      executionArn,
      stateMachineArn: machine.arn,
      name: done.name,
      startDate: seconds(done.startDate),
      stopDate: seconds(done.stopDate ?? done.startDate),
      status: done.status,
      input: done.input,
      inputDetails: { included: true },
      ...(done.output !== undefined ? { output: done.output, outputDetails: { included: true } } : {}),
      ...(done.error !== undefined ? { error: done.error } : {}),
      ...(done.cause !== undefined ? { cause: done.cause } : {}),
      billingDetails: {
        billedMemoryUsedInMB: 64,
        billedDurationInMilliseconds: Math.max(100, (done.stopDate ?? done.startDate) - done.startDate),
      },
    };
  }

  /** The fields ListExecutions returns per execution; DescribeExecution adds to them. */
  private executionSummary(e: ExecutionRecord) {
    return {
      executionArn: e.executionArn,
      stateMachineArn: e.machine.arn,
      name: e.name,
      status: e.status,
      startDate: seconds(e.startDate),
      ...(e.stopDate !== undefined ? { stopDate: seconds(e.stopDate) } : {}),
    };
  }

  private describeExecution(e: ExecutionRecord) {
    return {
      ...this.executionSummary(e),
      input: e.input,
      inputDetails: { included: true },
      ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  private listExecutions(input: Record<string, unknown>) {
    const arn = requiredString(input, 'stateMachineArn');
    this.machine(arn);
    const statusFilter = optionalString(input, 'statusFilter');
    if (statusFilter !== undefined && !STATUSES.has(statusFilter as ExecutionStatus)) {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${[...STATUSES].join(', ')}]`,
      );
    }
    const all = [...this.executions.values()]
      .filter((e) => e.machine.arn === arn && (statusFilter === undefined || e.status === statusFilter))
      .sort((a, b) => b.startDate - a.startDate);
    const { items, nextToken } = page(all, input, 100);
    return {
      executions: items.map((e) => this.executionSummary(e)),
      ...(nextToken ? { nextToken } : {}),
    };
  }

  private getExecutionHistory(input: Record<string, unknown>) {
    const execution = this.execution(requiredString(input, 'executionArn'));
    const includeData = input.includeExecutionData !== false;
    let events: HistoryEvent[] = [...execution.history.events];
    if (input.reverseOrder === true) events.reverse();
    if (!includeData) events = events.map(stripData);
    const { items, nextToken } = page(events, input, 100);
    return { events: items, ...(nextToken ? { nextToken } : {}) };
  }

  private describeStateMachine(m: StateMachineRecord) {
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definition,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: seconds(m.creationDate),
      loggingConfiguration: { level: 'OFF', includeExecutionData: false },
      tracingConfiguration: { enabled: false },
    };
  }

  private listStateMachines(input: Record<string, unknown>) {
    const all = [...this.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
    const { items, nextToken } = page(all, input, 100);
    return {
      stateMachines: items.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.type, creationDate: seconds(m.creationDate) })),
      ...(nextToken ? { nextToken } : {}),
    };
  }
}

// -------------------------------------------------------------------------------------------------

interface DefinitionProblems {
  /** Why the definition cannot run at all (its executions fail with this). */
  readonly fatal?: string;
  /** Parts that fail (or are ignored) when reached, with their path inside the definition. */
  readonly unsupported: Array<{ path: string; message: string }>;
}

/** Statically finds what the local cloud cannot run in an ASL definition. */
export function analyzeDefinition(definition: string): DefinitionProblems {
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition);
  } catch (error) {
    return { fatal: `the definition is not valid JSON: ${(error as Error).message}`, unsupported: [] };
  }
  if (!isObject(parsed) || typeof parsed.StartAt !== 'string' || !isObject(parsed.States)) {
    return { fatal: 'the definition needs StartAt and States', unsupported: [] };
  }
  const unsupported: Array<{ path: string; message: string }> = [];
  const add = (path: string, message: string) => unsupported.push({ path, message });
  if (parsed.QueryLanguage === 'JSONata')
    add('/QueryLanguage', 'the JSONata query language is not supported by the local cloud (JSONPath only); executions fail');
  const walk = (states: Record<string, unknown>, base: string) => {
    for (const [name, raw] of Object.entries(states)) {
      const path = `${base}/States/${name}`;
      if (!isObject(raw)) continue;
      const state = raw as StateDefinition;
      if (state.QueryLanguage === 'JSONata') add(path, 'the JSONata query language is not supported by the local cloud; the state fails');
      if (state.Assign !== undefined)
        add(`${path}/Assign`, 'workflow variables (Assign) are not supported by the local cloud; the state fails');
      switch (state.Type) {
        case 'Task': {
          const reason = unsupportedResource(state.Resource);
          if (reason) add(`${path}/Resource`, `${reason}; the state fails with States.Runtime`);
          else {
            for (const p of ignoredParameters(String(state.Resource), state.Parameters))
              add(`${path}/Parameters/${p}`, `${p} has no local effect and is ignored`);
          }
          if (state.Credentials !== undefined) add(`${path}/Credentials`, 'cross-account Credentials are ignored locally');
          break;
        }
        case 'Map': {
          const processor = (state.ItemProcessor ?? state.Iterator) as Record<string, unknown> | undefined;
          const config = isObject(processor?.ProcessorConfig) ? processor.ProcessorConfig : {};
          if (config.Mode === 'DISTRIBUTED')
            add(
              `${path}/ItemProcessor/ProcessorConfig`,
              'distributed Map is not supported by the local cloud (inline only); the state fails',
            );
          for (const field of ['ItemReader', 'ItemBatcher', 'ResultWriter', 'ToleratedFailurePercentage', 'ToleratedFailureCount']) {
            if (state[field] !== undefined) add(`${path}/${field}`, `${field} is not supported by the local cloud (distributed Map)`);
          }
          if (isObject(processor) && isObject(processor.States)) walk(processor.States, `${path}/ItemProcessor`);
          break;
        }
        case 'Parallel':
          if (Array.isArray(state.Branches)) {
            state.Branches.forEach((b, i) => {
              if (isObject(b) && isObject(b.States)) walk(b.States, `${path}/Branches/${i}`);
            });
          }
          break;
        case 'Pass':
        case 'Choice':
        case 'Wait':
        case 'Succeed':
        case 'Fail':
          break;
        default:
          add(path, `unknown state type ${JSON.stringify(state.Type)}; the state fails`);
      }
    }
  };
  walk(parsed.States, '');
  return { unsupported };
}

function requiredString(input: Record<string, unknown>, key: string): string {
  const value = input[key];
  if (typeof value !== 'string' || value === '') {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function optionalString(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('ValidationException', `'${key}' must be a string`);
  return value;
}

function page<T>(all: T[], input: Record<string, unknown>, defaultSize: number): { items: T[]; nextToken?: string } {
  const max = typeof input.maxResults === 'number' && input.maxResults > 0 ? Math.min(input.maxResults, 1000) : defaultSize;
  let offset = 0;
  if (typeof input.nextToken === 'string') {
    offset = Number(Buffer.from(input.nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(offset) || offset < 0)
      throw new AwsError('InvalidToken', 'Invalid Token: the nextToken is not one this service issued');
  }
  const items = all.slice(offset, offset + max);
  const next = offset + max < all.length ? Buffer.from(String(offset + max)).toString('base64url') : undefined;
  return { items, ...(next ? { nextToken: next } : {}) };
}

/** GetExecutionHistory with includeExecutionData=false: no inputs or outputs. */
function stripData(event: HistoryEvent): HistoryEvent {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (isObject(value) && key.endsWith('EventDetails')) {
      const { input: _i, output: _o, parameters: _p, ...rest } = value;
      out[key] = rest;
    } else {
      out[key] = value;
    }
  }
  return out as unknown as HistoryEvent;
}
