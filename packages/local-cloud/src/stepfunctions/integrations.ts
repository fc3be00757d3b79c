/**
 * Task state resources the local cloud runs: a Lambda function ARN, and the optimized service
 * integrations the project uses (`lambda:invoke`, `sqs:sendMessage`, `events:putEvents`,
 * `dynamodb:putItem|getItem|updateItem|deleteItem`, `states:startExecution`), with the
 * `.waitForTaskToken` and (child executions) `.sync` patterns. Each calls the local service and
 * returns what AWS returns; failures raise the error names AWS uses (the function's `errorType`,
 * `SQS.<Code>`, `DynamoDB.<Code>`, ...). Anything else is reported, statically and at run time.
 */
import { createHash, randomUUID } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsError } from '../aws-protocol';
import type { LambdaService, InvokeFailure } from '../lambda/service';
import type { CloudModel } from '../model';
import type { Targets } from '../targets';
import { StatesError, runtimeError } from './errors';
import { isObject } from './jsonpath';
import type { Scope } from './scope';

export type Pattern = 'request' | 'sync' | 'sync:2' | 'token';

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: string;
  readonly startDate: number;
  readonly stopDate?: number;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** What integrations need from the local cloud. */
export interface IntegrationHost {
  readonly model: CloudModel;
  readonly targets: Targets;
  readonly lambda: LambdaService;
  /** The DynamoDB Local client; throws when the endpoint is not known. */
  dynamodb(): DynamoDBClient;
  /** Starts an execution (throws an AwsError as the API would). */
  startExecution(stateMachineArn: string, input: string, name?: string): { executionArn: string; startDate: number };
  /** Resolves when the execution has ended, whatever its status. */
  whenDone(executionArn: string): Promise<ExecutionSummary>;
  stopExecution(executionArn: string, error?: string, cause?: string): void;
}

export interface TaskTarget {
  /** What the history shows (`lambda`/`invoke`, `sqs`/`sendMessage`, ...). */
  readonly resourceType: string;
  readonly resourceName: string;
  /** A plain Lambda ARN as Resource (history uses the LambdaFunction* events; result = payload). */
  readonly lambdaFunction: boolean;
  readonly pattern: Pattern;
  /** Sends the request; resolves with the request-response result. */
  request(parameters: unknown, scope: Scope): Promise<unknown>;
  /** `.sync`: waits for the job started by `request` and returns the task result. */
  complete?(requestResult: unknown, scope: Scope): Promise<unknown>;
}

type Handler = (parameters: unknown, host: IntegrationHost, scope: Scope) => Promise<unknown>;

interface Integration {
  readonly patterns: readonly Pattern[];
  readonly request: Handler;
  readonly complete?: (result: unknown, host: IntegrationHost, scope: Scope, pattern: Pattern) => Promise<unknown>;
  /** Parameters the local cloud does not honour (reported at start-up, ignored at run time). */
  readonly ignoredParameters?: readonly string[];
}

const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$/;
const SERVICE_ARN = /^arn:aws[a-z-]*:states:::([a-z0-9-]+):([A-Za-z0-9]+)(?:\.(sync(?::2)?|waitForTaskToken))?$/;

const INTEGRATIONS: Record<string, Integration> = {
  'lambda:invoke': { patterns: ['request', 'token'], request: lambdaInvoke, ignoredParameters: ['ClientContext'] },
  'sqs:sendMessage': {
    patterns: ['request', 'token'],
    request: sqsSendMessage,
    ignoredParameters: ['DelaySeconds', 'MessageAttributes', 'MessageSystemAttributes'],
  },
  'events:putEvents': { patterns: ['request', 'token'], request: eventsPutEvents },
  'dynamodb:putItem': { patterns: ['request'], request: (p, h, s) => dynamodb('putItem', p, h, s) },
  'dynamodb:getItem': { patterns: ['request'], request: (p, h, s) => dynamodb('getItem', p, h, s) },
  'dynamodb:updateItem': { patterns: ['request'], request: (p, h, s) => dynamodb('updateItem', p, h, s) },
  'dynamodb:deleteItem': { patterns: ['request'], request: (p, h, s) => dynamodb('deleteItem', p, h, s) },
  'states:startExecution': {
    patterns: ['request', 'sync', 'sync:2', 'token'],
    request: statesStartExecution,
    complete: statesAwaitExecution,
  },
};

