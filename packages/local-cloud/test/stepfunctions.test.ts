/**
 * Step Functions in the local cloud, through the real `@aws-sdk/client-sfn`:
 * - a fixture CDK app (LambdaInvoke with Retry and Catch, a Map, a Choice, a 3-day Wait, a Pass
 *   with States.Format, a Parallel with SqsSendMessage, EventBridgePutEvents and DynamoPutItem,
 *   a waitForTaskToken task with a timeout), run on a frozen virtual clock that only `advance`
 *   moves, so a three-day Wait ends exactly when three days have been advanced;
 * - ASL semantics on definitions created through CreateStateMachine;
 * - unit tests of the JSONPath subset, the intrinsic functions and Choice rules.
 *
 * SQS and EventBridge are recording fakes registered on the shared `Targets`; DynamoDB is
 * DynamoDB Local; Lambda functions run in the local Lambda service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StopExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { synthFixture } from '../src/testing';
import { loadAssembly } from '../src/assembly';
import { CloudModel } from '../src/model';
import { VirtualClock } from '../src/clock';
import { ControlServer } from '../src/control';
import { Targets, type Delivery } from '../src/targets';
import { LambdaService } from '../src/lambda/service';
import { DynamoDbServer } from '../src/dynamodb/server';
import { createTables, type LocalTable } from '../src/dynamodb/tables';
import { StepFunctionsService, analyzeDefinition } from '../src/stepfunctions/service';
import { parsePath, query, setPath } from '../src/stepfunctions/jsonpath';
import { evaluateIntrinsic } from '../src/stepfunctions/intrinsics';
import { evaluateRule } from '../src/stepfunctions/choice';
import { StatesError } from '../src/stepfunctions/errors';
import { queueArnFromUrl, unsupportedResource } from '../src/stepfunctions/integrations';

const markerDir = mkdtempSync(join(tmpdir(), 'sfn-markers-'));

/** Fails `failTimes` times per order (FlakyError), or always with PaymentDeclined; state in files. */
const FLAKY = `
const fs = require('fs');
const path = require('path');
class FlakyError extends Error { constructor(m) { super(m); this.name = 'FlakyError'; } }
class PaymentDeclined extends Error { constructor(m) { super(m); this.name = 'PaymentDeclined'; } }
exports.handler = async (event) => {
  if (event.decline) throw new PaymentDeclined('card declined for ' + event.orderId);
  const file = path.join(process.env.MARKER_DIR, 'attempts-' + event.orderId);
  const attempt = (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0) + 1;
  fs.writeFileSync(file, String(attempt));
  if (attempt <= (event.failTimes === undefined ? 2 : event.failTimes)) throw new FlakyError('attempt ' + attempt + ' failed');
  const items = event.items || [];
  return { charged: items.reduce((s, i) => s + i.qty * i.price, 0), attempts: attempt, at: new Date().toISOString() };
};`;

const PRICE = `exports.handler = async (e) => ({ sku: e.sku, index: e.index, total: e.qty * e.price });`;

/** The callback pattern: completes its own task through the SFN API (AWS_ENDPOINT_URL_SFN). */
const APPROVER = `
const { SFNClient, SendTaskSuccessCommand } = require('@aws-sdk/client-sfn');
const sfn = new SFNClient({});
exports.handler = async (event) => {
  await sfn.send(new SendTaskSuccessCommand({ taskToken: event.token, output: JSON.stringify({ approvedBy: 'lambda', orderId: event.orderId }) }));
  return 'sent';
};`;

const START = Date.parse('2026-03-02T09:00:00.000Z');
const DAY = 86_400;

let clock: VirtualClock;
let model: CloudModel;
let control: ControlServer;
let lambda: LambdaService;
let dynamodb: DynamoDbServer;
let ddb: DynamoDBClient;
let tables: LocalTable[];
let service: StepFunctionsService;
let targets: Targets;
let client: SFNClient;
let syncClient: SFNClient;
const logs: string[] = [];
const sqsDeliveries: Delivery[] = [];
const eventDeliveries: Delivery[] = [];

const arnOf = (logicalPrefix: string, type: string) => {
  const r = model.ofType(type).find((x) => x.logicalId.startsWith(logicalPrefix));
  if (!r?.arn) throw new Error(`no ${type} ${logicalPrefix}`);
  return r.arn;
};
const ordersArn = () => arnOf('Orders', 'AWS::StepFunctions::StateMachine');
const approvalArn = () => arnOf('Approval', 'AWS::StepFunctions::StateMachine');

beforeAll(async () => {
  const dynamodbStarting = DynamoDbServer.start();
  dynamodbStarting.catch(() => {});
  const assembly = synthFixture((app) => {
    const stack = new Stack(app, 'Sfn');
    const fn = (id: string, code: string) =>
      new LambdaFunction(stack, id, {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline(code),
        timeout: Duration.seconds(10),
        environment: { MARKER_DIR: markerDir },
      });
    const flaky = fn('Flaky', FLAKY);
    const price = fn('Price', PRICE);
    fn('Approver', APPROVER);
    const queue = new Queue(stack, 'Fulfilment');
    const bus = new EventBus(stack, 'Shop');
    const table = new Table(stack, 'OrderTable', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const greet = new sfn.Pass(stack, 'Greet', {
      parameters: { text: sfn.JsonPath.format('Hello, {}!', sfn.JsonPath.stringAt('$.customer')) },
      resultPath: '$.greeting',
    });
    const charge = new tasks.LambdaInvoke(stack, 'Charge', {
      lambdaFunction: flaky,
      resultSelector: { 'charged.$': '$.Payload.charged', 'attempts.$': '$.Payload.attempts', 'at.$': '$.Payload.at' },
      resultPath: '$.charge',
    });
    charge.addRetry({ errors: ['FlakyError'], interval: Duration.seconds(1), maxAttempts: 3, backoffRate: 2 });
    const cancel = new sfn.Pass(stack, 'Cancel', {
      parameters: {
        'orderId.$': '$.orderId',
        status: 'cancelled',
        'reason.$': '$.failure.Error',
        'cause.$': 'States.StringToJson($.failure.Cause)',
      },
    });
    charge.addCatch(cancel, { errors: ['PaymentDeclined'], resultPath: '$.failure' });
    const prices = new sfn.Map(stack, 'Prices', {
      itemsPath: '$.items',
      maxConcurrency: 2,
      itemSelector: {
        'sku.$': '$$.Map.Item.Value.sku',
        'qty.$': '$$.Map.Item.Value.qty',
        'price.$': '$$.Map.Item.Value.price',
        'index.$': '$$.Map.Item.Index',
      },
      resultPath: '$.lines',
    });
    prices.itemProcessor(new tasks.LambdaInvoke(stack, 'PriceLine', { lambdaFunction: price, outputPath: '$.Payload' }));
    const fulfil = new sfn.Parallel(stack, 'Fulfil', {
      resultSelector: {
        'messageId.$': '$[0].MessageId',
        'eventId.$': '$[1].Entries[0].EventId',
        'stored.$': '$[2].SdkHttpMetadata.HttpStatusCode',
      },
      resultPath: '$.fulfilment',
    });
    fulfil.branch(
      new tasks.SqsSendMessage(stack, 'Ship', {
        queue,
        messageBody: sfn.TaskInput.fromObject({ orderId: sfn.JsonPath.stringAt('$.orderId'), lines: sfn.JsonPath.listAt('$.lines') }),
      }),
    );
    fulfil.branch(
      new tasks.EventBridgePutEvents(stack, 'Announce', {
        entries: [
          {
            detail: sfn.TaskInput.fromObject({ orderId: sfn.JsonPath.stringAt('$.orderId') }),
            detailType: 'Order.Fulfilled',
            source: 'shop',
            eventBus: bus,
          },
        ],
      }),
    );
    fulfil.branch(
      new tasks.DynamoPutItem(stack, 'Record', {
        table,
        item: {
          pk: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.orderId')),
          charged: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.format('{}', sfn.JsonPath.stringAt('$.charge.charged'))),
        },
      }),
    );
    const cooling = new sfn.Wait(stack, 'Cooling', { time: sfn.WaitTime.duration(Duration.days(3)) });
    const route = new sfn.Choice(stack, 'Route')
      .when(sfn.Condition.booleanEquals('$.express', true), fulfil)
      .otherwise(cooling.next(fulfil));
    new sfn.StateMachine(stack, 'Orders', {
      definitionBody: sfn.DefinitionBody.fromChainable(greet.next(charge).next(prices).next(route)),
    });

    const ask = new tasks.SqsSendMessage(stack, 'AskApproval', {
      queue,
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      messageBody: sfn.TaskInput.fromObject({ token: sfn.JsonPath.taskToken, orderId: sfn.JsonPath.stringAt('$.orderId') }),
      taskTimeout: sfn.Timeout.duration(Duration.hours(1)),
      heartbeatTimeout: sfn.Timeout.duration(Duration.minutes(20)),
      resultPath: '$.approval',
    });
    new sfn.StateMachine(stack, 'Approval', { definitionBody: sfn.DefinitionBody.fromChainable(ask) });

    // Not supported locally: reported at start-up, fails when reached.
    const topic = new Topic(stack, 'Alerts');
    new sfn.StateMachine(stack, 'Notify', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new tasks.SnsPublish(stack, 'Tell', { topic, message: sfn.TaskInput.fromText('hi') }),
      ),
    });
    // A raw definition object with DefinitionSubstitutions.
    new sfn.CfnStateMachine(stack, 'Raw', {
      roleArn: 'arn:aws:iam::000000000000:role/raw',
      definition: { StartAt: 'P', States: { P: { Type: 'Pass', Result: { fn: '${FlakyArn}', queue: '${QueueUrl}' }, End: true } } },
      definitionSubstitutions: { FlakyArn: flaky.functionArn, QueueUrl: queue.queueUrl },
    });
  });

  clock = new VirtualClock({ factor: 0, start: START });
  model = new CloudModel(loadAssembly(assembly));
  targets = new Targets();
  targets.register('arn:aws:sqs:', async (d) => {
    sqsDeliveries.push(d);
    return { MessageId: `msg-${sqsDeliveries.length}` };
  });
  targets.register('arn:aws:events:', async (d) => {
    eventDeliveries.push(d);
    return { EventId: `evt-${eventDeliveries.length}` };
  });
  control = new ControlServer({ host: '127.0.0.1', port: 0, clock, context: { region: model.region, accountId: model.accountId } });
  const controlUrl = await control.start();
  lambda = new LambdaService(model, {
    clock,
    maxWorkersPerFunction: 2,
    baseEnvironment: () => ({
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SFN: controlUrl,
    }),
    log: (fn, _fd, text) => logs.push(`[${fn}] ${text}`),
  });
  dynamodb = await dynamodbStarting;
  ddb = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: model.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  tables = await createTables(model, ddb);

  service = new StepFunctionsService({ model, clock, targets, lambda, log: (line) => logs.push(line) });
  service.setDynamoDbEndpoint(dynamodb.endpoint);
  service.start();
  control.registerJson(service.jsonService);
  const config = { endpoint: controlUrl, region: model.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  client = new SFNClient(config);
  syncClient = new SFNClient({ ...config, disableHostPrefix: true });
});

afterAll(async () => {
  if (process.env.SFN_DEBUG) console.log(logs.join('\n'));
  client?.destroy();
  syncClient?.destroy();
  await service?.stop();
  await lambda?.stop();
  await control?.stop();
  clock?.stop();
  ddb?.destroy();
  await dynamodb?.stop();
});

async function start(stateMachineArn: string, input: unknown, name?: string): Promise<string> {
  const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input), name }));
  return executionArn!;
}

const describeExecution = (executionArn: string) => client.send(new DescribeExecutionCommand({ executionArn }));