/** Why the local cloud cannot run `resource`, or undefined when it can. */
export function unsupportedResource(resource: unknown): string | undefined {
  if (typeof resource !== 'string') return `Task Resource must be a string, got ${JSON.stringify(resource)}`;
  if (LAMBDA_ARN.test(resource)) return undefined;
  if (/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:activity:/.test(resource))
    return `activities (${resource}) are not supported by the local cloud`;
  if (/^arn:aws[a-z-]*:states:::aws-sdk:/.test(resource)) return `AWS SDK integrations (${resource}) are not supported by the local cloud`;
  const m = SERVICE_ARN.exec(resource);
  if (!m) return `the Task resource ${resource} is not supported by the local cloud`;
  const integration = INTEGRATIONS[`${m[1]}:${m[2]}`];
  if (!integration) {
    return `the service integration ${m[1]}:${m[2]} (${resource}) is not supported by the local cloud (supported: ${Object.keys(INTEGRATIONS).join(', ')}, and Lambda function ARNs)`;
  }
  const pattern = patternOf(m[3]);
  if (!integration.patterns.includes(pattern))
    return `${m[1]}:${m[2]} does not support the ${pattern === 'request' ? 'request-response' : `.${pattern}`} pattern (${resource})`;
  return undefined;
}

/** Parameters of `resource` that are accepted but have no local effect. */
export function ignoredParameters(resource: string, parameters: unknown): string[] {
  const m = SERVICE_ARN.exec(resource);
  const integration = m ? INTEGRATIONS[`${m[1]}:${m[2]}`] : undefined;
  if (!integration?.ignoredParameters || !isObject(parameters)) return [];
  return integration.ignoredParameters.filter((p) => p in parameters || `${p}.$` in parameters);
}

/** Resolves a Task `Resource`; throws States.Runtime naming the resource when it is unsupported. */
export function taskTarget(resource: unknown, host: IntegrationHost): TaskTarget {
  const reason = unsupportedResource(resource);
  if (reason) throw runtimeError(reason);
  const arn = resource as string;
  if (LAMBDA_ARN.test(arn)) {
    return {
      resourceType: 'lambda',
      resourceName: arn,
      lambdaFunction: true,
      pattern: 'request',
      request: async (parameters, scope) => {
        const fn = findFunction(host, arn);
        const result = await scope.race(fn.invoke(parameters));
        if (!result.ok) throw functionError(result);
        return parsePayload(result.payload);
      },
    };
  }
  const m = SERVICE_ARN.exec(arn)!;
  const integration = INTEGRATIONS[`${m[1]}:${m[2]}`]!;
  const pattern = patternOf(m[3]);
  const complete = integration.complete;
  return {
    resourceType: m[1]!,
    resourceName: m[2]! + (m[3] ? `.${m[3]}` : ''),
    lambdaFunction: false,
    pattern,
    request: (parameters, scope) => integration.request(parameters, host, scope),
    complete: complete ? (result, scope) => complete(result, host, scope, pattern) : undefined,
  };
}

function patternOf(suffix: string | undefined): Pattern {
  if (suffix === 'waitForTaskToken') return 'token';
  if (suffix === 'sync' || suffix === 'sync:2') return suffix;
  return 'request';
}

// -------------------------------------------------------------------------------------------------
// Lambda

function findFunction(host: IntegrationHost, nameOrArn: string) {
  const fn = host.lambda.get(nameOrArn) ?? host.lambda.get(nameOrArn.replace(/^(arn:[^:]+:lambda:[^:]+:\d+:function:[^:]+):[^:]+$/, '$1'));
  if (!fn) {
    throw new StatesError(
      'Lambda.ResourceNotFoundException',
      `Function not found: ${nameOrArn} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ${randomUUID()}; Proxy: null)`,
    );
  }
  return fn;
}