async function history(executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

const output = (d: DescribeExecutionCommandOutput) => JSON.parse(d.output ?? 'null');

const ITEMS = [
  { sku: 'tea', qty: 2, price: 5 },
  { sku: 'cup', qty: 1, price: 7 },
  { sku: 'pot', qty: 3, price: 11 },
];

describe('state machines from a CDK app, through the real SFN client', () => {
  it('lists the template state machines with their resolved ASL, and reports what cannot run locally', async () => {
    const { stateMachines } = await client.send(new ListStateMachinesCommand({}));
    const templateMachines = model.ofType('AWS::StepFunctions::StateMachine').map((r) => r.arn);
    expect(templateMachines).toHaveLength(4);
    expect(stateMachines?.map((m) => m.stateMachineArn).sort()).toEqual([...templateMachines].sort());
    const described = await client.send(new DescribeStateMachineCommand({ stateMachineArn: ordersArn() }));
    expect(described.status).toBe('ACTIVE');
    expect(described.type).toBe('STANDARD');
    expect(described.creationDate).toBeInstanceOf(Date);
    const definition = JSON.parse(described.definition!);
    expect(definition.States.Charge.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(definition.States.Charge.Parameters.FunctionName).toBe(arnOf('Flaky', 'AWS::Lambda::Function'));

    const findings = model.diagnostics.unsupportedItems.filter((d) => d.where.includes('/Definition'));
    expect(findings).toEqual([
      {
        severity: 'unsupported',
        where: expect.stringMatching(/^Sfn\/Notify[A-Z0-9]+\/Definition\/States\/Tell\/Resource$/),
        message: expect.stringContaining('sns:publish'),
      },
    ]);
    const notify = await start(arnOf('Notify', 'AWS::StepFunctions::StateMachine'), {});
    await clock.settle();
    const failed = await describeExecution(notify);
    expect(failed).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(failed.cause).toContain('arn:aws:states:::sns:publish');

    const raw = await start(arnOf('Raw', 'AWS::StepFunctions::StateMachine'), {});
    await clock.settle();
    expect(output(await describeExecution(raw))).toEqual({
      fn: arnOf('Flaky', 'AWS::Lambda::Function'),
      queue: model.ofType('AWS::SQS::Queue')[0]!.ref,
    });
  });

  it('retries on the virtual clock, maps, waits three days exactly, then fans out to SQS, EventBridge and DynamoDB', async () => {
    const t0 = clock.now();
    const executionArn = await start(ordersArn(), { orderId: 'o-1', customer: 'Ada', items: ITEMS, express: false }, 'order-o-1');
    await clock.settle();
    // The first attempt failed; the retry waits on the virtual clock, which is frozen.
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');

    await clock.advance(2 * DAY + 23 * 3600); // retries after 1 s and 2 s, the Map, then the Wait
    const running = await describeExecution(executionArn);
    expect(running.status).toBe('RUNNING');
    expect(running.startDate?.getTime()).toBe(t0);
    expect(sqsDeliveries.filter((d) => JSON.parse(d.input).orderId === 'o-1')).toHaveLength(0);

    await clock.advance(3600 + 5);
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.stopDate!.getTime() - t0).toBe((3 * DAY + 3) * 1000);
    const out = output(done);
    expect(out.greeting).toEqual({ text: 'Hello, Ada!' });
    // Third attempt, at the virtual time the second retry fired (1 s + 2 s after the start).
    expect(out.charge).toEqual({ charged: 2 * 5 + 7 + 3 * 11, attempts: 3, at: new Date(t0 + 3000).toISOString() });
    expect(out.lines).toEqual([
      { sku: 'tea', index: 0, total: 10 },
      { sku: 'cup', index: 1, total: 7 },
      { sku: 'pot', index: 2, total: 33 },
    ]);

    const sent = sqsDeliveries.filter((d) => JSON.parse(d.input).orderId === 'o-1');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.arn).toBe(arnOf('Fulfilment', 'AWS::SQS::Queue'));
    expect(JSON.parse(sent[0]!.input)).toEqual({ orderId: 'o-1', lines: out.lines });
    const announced = eventDeliveries.filter((d) => JSON.parse(JSON.parse(d.input).Detail).orderId === 'o-1');
    expect(announced).toHaveLength(1);
    expect(announced[0]!.arn).toBe(arnOf('Shop', 'AWS::Events::EventBus'));
    expect(JSON.parse(announced[0]!.input)).toMatchObject({ Source: 'shop', DetailType: 'Order.Fulfilled', Detail: '{"orderId":"o-1"}' });
    expect(out.fulfilment).toEqual({
      messageId: `msg-${sqsDeliveries.indexOf(sent[0]!) + 1}`,
      eventId: `evt-${eventDeliveries.indexOf(announced[0]!) + 1}`,
      stored: 200,
    });
    const table = tables.find((t) => t.resource.logicalId.startsWith('OrderTable'))!;
    const item = await ddb.send(new GetItemCommand({ TableName: table.name, Key: { pk: { S: 'o-1' } } }));
    expect(item.Item).toEqual({ pk: { S: 'o-1' }, charged: { N: '50' } });

    const events = await history(executionArn);
    const waitEntered = events.find((e) => e.type === 'WaitStateEntered')!;
    const waitExited = events.find((e) => e.type === 'WaitStateExited')!;
    expect(waitExited.timestamp!.getTime() - waitEntered.timestamp!.getTime()).toBe(3 * DAY * 1000);
    expect(events.filter((e) => e.type === 'TaskFailed').map((e) => e.taskFailedEventDetails?.error)).toEqual(['FlakyError', 'FlakyError']);
  });

  it('takes the Catch path with the {Error, Cause} of the function error', async () => {
    const executionArn = await start(ordersArn(), { orderId: 'o-2', customer: 'Bob', items: ITEMS, decline: true });
    await clock.settle();
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const out = output(done);
    expect(out).toMatchObject({ orderId: 'o-2', status: 'cancelled', reason: 'PaymentDeclined' });
    expect(out.cause).toMatchObject({ errorType: 'PaymentDeclined', errorMessage: 'card declined for o-2' });
    const types = (await history(executionArn)).map((e) => e.type);
    expect(types.filter((t) => t === 'TaskScheduled')).toHaveLength(1); // not retried
    expect(types.slice(-3)).toEqual(['PassStateEntered', 'PassStateExited', 'ExecutionSucceeded']);
  });

  it('fails the execution with the function error once the retries are exhausted', async () => {
    const executionArn = await start(ordersArn(), { orderId: 'o-3', customer: 'Cy', items: ITEMS, failTimes: 10 });
    await clock.advance(1 + 2 + 3); // the last retry (after 4 s) has not fired yet
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await clock.advance(1);
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('FlakyError');
    expect(JSON.parse(done.cause!)).toMatchObject({ errorType: 'FlakyError', errorMessage: 'attempt 4 failed' });
    expect(done.output).toBeUndefined();
    const last = (await history(executionArn)).at(-1)!;
    expect(last.type).toBe('ExecutionFailed');
    expect(last.executionFailedEventDetails).toMatchObject({ error: 'FlakyError' });
  });

  it('is idempotent by name: same name and input returns the running execution; anything else is ExecutionAlreadyExists', async () => {
    const input = { orderId: 'o-5', customer: 'Di', items: ITEMS, express: false, failTimes: 0 };
    const first = await client.send(
      new StartExecutionCommand({ stateMachineArn: ordersArn(), name: 'order-o-5', input: JSON.stringify(input) }),
    );
    const again = await client.send(
      new StartExecutionCommand({ stateMachineArn: ordersArn(), name: 'order-o-5', input: JSON.stringify(input) }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate).toEqual(first.startDate);
    expect(first.executionArn).toBe(`arn:aws:states:us-east-1:000000000000:execution:${ordersArn().split(':').at(-1)}:order-o-5`);
    await expect(
      client.send(
        new StartExecutionCommand({
          stateMachineArn: ordersArn(),
          name: 'order-o-5',
          input: JSON.stringify({ ...input, customer: 'Eve' }),
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: ordersArn(), name: 'bad name!', input: '{}' })),
    ).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: ordersArn(), input: '{not json' }))).rejects.toMatchObject({
      name: 'InvalidExecutionInput',
    });
    await expect(client.send(new StartExecutionCommand({ stateMachineArn: `${ordersArn()}-missing`, input: '{}' }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
    });

    await clock.advance(3 * DAY + 1);
    expect(await describeExecution(first.executionArn!)).toMatchObject({ status: 'SUCCEEDED' });
    // Closed: the name cannot be reused, even with the same input.
    await expect(
      client.send(new StartExecutionCommand({ stateMachineArn: ordersArn(), name: 'order-o-5', input: JSON.stringify(input) })),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('stops an execution in its Wait: ABORTED at once, and nothing runs when the Wait would have ended', async () => {
    const executionArn = await start(ordersArn(), { orderId: 'o-6', customer: 'Fay', items: ITEMS, express: false, failTimes: 0 });
    await clock.settle();
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    const timersBefore = clock.pending().length;
    const stopped = await client.send(new StopExecutionCommand({ executionArn, error: 'Operator.Cancelled', cause: 'customer called' }));
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect(clock.pending().length).toBe(timersBefore - 1); // the Wait's timer is gone
    const done = await describeExecution(executionArn);
    expect(done).toMatchObject({ status: 'ABORTED', error: 'Operator.Cancelled', cause: 'customer called' });
    await clock.advance(3 * DAY + 1);
    expect((await describeExecution(executionArn)).status).toBe('ABORTED');
    expect(sqsDeliveries.some((d) => JSON.parse(d.input).orderId === 'o-6')).toBe(false);
    expect((await history(executionArn)).at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator.Cancelled' },
    });

    const { executions } = await client.send(new ListExecutionsCommand({ stateMachineArn: ordersArn(), statusFilter: 'ABORTED' }));
    expect(executions?.map((e) => e.executionArn)).toEqual([executionArn]);
    const all = await client.send(new ListExecutionsCommand({ stateMachineArn: ordersArn(), maxResults: 2 }));
    expect(all.executions).toHaveLength(2);
    expect(all.nextToken).toBeDefined();
  });

  it('records a history to debug with: states, tasks, retries, Map iterations, Parallel, in order', async () => {
    const executionArn = await start(ordersArn(), {
      orderId: 'o-7',
      customer: 'Gus',
      items: ITEMS.slice(0, 2),
      express: true,
      failTimes: 1,
    });
    await clock.advance(1);
    expect((await describeExecution(executionArn)).status).toBe('SUCCEEDED');
    const events = await history(executionArn);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    for (const e of events.slice(1)) expect(e.previousEventId).toBeLessThan(e.id!);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(types).toEqual(
      expect.arrayContaining([
        'PassStateEntered',
        'TaskStateEntered',
        'TaskScheduled',
        'TaskStarted',
        'TaskFailed',
        'TaskSucceeded',
        'TaskStateExited',
        'MapStateEntered',
        'MapStateStarted',
        'MapIterationStarted',
        'MapIterationSucceeded',
        'MapStateSucceeded',
        'ChoiceStateEntered',
        'ChoiceStateExited',
        'ParallelStateEntered',
        'ParallelStateStarted',
        'ParallelStateSucceeded',
        'ParallelStateExited',
      ]),
    );
    expect(types).not.toContain('WaitStateEntered');
    expect(types.filter((t) => t === 'MapIterationStarted')).toHaveLength(2);
    const scheduled = events.find((e) => e.type === 'TaskScheduled')!;
    expect(scheduled.taskScheduledEventDetails).toMatchObject({ resourceType: 'lambda', resource: 'invoke', region: 'us-east-1' });
    expect(JSON.parse(scheduled.taskScheduledEventDetails!.parameters!)).toMatchObject({
      FunctionName: arnOf('Flaky', 'AWS::Lambda::Function'),
    });
    expect(events.find((e) => e.type === 'ChoiceStateExited')?.stateExitedEventDetails?.name).toBe('Route');
    expect(events[0]!.executionStartedEventDetails?.input).toContain('"o-7"');

    const reversed = await client.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1, includeExecutionData: false }),
    );
    expect(reversed.events?.[0]?.type).toBe('ExecutionSucceeded');
    expect(reversed.events?.[0]?.executionSucceededEventDetails?.output).toBeUndefined();
    expect(reversed.nextToken).toBeDefined();
  });

  it('waits for a task token: SendTaskSuccess resumes, a second completion is TaskTimedOut, SendTaskFailure fails', async () => {
    const executionArn = await start(approvalArn(), { orderId: 'o-8' });
    await clock.settle();
    const message = JSON.parse(sqsDeliveries.at(-1)!.input);
    expect(message.orderId).toBe('o-8');
    expect(typeof message.token).toBe('string');
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await client.send(new SendTaskHeartbeatCommand({ taskToken: message.token }));
    await client.send(new SendTaskSuccessCommand({ taskToken: message.token, output: JSON.stringify({ approved: true, by: 'ops' }) }));
    await clock.settle();
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(output(done)).toEqual({ orderId: 'o-8', approval: { approved: true, by: 'ops' } });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: message.token, output: '{}' }))).rejects.toMatchObject({
      name: 'TaskTimedOut',
    });
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: 'AQnot-a-token', output: '{}' }))).rejects.toMatchObject({
      name: 'InvalidToken',
    });
    expect((await history(executionArn)).map((e) => e.type)).toEqual(
      expect.arrayContaining(['TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded']),
    );

    const refused = await start(approvalArn(), { orderId: 'o-9' });
    await clock.settle();
    const token = JSON.parse(sqsDeliveries.at(-1)!.input).token;
    await expect(client.send(new SendTaskSuccessCommand({ taskToken: token, output: 'not json' }))).rejects.toMatchObject({
      name: 'InvalidOutput',
    });
    await client.send(new SendTaskFailureCommand({ taskToken: token, error: 'Approval.Refused', cause: 'over budget' }));
    await clock.settle();
    expect(await describeExecution(refused)).toMatchObject({ status: 'FAILED', error: 'Approval.Refused', cause: 'over budget' });
  });

  it('times a task out on the virtual clock: heartbeats keep it alive until TimeoutSeconds', async () => {
    const executionArn = await start(approvalArn(), { orderId: 'o-10' });
    await clock.settle();
    const token = JSON.parse(sqsDeliveries.at(-1)!.input).token;
    for (let minute = 15; minute <= 45; minute += 15) {
      await clock.advance(15 * 60); // heartbeat timeout is 20 minutes
      await client.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await clock.advance(15 * 60); // 60 minutes: TimeoutSeconds
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Timeout');
    expect((await history(executionArn)).map((e) => e.type)).toContain('TaskTimedOut');

    const silent = await start(approvalArn(), { orderId: 'o-11' });
    await clock.advance(20 * 60);
    expect(await describeExecution(silent)).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('starts executions delivered to a state machine ARN (rules, schedules)', async () => {
    const input = JSON.stringify({ orderId: 'o-12', customer: 'Hal', items: [], express: true, failTimes: 0 });
    const result = (await targets.deliver({ arn: ordersArn(), input, name: 'from-rule-1' })) as { executionArn: string };
    await clock.settle();
    const done = await describeExecution(result.executionArn);
    expect(done.name).toBe('from-rule-1');
    expect(done.status).toBe('SUCCEEDED');
    expect(output(done).lines).toEqual([]);
  });
});

// -------------------------------------------------------------------------------------------------
// ASL semantics, on definitions created through CreateStateMachine

let machineCount = 0;

async function createMachine(definition: object, type: 'STANDARD' | 'EXPRESS' = 'STANDARD'): Promise<string> {
  const { stateMachineArn } = await client.send(
    new CreateStateMachineCommand({
      name: `asl-${++machineCount}`,
      definition: JSON.stringify(definition),
      roleArn: 'arn:aws:iam::000000000000:role/asl',
      type,
    }),
  );
  return stateMachineArn!;
}

/** Runs `definition` on `input` until the local cloud settles (advancing the clock first if asked). */
async function run(definition: object, input: unknown = {}, advanceSeconds = 0): Promise<DescribeExecutionCommandOutput> {
  const executionArn = await start(await createMachine(definition), input);
  if (advanceSeconds > 0) await clock.advance(advanceSeconds);
  else await clock.settle();
  return describeExecution(executionArn);
}

const single = (state: object) => ({ StartAt: 'S', States: { S: { ...state, End: true } } });
const flakyArn = () => arnOf('Flaky', 'AWS::Lambda::Function');

describe('ASL semantics (JSONPath)', () => {
  it('Pass: InputPath, Parameters with paths, context and intrinsics, Result, ResultPath, OutputPath', async () => {
    const done = await run(
      single({
        Type: 'Pass',
        InputPath: '$.order',
        Parameters: {
          'id.$': '$.id',
          'execution.$': '$$.Execution.Name',
          'state.$': '$$.State.Name',
          'entered.$': '$$.State.EnteredTime',
          'total.$': 'States.MathAdd($.a, $.b)',
          'label.$': "States.Format('order {} of {}', $.id, $$.Execution.Input.customer)",
          'tags.$': "States.Array($.a, 'x', States.ArrayLength($.list))",
          nested: { 'first.$': '$.list[0]', literal: '$.not-a-path' },
        },
        ResultPath: '$.out',
      }),
      { customer: 'Ada', order: { id: 'o1', a: 1, b: 2, list: ['p', 'q'] } },
    );
    expect(done.status).toBe('SUCCEEDED');
    const out = output(done);
    // ResultPath places the result into the state's raw input, not the InputPath selection.
    expect(Object.keys(out)).toEqual(['customer', 'order', 'out']);
    expect(out.out).toMatchObject({
      id: 'o1',
      state: 'S',
      total: 3,
      label: 'order o1 of Ada',
      tags: [1, 'x', 2],
      nested: { first: 'p', literal: '$.not-a-path' },
    });
    expect(out.out.execution).toBe(done.name);
    expect(out.out.entered).toBe(new Date(done.startDate!).toISOString());

    const withResult = await run(
      { StartAt: 'A', States: { A: { Type: 'Pass', Result: { fixed: true }, ResultPath: '$.r', OutputPath: '$.r', End: true } } },
      { keep: 1 },
    );
    expect(output(withResult)).toEqual({ fixed: true });
    const discard = await run(single({ Type: 'Pass', Result: 'ignored', ResultPath: null }), { keep: 1 });
    expect(output(discard)).toEqual({ keep: 1 });
    const nothing = await run(single({ Type: 'Pass', InputPath: null, OutputPath: null }), { keep: 1 });
    expect(output(nothing)).toEqual({});
  });

  it('fails with States.Runtime on a path that selects nothing, which no Catch (not even States.ALL) catches', async () => {
    const done = await run({
      StartAt: 'T',
      States: {
        T: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: flakyArn(), 'Payload.$': '$.missing' },
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Succeed' },
      },
    });
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toContain("The JSONPath '$.missing' specified for the field 'Payload.$' could not be found");

    const resultPath = await run(single({ Type: 'Pass', Result: 1, ResultPath: '$.a.b' }), { a: 'a string' });
    expect(resultPath).toMatchObject({ status: 'FAILED', error: 'States.ResultPathMatchFailure' });
  });

  it('Choice: operators, *Path variants, And/Or/Not, type tests, Default, and States.NoChoiceMatched', async () => {
    const choice = {
      StartAt: 'C',
      States: {
        C: {
          Type: 'Choice',
          Choices: [
            {
              And: [{ Variable: '$.n', NumericGreaterThanPath: '$.limit' }, { Not: { Variable: '$.tag', StringEquals: 'skip' } }],
              Next: 'Big',
            },
            {
              Or: [
                { Variable: '$.name', StringMatches: 'vip-*' },
                { Variable: '$.when', TimestampLessThan: '2000-01-01T00:00:00Z' },
              ],
              Next: 'Vip',
            },
            { Variable: '$.optional', IsPresent: true, Next: 'Present' },
          ],
          Default: 'Other',
        },
        Big: { Type: 'Pass', Result: 'big', End: true },
        Vip: { Type: 'Pass', Result: 'vip', End: true },
        Present: { Type: 'Pass', Result: 'present', End: true },
        Other: { Type: 'Pass', Result: 'other', End: true },
      },
    };
    const base = { n: 1, limit: 5, tag: 'x', name: 'bob', when: '2020-01-01T00:00:00Z' };
    expect(output(await run(choice, { ...base, n: 9 }))).toBe('big');
    expect(output(await run(choice, { ...base, n: 9, tag: 'skip' }))).toBe('other');
    expect(output(await run(choice, { ...base, name: 'vip-ann' }))).toBe('vip');
    expect(output(await run(choice, { ...base, when: '1999-12-31T23:59:59Z' }))).toBe('vip');
    expect(output(await run(choice, { ...base, optional: null }))).toBe('present');
    expect(output(await run(choice, base))).toBe('other');

    const noDefault = await run(
      {
        StartAt: 'C',
        States: { C: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericEquals: 1, Next: 'D' }] }, D: { Type: 'Succeed' } },
      },
      { n: 2 },
    );
    expect(noDefault).toMatchObject({ status: 'FAILED', error: 'States.NoChoiceMatched' });
    const missing = await run({
      StartAt: 'C',
      States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.gone', NumericEquals: 1, Next: 'D' }], Default: 'D' },
        D: { Type: 'Succeed' },
      },
    });
    expect(missing).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('Wait: SecondsPath and TimestampPath on the virtual clock', async () => {
    const definition = {
      StartAt: 'ForSeconds',
      States: {
        ForSeconds: { Type: 'Wait', SecondsPath: '$.delay', Next: 'Until' },
        Until: { Type: 'Wait', TimestampPath: '$.until', Next: 'Done' },
        Done: { Type: 'Pass', Parameters: { 'at.$': '$$.State.EnteredTime' }, End: true },
      },
    };
    const until = new Date(clock.now() + 3600_000).toISOString();
    const executionArn = await start(await createMachine(definition), { delay: 60, until });
    await clock.advance(59);
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await clock.advance(3600 - 59 - 1);
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await clock.advance(1);
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(output(done)).toEqual({ at: until });

    const bad = await run(single({ Type: 'Wait', TimestampPath: '$.until' }), { until: 'tomorrow' });
    expect(bad).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
  });

  it('Fail: Error and Cause, or ErrorPath and CausePath', async () => {
    expect(await run(single({ Type: 'Fail', Error: 'Order.Invalid', Cause: 'no items' }))).toMatchObject({
      status: 'FAILED',
      error: 'Order.Invalid',
      cause: 'no items',
    });
    const fromPaths = await run(single({ Type: 'Fail', ErrorPath: '$.code', CausePath: "States.Format('bad order {}', $.id)" }), {
      code: 'E42',
      id: 7,
    });
    expect(fromPaths).toMatchObject({ status: 'FAILED', error: 'E42', cause: 'bad order 7' });
  });

  it('Parallel: results in branch order; a failing branch cancels its siblings and is caught with {Error, Cause}', async () => {
    const ok = await run(
      {
        StartAt: 'P',
        States: {
          P: {
            Type: 'Parallel',
            Branches: [
              {
                StartAt: 'Slow',
                States: { Slow: { Type: 'Wait', Seconds: 10, Next: 'One' }, One: { Type: 'Pass', Result: 1, End: true } },
              },
              { StartAt: 'Two', States: { Two: { Type: 'Pass', Parameters: { 'v.$': '$.v' }, End: true } } },
            ],
            ResultSelector: { 'first.$': '$[0]', 'second.$': '$[1].v' },
            End: true,
          },
        },
      },
      { v: 2 },
      10,
    );
    expect(output(ok)).toEqual({ first: 1, second: 2 });

    const timers = clock.pending().length;
    const caught = await run(
      {
        StartAt: 'P',
        States: {
          P: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'Long', States: { Long: { Type: 'Wait', Seconds: 86400, End: true } } },
              { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Branch.Failed', Cause: 'boom' } } },
            ],
            Catch: [{ ErrorEquals: ['Branch.Failed'], ResultPath: '$.error', Next: 'Recovered' }],
            End: true,
          },
          Recovered: { Type: 'Pass', End: true },
        },
      },
      { id: 1 },
    );
    expect(caught.status).toBe('SUCCEEDED');
    expect(output(caught)).toEqual({ id: 1, error: { Error: 'Branch.Failed', Cause: 'boom' } });
    expect(clock.pending().length).toBe(timers); // the cancelled branch's Wait left no timer behind
  });

  it('Map: ItemSelector with $$.Map.Item, MaxConcurrency, ResultSelector; a non-array is States.Runtime', async () => {
    const definition = {
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemsPath: '$.values',
          MaxConcurrency: 1,
          ItemSelector: { 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value', 'factor.$': '$.factor' },
          ItemProcessor: {
            ProcessorConfig: { Mode: 'INLINE' },
            StartAt: 'Pause',
            States: {
              Pause: { Type: 'Wait', Seconds: 5, Next: 'Times' },
              Times: {
                Type: 'Pass',
                Parameters: { 'i.$': '$.index', 'entered.$': '$$.State.EnteredTime', 'v.$': 'States.MathAdd($.value, $.factor)' },
                End: true,
              },
            },
          },
          ResultPath: '$.results',
          End: true,
        },
      },
    };
    const t0 = clock.now();
    const done = await run(definition, { values: [10, 20, 30], factor: 1 }, 15);
    expect(done.status).toBe('SUCCEEDED');
    const results = output(done).results as Array<{ i: number; v: number; entered: string }>;
    expect(results.map((r) => [r.i, r.v])).toEqual([
      [0, 11],
      [1, 21],
      [2, 31],
    ]);
    // One at a time: each iteration waited its 5 s after the previous one.
    expect(results.map((r) => (Date.parse(r.entered) - t0) / 1000)).toEqual([5, 10, 15]);

    const legacy = await run(
      { StartAt: 'M', States: { M: { Type: 'Map', Iterator: { StartAt: 'X', States: { X: { Type: 'Pass', End: true } } }, End: true } } },
      [],
    );
    expect(output(legacy)).toEqual([]);
    expect(
      await run(single({ Type: 'Map', ItemsPath: '$.n', ItemProcessor: { StartAt: 'X', States: { X: { Type: 'Succeed' } } } }), { n: 1 }),
    ).toMatchObject({
      status: 'FAILED',
      error: 'States.Runtime',
    });
  });

  it('Retry: IntervalSeconds, BackoffRate and MaxDelaySeconds on the virtual clock, RetryCount, a plain Lambda ARN as Resource', async () => {
    const definition = {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: flakyArn(),
          Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 5, MaxDelaySeconds: 5 }],
          ResultSelector: { 'attempts.$': '$.attempts', 'retries.$': '$$.State.RetryCount' },
          End: true,
        },
      },
    };
    const executionArn = await start(await createMachine(definition), { orderId: 'retry-1', failTimes: 3 });
    // Attempts at 0 s, 2 s, 2+5 (6 capped to 5) = 7 s, 7+5 = 12 s.
    await clock.advance(11);
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await clock.advance(1);
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(output(done)).toEqual({ attempts: 4, retries: 3 });
    const types = (await history(executionArn)).map((e) => e.type);
    expect(types.filter((t) => t === 'LambdaFunctionFailed')).toHaveLength(3);
    expect(types).toContain('LambdaFunctionSucceeded');
  });

  it('an unsupported resource fails with a States.Runtime cause naming it, and is reported statically', async () => {
    const definition = single({ Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: 'x', Message: 'm' } });
    const done = await run(definition);
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(done.cause).toContain('sns:publish');
    const problems = analyzeDefinition(JSON.stringify(definition));
    expect(problems.unsupported).toEqual([{ path: '/States/S/Resource', message: expect.stringContaining('sns:publish') }]);
    const jsonata = analyzeDefinition(
      JSON.stringify({ QueryLanguage: 'JSONata', StartAt: 'S', States: { S: { Type: 'Pass', End: true } } }),
    );
    expect(jsonata.unsupported[0]?.message).toContain('JSONata');
    expect(
      analyzeDefinition(
        JSON.stringify(
          single({
            Type: 'Map',
            ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' }, StartAt: 'X', States: { X: { Type: 'Succeed' } } },
          }),
        ),
      ).unsupported[0]?.message,
    ).toContain('distributed');
    expect(analyzeDefinition('{"StartAt":').fatal).toContain('not valid JSON');
  });

  it('execution TimeoutSeconds ends the execution as TIMED_OUT', async () => {
    const executionArn = await start(
      await createMachine({ TimeoutSeconds: 60, StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 3600, End: true } } }),
      {},
    );
    await clock.advance(60);
    expect(await describeExecution(executionArn)).toMatchObject({ status: 'TIMED_OUT', error: 'States.Timeout' });
    expect((await history(executionArn)).at(-1)?.type).toBe('ExecutionTimedOut');
  });

  it('states:startExecution.sync:2 waits for the child execution and returns its output', async () => {
    const child = await createMachine({
      StartAt: 'W',
      States: {
        W: { Type: 'Wait', Seconds: 30, Next: 'P' },
        P: { Type: 'Pass', Parameters: { 'doubled.$': 'States.MathAdd($.n, $.n)' }, End: true },
      },
    });
    const parent = await createMachine({
      StartAt: 'Child',
      States: {
        Child: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution.sync:2',
          Parameters: { StateMachineArn: child, Input: { 'n.$': '$.n' }, 'Name.$': "States.Format('child-of-{}', $$.Execution.Name)" },
          OutputPath: '$.Output',
          End: true,
        },
      },
    });
    const executionArn = await start(parent, { n: 21 }, 'parent-1');
    await clock.advance(29);
    expect((await describeExecution(executionArn)).status).toBe('RUNNING');
    await clock.advance(1);
    const done = await describeExecution(executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(output(done)).toEqual({ doubled: 42 });
    const children = await client.send(new ListExecutionsCommand({ stateMachineArn: child }));
    expect(children.executions?.map((e) => [e.name, e.status])).toEqual([['child-of-parent-1', 'SUCCEEDED']]);
  });

  it('StartSyncExecution runs an EXPRESS state machine to its end', async () => {
    const express = await createMachine(single({ Type: 'Pass', Parameters: { 'hash.$': "States.Hash($.s, 'SHA-256')" } }), 'EXPRESS');
    const result = await syncClient.send(new StartSyncExecutionCommand({ stateMachineArn: express, input: JSON.stringify({ s: 'abc' }) }));
    expect(result.status).toBe('SUCCEEDED');
    expect(JSON.parse(result.output!)).toEqual({ hash: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' });
    expect(result.executionArn).toMatch(/:express:/);
    await expect(syncClient.send(new StartSyncExecutionCommand({ stateMachineArn: ordersArn(), input: '{}' }))).rejects.toMatchObject({
      name: 'StateMachineTypeNotSupported',
    });
  });

  it('lambda:invoke.waitForTaskToken: the function completes its task through the SFN API', async () => {
    const done = await run(
      single({
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: {
          FunctionName: arnOf('Approver', 'AWS::Lambda::Function'),
          Payload: { 'token.$': '$$.Task.Token', 'orderId.$': '$.orderId' },
        },
        HeartbeatSeconds: 60,
        ResultPath: '$.approval',
      }),
      { orderId: 'cb-1' },
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(output(done)).toEqual({ orderId: 'cb-1', approval: { approvedBy: 'lambda', orderId: 'cb-1' } });
  });

  it('dynamodb:updateItem, getItem and deleteItem on DynamoDB Local; a failed condition is DynamoDB.ConditionalCheckFailedException', async () => {
    const tableName = tables.find((t) => t.resource.logicalId.startsWith('OrderTable'))!.name;
    const key = { pk: { 'S.$': '$.id' } };
    const done = await run(
      {
        StartAt: 'Count',
        States: {
          Count: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:updateItem',
            Parameters: {
              TableName: tableName,
              Key: key,
              UpdateExpression: 'ADD hits :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
              ReturnValues: 'ALL_NEW',
            },
            ResultSelector: { 'hits.$': '$.Attributes.hits.N' },
            ResultPath: '$.counted',
            Next: 'Read',
          },
          Read: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:getItem',
            Parameters: { TableName: tableName, Key: key },
            ResultSelector: { 'item.$': '$.Item' },
            ResultPath: '$.read',
            Next: 'Insist',
          },
          Insist: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:putItem',
            Parameters: { TableName: tableName, Item: { pk: { 'S.$': '$.id' } }, ConditionExpression: 'attribute_not_exists(pk)' },
            Catch: [{ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: '$.conflict', Next: 'Remove' }],
            Next: 'Remove',
          },
          Remove: {
            Type: 'Task',
            Resource: 'arn:aws:states:::dynamodb:deleteItem',
            Parameters: { TableName: tableName, Key: key, ReturnValues: 'ALL_OLD' },
            ResultSelector: { 'removed.$': '$.Attributes.pk.S' },
            ResultPath: '$.removed',
            End: true,
          },
        },
      },
      { id: 'ddb-1' },
    );
    expect(done.status).toBe('SUCCEEDED');
    const out = output(done);
    expect(out.counted).toEqual({ hits: '1' });
    expect(out.read.item).toEqual({ pk: { S: 'ddb-1' }, hits: { N: '1' } });
    expect(out.conflict.Error).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(out.conflict.Cause).toContain('Error Code: ConditionalCheckFailedException');
    expect(out.removed).toEqual({ removed: 'ddb-1' });
    const gone = await ddb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'ddb-1' } } }));
    expect(gone.Item).toBeUndefined();
  });

  it('never blocks the local cloud: a state loop yields, and ends at the history limit with States.Runtime', async () => {
    const loop = await createMachine({
      StartAt: 'Check',
      States: {
        Check: { Type: 'Choice', Choices: [{ Variable: '$.i', NumericGreaterThanEquals: 1000000, Next: 'Done' }], Default: 'Inc' },
        Inc: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)' }, Next: 'Check' },
        Done: { Type: 'Succeed' },
      },
    });
    const executionArn = await start(loop, { i: 0 });
    // The API still answers while the loop runs.
    expect(['RUNNING', 'FAILED']).toContain((await describeExecution(executionArn)).status);
    await clock.settle();
    const done = await describeExecution(executionArn);
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(done.cause).toContain('25000 history events');
  });

  it('answers unknown executions and malformed ARNs with the errors AWS uses', async () => {
    await expect(describeExecution(`${ordersArn().replace(':stateMachine:', ':execution:')}:nope`)).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
    await expect(describeExecution('not-an-arn')).rejects.toMatchObject({ name: 'InvalidArn' });
    await expect(client.send(new DescribeStateMachineCommand({ stateMachineArn: `${ordersArn()}x` }))).rejects.toMatchObject({
      name: 'StateMachineDoesNotExist',
    });
  });
});