/** A function error as Step Functions reports it: the errorType as error, Lambda's error JSON as cause. */
function functionError(failure: InvokeFailure): StatesError {
  const { errorType, errorMessage, stackTrace } = failure.error;
  if (errorType === 'TooManyRequestsException') {
    return new StatesError(
      'Lambda.TooManyRequestsException',
      `${errorMessage} (Service: AWSLambda; Status Code: 429; Error Code: TooManyRequestsException; Request ID: ${failure.requestId}; Proxy: null)`,
    );
  }
  return new StatesError(errorType || 'Lambda.Unknown', JSON.stringify({ errorType, errorMessage, trace: stackTrace ?? [] }));
}

function parsePayload(payload: string): unknown {
  if (payload === '') return null;
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

function sdkMetadata(requestId: string, headers: Record<string, string> = {}) {
  const all: Record<string, string> = {
    'Content-Type': 'application/x-amz-json-1.0',
    Date: new Date().toUTCString(),
    'x-amzn-RequestId': requestId,
    ...headers,
  };
  return {
    SdkHttpMetadata: {
      AllHttpHeaders: Object.fromEntries(Object.entries(all).map(([k, v]) => [k, [v]])),
      HttpHeaders: all,
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

async function lambdaInvoke(parameters: unknown, host: IntegrationHost, scope: Scope): Promise<unknown> {
  const p = isObject(parameters) ? parameters : {};
  if (typeof p.FunctionName !== 'string')
    throw runtimeError(`lambda:invoke needs a FunctionName string, got ${JSON.stringify(p.FunctionName)}`);
  const name = typeof p.Qualifier === 'string' && p.Qualifier !== '$LATEST' ? `${p.FunctionName}:${p.Qualifier}` : p.FunctionName;
  const fn = findFunction(host, name);
  const payload = p.Payload === undefined ? {} : p.Payload;
  const invocationType = p.InvocationType ?? 'RequestResponse';
  if (invocationType === 'DryRun' || invocationType === 'Event') {
    if (invocationType === 'Event') void fn.invoke(payload);
    const requestId = randomUUID();
    return { Payload: '', ...sdkMetadata(requestId), StatusCode: invocationType === 'Event' ? 202 : 204 };
  }
  if (invocationType !== 'RequestResponse')
    throw new StatesError('Lambda.InvalidParameterValueException', `InvocationType ${JSON.stringify(invocationType)} is not valid`);
  const result = await scope.race(fn.invoke(payload));
  if (!result.ok) throw functionError(result);
  return {
    ExecutedVersion: '$LATEST',
    Payload: parsePayload(result.payload),
    ...sdkMetadata(result.requestId, { 'X-Amz-Executed-Version': '$LATEST', 'Content-Type': 'application/json' }),
    StatusCode: 200,
  };
}

// -------------------------------------------------------------------------------------------------
// SQS and EventBridge (through the shared target delivery)

/** The queue ARN behind a queue URL of any style (`https://sqs.{region}.amazonaws.com/{acct}/{name}`, a local URL, ...). */
export function queueArnFromUrl(queueUrl: string, model: CloudModel): string {
  if (queueUrl.startsWith('arn:')) return queueUrl;
  let segments: string[];
  try {
    segments = new URL(queueUrl).pathname.split('/').filter(Boolean);
  } catch {
    segments = queueUrl.split('/').filter(Boolean);
  }
  const name = segments.at(-1);
  if (!name) throw runtimeError(`cannot tell the queue from QueueUrl ${JSON.stringify(queueUrl)}`);
  const account = segments.length >= 2 && /^\d{12}$/.test(segments.at(-2)!) ? segments.at(-2)! : model.accountId;
  return `arn:aws:sqs:${model.region}:${account}:${name}`;
}

function deliveryError(prefix: string, service: string, error: unknown): StatesError {
  if (error instanceof StatesError) return error;
  const code = error instanceof AwsError ? error.code : 'SdkClientException';
  const status = error instanceof AwsError ? error.status : 500;
  return new StatesError(
    `${prefix}.${code}`,
    `${(error as Error).message ?? String(error)} (Service: ${service}; Status Code: ${status}; Error Code: ${code}; Request ID: ${randomUUID()}; Proxy: null)`,
  );
}

async function sqsSendMessage(parameters: unknown, host: IntegrationHost, scope: Scope): Promise<unknown> {
  const p = isObject(parameters) ? parameters : {};
  if (typeof p.QueueUrl !== 'string') throw runtimeError(`sqs:sendMessage needs a QueueUrl string, got ${JSON.stringify(p.QueueUrl)}`);
  if (p.MessageBody === undefined) throw new StatesError('SQS.MissingParameter', 'The request must contain the parameter MessageBody.');
  const body = typeof p.MessageBody === 'string' ? p.MessageBody : JSON.stringify(p.MessageBody);
  const arn = queueArnFromUrl(p.QueueUrl, host.model);
  let result: unknown;
  try {
    result = await scope.race(
      host.targets.deliver({
        arn,
        input: body,
        ...(typeof p.MessageGroupId === 'string' ? { messageGroupId: p.MessageGroupId } : {}),
        ...(typeof p.MessageDeduplicationId === 'string' ? { messageDeduplicationId: p.MessageDeduplicationId } : {}),
      }),
    );
  } catch (error) {
    throw deliveryError('SQS', 'AmazonSQS', error);
  }
  const sent = isObject(result) ? result : typeof result === 'string' ? { MessageId: result } : {};
  const requestId = randomUUID();
  return {
    MD5OfMessageBody: typeof sent.MD5OfMessageBody === 'string' ? sent.MD5OfMessageBody : createHash('md5').update(body).digest('hex'),
    MessageId: typeof sent.MessageId === 'string' ? sent.MessageId : randomUUID(),
    ...(typeof sent.SequenceNumber === 'string' ? { SequenceNumber: sent.SequenceNumber } : {}),
    ...sdkMetadata(requestId),
  };
}

async function eventsPutEvents(parameters: unknown, host: IntegrationHost, scope: Scope): Promise<unknown> {
  const p = isObject(parameters) ? parameters : {};
  const entries = p.Entries;
  if (!Array.isArray(entries) || entries.length === 0)
    throw runtimeError(`events:putEvents needs a non-empty Entries array, got ${JSON.stringify(entries)}`);
  if (entries.length > 10)
    throw new StatesError(
      'EventBridge.ValidationException',
      `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10`,
    );
  const { region, accountId } = host.model;
  const ids: string[] = [];
  for (const raw of entries) {
    const entry = isObject(raw) ? raw : {};
    const bus = typeof entry.EventBusName === 'string' && entry.EventBusName ? entry.EventBusName : 'default';
    const busArn = bus.startsWith('arn:') ? bus : `arn:aws:events:${region}:${accountId}:event-bus/${bus}`;
    const detail = entry.Detail === undefined ? '{}' : typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail);
    let result: unknown;
    try {
      result = await scope.race(
        host.targets.deliver({ arn: busArn, input: JSON.stringify({ ...entry, Detail: detail, EventBusName: bus }) }),
      );
    } catch (error) {
      throw deliveryError('EventBridge', 'AmazonEventBridge', error);
    }
    ids.push(typeof result === 'string' ? result : isObject(result) && typeof result.EventId === 'string' ? result.EventId : randomUUID());
  }
  return { Entries: ids.map((EventId) => ({ EventId })), FailedEntryCount: 0 };
}

// -------------------------------------------------------------------------------------------------
// DynamoDB (DynamoDB Local through the real SDK client)

async function dynamodb(
  action: 'putItem' | 'getItem' | 'updateItem' | 'deleteItem',
  parameters: unknown,
  host: IntegrationHost,
  scope: Scope,
): Promise<unknown> {
  const input = toSdk(parameters) as never;
  const command =
    action === 'putItem'
      ? new PutItemCommand(input)
      : action === 'getItem'
        ? new GetItemCommand(input)
        : action === 'updateItem'
          ? new UpdateItemCommand(input)
          : new DeleteItemCommand(input);
  let output: Record<string, unknown>;
  try {
    output = (await scope.race(host.dynamodb().send(command as never))) as unknown as Record<string, unknown>;
  } catch (error) {
    if (error instanceof StatesError) throw error;
    const e = error as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
    const code = e.$metadata ? e.name : 'SdkClientException';
    throw new StatesError(
      `DynamoDB.${code}`,
      `${e.message} (Service: AmazonDynamoDBv2; Status Code: ${e.$metadata?.httpStatusCode ?? 500}; Error Code: ${code}; Request ID: ${e.$metadata?.requestId ?? randomUUID()}; Proxy: null)`,
    );
  }
  const { $metadata, ...rest } = output as { $metadata?: { requestId?: string } };
  return { ...(toJson(rest) as object), ...sdkMetadata($metadata?.requestId ?? randomUUID()) };
}

/** Binary attribute values arrive base64-encoded in ASL; the SDK wants bytes. */
function toSdk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSdk);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (k === 'B' && typeof v === 'string') return [k, Buffer.from(v, 'base64')];
      if (k === 'BS' && Array.isArray(v) && v.every((x) => typeof x === 'string'))
        return [k, v.map((x) => Buffer.from(x as string, 'base64'))];
      return [k, toSdk(v)];
    }),
  );
}

function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Set) return [...value].map(toJson);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, toJson(v)]),
  );
}

// -------------------------------------------------------------------------------------------------
// Step Functions (child executions)

async function statesStartExecution(parameters: unknown, host: IntegrationHost): Promise<unknown> {
  const p = isObject(parameters) ? parameters : {};
  if (typeof p.StateMachineArn !== 'string')
    throw runtimeError(`states:startExecution needs a StateMachineArn string, got ${JSON.stringify(p.StateMachineArn)}`);
  const input = p.Input === undefined ? '{}' : typeof p.Input === 'string' ? p.Input : JSON.stringify(p.Input);
  try {
    const started = host.startExecution(p.StateMachineArn, input, typeof p.Name === 'string' ? p.Name : undefined);
    return { ExecutionArn: started.executionArn, StartDate: started.startDate, ...sdkMetadata(randomUUID()) };
  } catch (error) {
    throw deliveryError('StepFunctions', 'AWSStepFunctions', error);
  }
}

async function statesAwaitExecution(result: unknown, host: IntegrationHost, scope: Scope, pattern: Pattern): Promise<unknown> {
  const executionArn = String((result as { ExecutionArn?: unknown }).ExecutionArn);
  // Stopping the parent (or its task timing out) stops the child, as Step Functions does for .sync.
  const off = scope.onAbort(() =>
    host.stopExecution(executionArn, 'States.Aborted', 'the parent execution stopped waiting for this execution'),
  );
  try {
    const done = await host.whenDone(executionArn);
    const output = pattern === 'sync:2' && done.output !== undefined ? JSON.parse(done.output) : done.output;
    const description = {
      ExecutionArn: done.executionArn,
      Input: pattern === 'sync:2' ? JSON.parse(done.input) : done.input,
      InputDetails: { Included: true },
      Name: done.name,
      ...(output !== undefined ? { Output: output, OutputDetails: { Included: true } } : {}),
      StartDate: done.startDate,
      StateMachineArn: done.stateMachineArn,
      Status: done.status,
      ...(done.stopDate !== undefined ? { StopDate: done.stopDate } : {}),
      ...(done.error !== undefined ? { Error: done.error } : {}),
      ...(done.cause !== undefined ? { Cause: done.cause } : {}),
    };
    if (done.status !== 'SUCCEEDED') throw new StatesError('States.TaskFailed', JSON.stringify(description));
    return description;
  } finally {
    off();
  }
}