// -------------------------------------------------------------------------------------------------
// Units: JSONPath, intrinsic functions, Choice rules

describe('JSONPath subset', () => {
  const doc = {
    a: { b: 1, 'odd key': 2, list: [{ id: 1, tag: 'x' }, { id: 2 }, { id: 3, tag: 'y' }] },
    n: null,
    arr: [10, 20, 30, 40],
  };
  it('selects with definite paths', () => {
    expect(query('$', doc)).toEqual({ found: true, value: doc });
    expect(query('$.a.b', doc)).toEqual({ found: true, value: 1 });
    expect(query("$['a']['odd key']", doc)).toEqual({ found: true, value: 2 });
    expect(query('$.a["b"]', doc)).toEqual({ found: true, value: 1 });
    expect(query('$.a.list[1].id', doc)).toEqual({ found: true, value: 2 });
    expect(query('$.arr[-1]', doc)).toEqual({ found: true, value: 40 });
    expect(query('$.n', doc)).toEqual({ found: true, value: null });
    expect(query('$.a.missing', doc)).toEqual({ found: false });
    expect(query('$.arr[9]', doc)).toEqual({ found: false });
    expect(query('$.a.b.c', doc)).toEqual({ found: false });
    expect(parsePath('$$.Execution.Id').context).toBe(true);
  });
  it('selects lists with wildcards, slices, unions, deep scan and filters', () => {
    expect(query('$.a.list[*].id', doc)).toEqual({ found: true, value: [1, 2, 3] });
    expect(query('$.a.list[*].tag', doc)).toEqual({ found: true, value: ['x', 'y'] });
    expect(query('$.arr[1:3]', doc)).toEqual({ found: true, value: [20, 30] });
    expect(query('$.arr[:2]', doc)).toEqual({ found: true, value: [10, 20] });
    expect(query('$.arr[0,2]', doc)).toEqual({ found: true, value: [10, 30] });
    expect(query('$..id', doc)).toEqual({ found: true, value: [1, 2, 3] });
    expect(query('$.a.list[?(@.id > 1)].id', doc)).toEqual({ found: true, value: [2, 3] });
    expect(query("$.a.list[?(@.tag == 'y' || @.id == 1)].id", doc)).toEqual({ found: true, value: [1, 3] });
    expect(query('$.a.list[?(@.tag)].id', doc)).toEqual({ found: true, value: [1, 3] });
    expect(query('$.nothing[*]', doc)).toEqual({ found: true, value: [] });
  });
  it('sets values at reference paths without touching the original', () => {
    const original = { a: { b: 1 } };
    expect(setPath(original, '$.a.c', 2)).toEqual({ a: { b: 1, c: 2 } });
    expect(setPath(original, '$.x.y', 3)).toEqual({ a: { b: 1 }, x: { y: 3 } });
    expect(setPath(original, '$', 4)).toBe(4);
    expect(setPath({ l: [1, 2] }, '$.l[1]', 9)).toEqual({ l: [1, 9] });
    expect(original).toEqual({ a: { b: 1 } });
    expect(() => setPath({ a: 'text' }, '$.a.b', 1)).toThrow(/object was expected/);
    expect(() => setPath({}, '$.a[*]', 1)).toThrow(/reference path/);
  });
  it('rejects malformed paths', () => {
    expect(() => parsePath('a.b')).toThrow(/must start with \$/);
    expect(() => parsePath('$.')).toThrow(/name is missing/);
    expect(() => parsePath("$['a")).toThrow(/unterminated/);
    expect(() => parsePath('$.a[')).toThrow();
  });
});

describe('integrations', () => {
  it('derives the queue ARN from a queue URL of any style', () => {
    const expected = 'arn:aws:sqs:us-east-1:000000000000:jobs.fifo';
    expect(queueArnFromUrl('https://sqs.us-east-1.amazonaws.com/000000000000/jobs.fifo', model)).toBe(expected);
    expect(queueArnFromUrl('http://127.0.0.1:3002/000000000000/jobs.fifo', model)).toBe(expected);
    expect(queueArnFromUrl('http://localhost:4566/queue/us-east-1/000000000000/jobs.fifo', model)).toBe(expected);
    expect(queueArnFromUrl('jobs.fifo', model)).toBe(expected);
  });
  it('tells which Task resources run locally', () => {
    expect(unsupportedResource('arn:aws:states:::lambda:invoke')).toBeUndefined();
    expect(unsupportedResource('arn:aws:states:::lambda:invoke.waitForTaskToken')).toBeUndefined();
    expect(unsupportedResource('arn:aws:lambda:us-east-1:000000000000:function:fn')).toBeUndefined();
    expect(unsupportedResource('arn:aws:states:::dynamodb:putItem')).toBeUndefined();
    expect(unsupportedResource('arn:aws:states:::states:startExecution.sync:2')).toBeUndefined();
    expect(unsupportedResource('arn:aws:states:::dynamodb:putItem.sync')).toContain('does not support');
    expect(unsupportedResource('arn:aws:states:::aws-sdk:s3:getObject')).toContain('AWS SDK integrations');
    expect(unsupportedResource('arn:aws:states:us-east-1:000000000000:activity:a')).toContain('activities');
  });
});

describe('intrinsic functions', () => {
  const scope = {
    input: { name: 'Ada', n: 3, list: [1, 2, 2, 3, 4], obj: { a: 1 }, json: '{"k":[1]}', csv: 'a,b;c' },
    context: { Execution: { Name: 'e1' } },
  };
  const ev = (text: string) => evaluateIntrinsic(text, scope);
  const failure = (text: string) => {
    try {
      ev(text);
    } catch (error) {
      return (error as StatesError).error;
    }
    return 'no error';
  };
  it('evaluates every function', () => {
    expect(ev("States.Format('Hi {}, {} \\{literal\\} it\\'s', $.name, $$.Execution.Name)")).toBe("Hi Ada, e1 {literal} it's");
    expect(ev('States.StringToJson($.json)')).toEqual({ k: [1] });
    expect(ev('States.JsonToString($.obj)')).toBe('{"a":1}');
    expect(ev("States.Array(1, 'two', true, null, $.obj)")).toEqual([1, 'two', true, null, { a: 1 }]);
    expect(ev('States.ArrayPartition($.list, 2)')).toEqual([[1, 2], [2, 3], [4]]);
    expect(ev('States.ArrayContains($.list, 4)')).toBe(true);
    expect(ev('States.ArrayRange(1, 9, 3)')).toEqual([1, 4, 7]);
    expect(ev('States.ArrayGetItem($.list, 4)')).toBe(4);
    expect(ev('States.ArrayLength($.list)')).toBe(5);
    expect(ev('States.ArrayUnique($.list)')).toEqual([1, 2, 3, 4]);
    expect(ev("States.Base64Encode('Data to encode')")).toBe('RGF0YSB0byBlbmNvZGU=');
    expect(ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')")).toBe('Data to encode');
    expect(ev("States.Hash('input data', 'MD5')")).toBe('812f45842bc6d66ee14572ce20db8e86');
    expect(ev('States.JsonMerge($.obj, States.StringToJson(\'{"b":2,"a":0}\'), false)')).toEqual({ a: 0, b: 2 });
    const r = ev('States.MathRandom(1, 10)') as number;
    expect(r >= 1 && r < 10 && Number.isInteger(r)).toBe(true);
    expect(ev('States.MathRandom(1, 1000, 7)')).toBe(ev('States.MathRandom(1, 1000, 7)'));
    expect(ev('States.MathAdd($.n, -1)')).toBe(2);
    expect(ev("States.StringSplit($.csv, ',;')")).toEqual(['a', 'b', 'c']);
    expect(ev('States.UUID()')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('fails with States.IntrinsicFailure on bad arguments and States.Runtime on bad syntax or paths', () => {
    expect(failure("States.Format('{} {}', 1)")).toBe('States.IntrinsicFailure');
    expect(failure("States.Format('{}', $.obj)")).toBe('States.IntrinsicFailure');
    expect(failure("States.StringToJson('{nope')")).toBe('States.IntrinsicFailure');
    expect(failure('States.ArrayGetItem($.list, 5)')).toBe('States.IntrinsicFailure');
    expect(failure('States.JsonMerge($.obj, $.obj, true)')).toBe('States.IntrinsicFailure');
    expect(failure("States.Hash('x', 'SHA-3')")).toBe('States.IntrinsicFailure');
    expect(failure('States.ArrayRange(0, 2000, 1)')).toBe('States.IntrinsicFailure');
    expect(failure('States.Nope(1)')).toBe('States.Runtime');
    expect(failure('States.MathAdd(1, 2')).toBe('States.Runtime');
    expect(failure('States.ArrayLength($.gone)')).toBe('States.Runtime');
  });
});

describe('Choice rules', () => {
  const input = { s: 'b', n: 5, t: '2026-01-02T03:04:05Z', yes: true, nil: null, other: 'c', num2: 5 };
  const rule = (r: object) => evaluateRule(r as Record<string, unknown>, input, {});
  it('compares strings, numbers, booleans and timestamps, with *Path variants', () => {
    expect(rule({ Variable: '$.s', StringEquals: 'b' })).toBe(true);
    expect(rule({ Variable: '$.s', StringLessThan: 'c' })).toBe(true);
    expect(rule({ Variable: '$.s', StringGreaterThanEquals: 'b' })).toBe(true);
    expect(rule({ Variable: '$.s', StringLessThanPath: '$.other' })).toBe(true);
    expect(rule({ Variable: '$.n', NumericEquals: 5 })).toBe(true);
    expect(rule({ Variable: '$.n', NumericLessThanEquals: 4 })).toBe(false);
    expect(rule({ Variable: '$.n', NumericEqualsPath: '$.num2' })).toBe(true);
    expect(rule({ Variable: '$.yes', BooleanEquals: true })).toBe(true);
    expect(rule({ Variable: '$.yes', BooleanEqualsPath: '$.yes' })).toBe(true);
    expect(rule({ Variable: '$.t', TimestampGreaterThan: '2026-01-02T03:04:04Z' })).toBe(true);
    expect(rule({ Variable: '$.t', TimestampEquals: '2026-01-02T04:04:05+01:00' })).toBe(true);
    expect(rule({ Variable: '$.t', TimestampLessThanEqualsPath: '$.t' })).toBe(true);
    // Another type compares false, never an error.
    expect(rule({ Variable: '$.s', NumericEquals: 5 })).toBe(false);
    expect(rule({ Variable: '$.n', StringEquals: '5' })).toBe(false);
  });
  it('tests types and presence, matches wildcards, combines with And/Or/Not', () => {
    expect(rule({ Variable: '$.nil', IsNull: true })).toBe(true);
    expect(rule({ Variable: '$.n', IsNumeric: true })).toBe(true);
    expect(rule({ Variable: '$.s', IsString: false })).toBe(false);
    expect(rule({ Variable: '$.yes', IsBoolean: true })).toBe(true);
    expect(rule({ Variable: '$.t', IsTimestamp: true })).toBe(true);
    expect(rule({ Variable: '$.s', IsTimestamp: true })).toBe(false);
    expect(rule({ Variable: '$.gone', IsPresent: false })).toBe(true);
    expect(evaluateRule({ Variable: '$.f', StringMatches: 'log-*.txt' }, { f: 'log-2026.txt' }, {})).toBe(true);
    expect(evaluateRule({ Variable: '$.f', StringMatches: 'a\\*b' }, { f: 'a*b' }, {})).toBe(true);
    expect(evaluateRule({ Variable: '$.f', StringMatches: 'a\\*b' }, { f: 'axxb' }, {})).toBe(false);
    expect(rule({ And: [{ Variable: '$.n', NumericGreaterThan: 1 }, { Not: { Variable: '$.s', StringEquals: 'x' } }] })).toBe(true);
    expect(
      rule({
        Or: [
          { Variable: '$.n', NumericGreaterThan: 10 },
          { Variable: '$.yes', BooleanEquals: false },
        ],
      }),
    ).toBe(false);
  });
  it('raises States.Runtime when the Variable (or a *Path operand) selects nothing', () => {
    expect(() => rule({ Variable: '$.gone', StringEquals: 'x' })).toThrow(StatesError);
    expect(() => rule({ Variable: '$.s', StringEqualsPath: '$.gone' })).toThrow(/Invalid path/);
  });
});
