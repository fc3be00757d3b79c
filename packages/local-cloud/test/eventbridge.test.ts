/**
 * The local EventBridge through the real `@aws-sdk/client-eventbridge`: PutEvents validation, buses
 * and rules from a CDK fixture (content filters, an input transformer, an input path, a FIFO
 * target), asynchronous delivery with retries on the virtual clock and a dead-letter queue,
 * bus-to-bus routing, scheduled rules, the rule/target API and TestEventPattern.
 *
 * The harness wires the service the way the local cloud does (control server, virtual clock,
 * shared `Targets`), with fake SQS handlers that record what they receive, and Lambda deliveries
 * that run the fixture function for real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import { type CfnRule, EventBus, EventField, Match, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { EventBus as EventBusTarget, LambdaFunction, SnsTopic, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Code, Function as LambdaFn, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  DeleteRuleCommand,
  DescribeEventBusCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { synthFixture, rejection } from '../src/testing';
import { loadAssembly } from '../src/assembly';
import { CloudModel } from '../src/model';
import { VirtualClock } from '../src/clock';
import { ControlServer } from '../src/control';
import { Targets, type Delivery } from '../src/targets';
import { AwsError } from '../src/aws-protocol';
import { LambdaService, type InvokeResult } from '../src/lambda/service';
import { reportTemplateCoverage } from '../src/coverage';
import { EventBridgeService } from '../src/events/service';
import { compilePath, compileTransformer } from '../src/events/transform';
import { parseSchedule } from '../src/events/schedule';
import type { DeadLetterDelivery } from '../src/events/dispatch';
import { ec2StateChange } from './support/aws-samples';

const START = Date.parse('2030-01-01T00:00:00Z');
const SINK = `exports.handler = async (event) => { console.log('EVENT ' + JSON.stringify(event)); };`;

interface Received {
  readonly arn: string;
  readonly body: string;
  readonly at: number;
  readonly groupId?: string;
  readonly dedupId?: string;
  readonly attributes?: DeadLetterDelivery['messageAttributes'];
}

let model: CloudModel;
let clock: VirtualClock;
let control: ControlServer;
let lambda: LambdaService;
let service: EventBridgeService;
let client: EventBridgeClient;
const received: Received[] = [];
const flakyAttempts: number[] = [];
const functionOutput: string[] = [];
const logs: string[] = [];
const invocations: Array<Promise<InvokeResult>> = [];

const queueArn = (logicalPrefix: string) =>
  model.resources.find((r) => r.type === 'AWS::SQS::Queue' && r.logicalId.startsWith(logicalPrefix))!.arn!;
const messages = (logicalPrefix: string) => received.filter((m) => m.arn === queueArn(logicalPrefix));
const bodies = (logicalPrefix: string) => messages(logicalPrefix).map((m) => JSON.parse(m.body) as unknown);
const lambdaEvents = () =>
  functionOutput.filter((l) => l.startsWith('EVENT ')).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);
const settle = () => clock.settle(20_000);

function entry(detail: Record<string, unknown>, overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry {
  return { EventBusName: 'Orders', Source: 'shop.eu', DetailType: 'Order Placed', Detail: JSON.stringify(detail), ...overrides };
}

async function put(...entries: PutEventsRequestEntry[]) {
  const result = await client.send(new PutEventsCommand({ Entries: entries }));
  expect(result.FailedEntryCount).toBe(0);
  return result.Entries!.map((e) => e.EventId!);
}

beforeAll(async () => {
  const assembly = synthFixture((app) => {
    const stack = new Stack(app, 'Events');
    const bus = new EventBus(stack, 'OrdersBus', { eventBusName: 'Orders' });
    const sink = new LambdaFn(stack, 'Sink', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline(SINK) });
    const details = new Queue(stack, 'Details');
    const all = new Queue(stack, 'All');
    const ordered = new Queue(stack, 'Ordered', { fifo: true });
    const flaky = new Queue(stack, 'Flaky');
    const dlq = new Queue(stack, 'Dlq');
    const forwarded = new Queue(stack, 'Forwarded');
    const ticks = new Queue(stack, 'Ticks');
    const gone = Queue.fromQueueArn(stack, 'Gone', 'arn:aws:sqs:us-east-1:000000000000:gone');

    new Rule(stack, 'Placed', {
      eventBus: bus,
      eventPattern: {
        source: Match.prefix('shop.'),
        detailType: ['Order Placed'],
        detail: {
          status: Match.anythingBut('cancelled'),
          amount: Match.greaterThan(100),
          coupon: Match.exists(),
          $or: [{ channel: ['web'] }, { vip: [true] }],
        },
      },
      targets: [
        new LambdaFunction(sink, {
          event: RuleTargetInput.fromObject({
            orderId: EventField.fromPath('$.detail.id'),
            summary: `Order ${EventField.fromPath('$.detail.id')} for ${EventField.fromPath('$.detail.amount')}`,
            amount: EventField.fromPath('$.detail.amount'),
            detail: EventField.fromPath('$.detail'),
            inline: `detail=${EventField.fromPath('$.detail.tags')}`,
            rule: '<aws.events.rule-name>',
            missing: EventField.fromPath('$.detail.nothing'),
          }),
        }),
        new SqsQueue(details, { message: RuleTargetInput.fromEventPath('$.detail') }),
        new SqsQueue(ordered, {
          messageGroupId: 'orders',
          message: RuleTargetInput.fromText(`order ${EventField.fromPath('$.detail.id')}`),
        }),
        new SqsQueue(all),
      ],
    });
    new Rule(stack, 'Retried', {
      eventBus: bus,
      eventPattern: { detailType: ['Retry Me'] },
      targets: [
        new SqsQueue(flaky, { retryAttempts: 2, maxEventAge: Duration.hours(1), deadLetterQueue: dlq }),
        new SqsQueue(gone, { deadLetterQueue: dlq }),
      ],
    });
    new Rule(stack, 'Aging', {
      eventBus: bus,
      eventPattern: { detailType: ['Age Me'] },
      targets: [new SqsQueue(flaky, { maxEventAge: Duration.seconds(60), deadLetterQueue: dlq })],
    });
    new Rule(stack, 'Forward', {
      eventBus: bus,
      eventPattern: { detailType: ['Forward'] },
      targets: [new EventBusTarget(EventBus.fromEventBusName(stack, 'DefaultBus', 'default'))],
    });
    new Rule(stack, 'OnDefault', { eventPattern: { detailType: ['Forward'] }, targets: [new SqsQueue(forwarded)] });
    new Rule(stack, 'Daily', {
      schedule: Schedule.cron({ minute: '0', hour: '12' }),
      targets: [new SqsQueue(ticks, { message: RuleTargetInput.fromObject({ at: EventField.time, kind: EventField.detailType }) })],
    });
    const alerts = new Rule(stack, 'Alerts', {
      eventBus: bus,
      eventPattern: { source: ['alerts'] },
      targets: [new SnsTopic(new Topic(stack, 'Topic'))],
    });
    (alerts.node.defaultChild as CfnRule).addPropertyOverride('Targets.0.HttpParameters', { HeaderParameters: { a: 'b' } });
    bus.archive('Archive', { eventPattern: { source: ['shop.eu'] }, retention: Duration.days(1) });
  });

  model = new CloudModel(loadAssembly(assembly));
  reportTemplateCoverage(model);
  clock = new VirtualClock({ factor: 0, start: START });
  const targets = new Targets();
  lambda = new LambdaService(model, {
    clock,
    baseEnvironment: () => ({ AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
    log: (_fn, _fd, text) => functionOutput.push(...text.split('\n').filter(Boolean)),
  });
  const knownQueues = new Set(model.ofType('AWS::SQS::Queue').map((q) => q.arn));
  targets.register('arn:aws:sqs:', async (delivery: Delivery) => {
    if (delivery.arn === queueArn('Flaky')) {
      flakyAttempts.push(clock.now());
      throw new AwsError('InternalError', 'simulated queue outage', 500);
    }
    if (!knownQueues.has(delivery.arn))
      throw new AwsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    received.push({
      arn: delivery.arn,
      body: delivery.input,
      at: clock.now(),
      groupId: delivery.messageGroupId,
      dedupId: delivery.messageDeduplicationId,
      attributes: (delivery as Partial<DeadLetterDelivery>).messageAttributes,
    });
  });
  // Lambda targets are asynchronous invocations: accepted at once, run in the background.
  targets.register('arn:aws:lambda:', async (delivery: Delivery) => {
    const fn = lambda.get(delivery.arn);
    if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${delivery.arn}`);
    invocations.push(fn.invoke(JSON.parse(delivery.input)));
  });
  control = new ControlServer({ host: '127.0.0.1', port: 0, clock, context: { region: model.region, accountId: model.accountId } });
  const url = await control.start();
  service = new EventBridgeService({ model, clock, targets, lambda, log: (line) => logs.push(line) });
  control.registerJson(service.jsonService);
  service.start();
  client = new EventBridgeClient({
    endpoint: url,
    region: model.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  service?.stop();
  clock?.stop();
  await lambda?.stop();
  await control?.stop();
});

describe('PutEvents', () => {
  it('reports invalid entries one by one, in request order, and accepts the rest', async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ id: 'ok' }, { DetailType: 'Nothing Matches' }),
          { DetailType: 'x', Detail: '{}' },
          { Source: 'shop.eu', Detail: '{}' },
          { Source: 'shop.eu', DetailType: 'x' },
          { Source: 'shop.eu', DetailType: 'x', Detail: '"a string"' },
          { Source: 'shop.eu', DetailType: 'x', Detail: '[1, 2]' },
          { Source: 'shop.eu', DetailType: 'x', Detail: '{"broken": ' },
          { Source: 'aws.s3', DetailType: 'x', Detail: '{}' },
          entry({ id: 'to a missing bus' }, { EventBusName: 'no-such-bus' }),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(7);
    expect(result.Entries![0]!.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.Entries!.slice(1, 8)).toEqual([
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source is not valid. Reason: Source is a required argument.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter DetailType is not valid. Reason: DetailType is a required argument.' },
      { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid. Reason: Detail is a required argument.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
      { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' },
    ]);
    // AWS accepts an event for a bus that does not exist (and drops it).
    expect(result.Entries![8]!.EventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses more than 10 entries, no entries, and more than 256 KB in total', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => entry({ i }));
    const tooMany = await rejection(client.send(new PutEventsCommand({ Entries: eleven })));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.message).toMatch(/Member must have length less than or equal to 10/);
    expect((await rejection(client.send(new PutEventsCommand({ Entries: [] })))).name).toBe('ValidationException');
    const big = JSON.stringify({ blob: 'x'.repeat(130 * 1024) });
    const tooBig = await rejection(
      client.send(new PutEventsCommand({ Entries: [entry({}, { Detail: big }), entry({}, { Detail: big })] })),
    );
    expect(tooBig.name).toBe('ValidationException');
    expect(tooBig.message).toBe('Total size of the entries in the request is over the limit.');
    await settle();
  });

  it('returns before anything is delivered', async () => {
    const before = messages('All').length;
    const result = await service.putEvents([entry({ id: 'o-async', status: 'paid', amount: 500, coupon: 'A', channel: 'web' })]);
    expect(result.FailedEntryCount).toBe(0);
    expect(messages('All').length).toBe(before);
    await settle();
    expect(messages('All').length).toBe(before + 1);
  });
});

describe('buses and rules from the template', () => {
  it('answers DescribeEventBus by name and ARN, and lists the default bus too', async () => {
    const byName = await client.send(new DescribeEventBusCommand({ Name: 'Orders' }));
    expect(byName.Arn).toBe('arn:aws:events:us-east-1:000000000000:event-bus/Orders');
    expect(byName.CreationTime).toBeInstanceOf(Date);
    const byArn = await client.send(new DescribeEventBusCommand({ Name: byName.Arn }));
    expect(byArn.Name).toBe('Orders');
    expect((await client.send(new DescribeEventBusCommand({}))).Name).toBe('default');
    const { EventBuses } = await client.send(new ListEventBusesCommand({}));
    expect(EventBuses!.map((b) => b.Name).sort()).toEqual(['Orders', 'default']);
    const missing = await rejection(client.send(new DescribeEventBusCommand({ Name: 'nope' })));
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', message: 'Event bus nope does not exist.' });
  });

  it('describes the rules and their targets as the template defines them', async () => {
    const placed = model.resources.find((r) => r.type === 'AWS::Events::Rule' && r.logicalId.startsWith('Placed'))!;
    const rule = await client.send(new DescribeRuleCommand({ Name: placed.physicalId, EventBusName: 'Orders' }));
    expect(rule).toMatchObject({ Name: placed.physicalId, Arn: placed.arn, State: 'ENABLED', EventBusName: 'Orders' });
    expect(JSON.parse(rule.EventPattern!)).toEqual(model.properties(placed).EventPattern);
    const { Rules } = await client.send(new ListRulesCommand({ EventBusName: 'Orders' }));
    expect(Rules!.map((r) => r.Name)).toContain(placed.physicalId);
    const { Targets } = await client.send(new ListTargetsByRuleCommand({ Rule: placed.physicalId, EventBusName: 'Orders' }));
    expect(Targets).toHaveLength(4);
    expect(Targets![1]).toMatchObject({ Arn: queueArn('Details'), InputPath: '$.detail' });
    expect(Targets![2]!.SqsParameters).toEqual({ MessageGroupId: 'orders' });
    const missing = await rejection(client.send(new DescribeRuleCommand({ Name: 'nope' })));
    expect(missing).toMatchObject({ name: 'ResourceNotFoundException', message: 'Rule nope does not exist on EventBus default.' });
  });

  it('names what it cannot emulate at start-up', () => {
    const unsupported = model.diagnostics.unsupportedItems.map((d) => `${d.where}: ${d.message}`).join('\n');
    expect(unsupported).toMatch(/Alerts\w*\/Targets\/0: target Target0: sns targets are not emulated locally/);
    expect(unsupported).toMatch(/Alerts\w*\/Targets\/0\/HttpParameters: target Target0: HttpParameters has no local effect/);
    expect(unsupported).toMatch(/AWS::Events::Archive is not emulated/);
    expect(model.diagnostics.errors).toEqual([]);
  });
});

describe('delivery', () => {
  it('delivers only matching events, transformed per target, in the envelope EventBridge uses', async () => {
    const before = {
      all: messages('All').length,
      details: messages('Details').length,
      ordered: messages('Ordered').length,
      lambda: lambdaEvents().length,
    };
    const matching = { id: 'o-1', status: 'paid', amount: 150, coupon: 'X', channel: 'web', tags: ['a', 'b'] };
    const viaOr = { id: 'o-2', status: 'new', amount: 100.5, coupon: '', channel: 'app', vip: true, tags: { k: 'v' } };
    const [first, second] = await put(
      entry(matching),
      entry(viaOr),
      entry({ ...matching, id: 'n-1', status: 'cancelled' }),
      entry({ ...matching, id: 'n-2', amount: 100 }),
      entry({ id: 'n-3', status: 'paid', amount: 150, channel: 'web' }),
      entry({ ...matching, id: 'n-4', channel: 'app' }),
      entry(matching, { Source: 'warehouse.eu' }),
      entry(matching, { DetailType: 'Order Shipped' }),
      entry(matching, { EventBusName: 'default' }),
    );
    await settle();
    await Promise.all(invocations);

    const envelopes = bodies('All').slice(before.all);
    expect(envelopes).toEqual([
      {
        version: '0',
        id: first,
        'detail-type': 'Order Placed',
        source: 'shop.eu',
        account: '000000000000',
        time: '2030-01-01T00:00:00Z',
        region: 'us-east-1',
        resources: [],
        detail: matching,
      },
      expect.objectContaining({ id: second, detail: viaOr }),
    ]);
    expect(Object.keys(envelopes[0] as object)).toEqual([
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);

    expect(bodies('Details').slice(before.details)).toEqual([matching, viaOr]);

    const ordered = messages('Ordered').slice(before.ordered);
    expect(ordered.map((m) => m.body)).toEqual(['"order o-1"', '"order o-2"']);
    expect(ordered.map((m) => [m.groupId, m.dedupId])).toEqual([
      ['orders', first],
      ['orders', second],
    ]);

    const placed = model.resources.find((r) => r.type === 'AWS::Events::Rule' && r.logicalId.startsWith('Placed'))!;
    const transformed = lambdaEvents().slice(before.lambda);
    expect(transformed).toEqual([
      {
        orderId: 'o-1',
        summary: 'Order o-1 for 150',
        amount: 150,
        detail: matching,
        inline: 'detail=[a,b]',
        rule: placed.physicalId,
        missing: null,
      },
      {
        orderId: 'o-2',
        summary: 'Order o-2 for 100.5',
        amount: 100.5,
        detail: viaOr,
        inline: 'detail={k:v}',
        rule: placed.physicalId,
        missing: null,
      },
    ]);
  });

  it('uses the entry Time when given, to the second', async () => {
    const before = messages('All').length;
    await put(entry({ id: 't', status: 'paid', amount: 101, coupon: 'C', vip: true }, { Time: new Date('2029-12-31T23:59:58.750Z') }));
    await settle();
    expect((bodies('All')[before] as { time: string }).time).toBe('2029-12-31T23:59:58Z');
  });

  it('retries a failing target with backoff on the virtual clock, then sends the event to its DLQ', async () => {
    const dlqBefore = messages('Dlq').length;
    const [eventId] = await put(entry({ n: 1 }, { DetailType: 'Retry Me' }));
    await settle();
    expect(flakyAttempts).toHaveLength(1);

    // The target that does not exist is not retried: it goes to the DLQ at once.
    const immediate = messages('Dlq').slice(dlqBefore);
    expect(immediate).toHaveLength(1);
    expect(JSON.parse(immediate[0]!.body)).toMatchObject({ id: eventId, 'detail-type': 'Retry Me', detail: { n: 1 } });
    const goneAttributes = Object.fromEntries(Object.entries(immediate[0]!.attributes!).map(([k, v]) => [k, v.StringValue]));
    expect(goneAttributes).toMatchObject({
      TARGET_ARN: 'arn:aws:sqs:us-east-1:000000000000:gone',
      ERROR_CODE: 'NO_RESOURCE',
      RETRY_ATTEMPTS: '0',
    });
    expect(goneAttributes).not.toHaveProperty('EXHAUSTED_RETRY_CONDITION');
    expect(clock.pending().some((t) => t.label?.startsWith('EventBridge retry 1'))).toBe(true);

    await clock.advance(600);
    expect(flakyAttempts).toHaveLength(3);
    const [a, b, c] = flakyAttempts as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(500);
    expect(c - b).toBeGreaterThanOrEqual(1000);

    const dead = messages('Dlq').slice(dlqBefore + 1);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!.body)).toMatchObject({ id: eventId, source: 'shop.eu', detail: { n: 1 } });
    const retried = model.resources.find((r) => r.type === 'AWS::Events::Rule' && r.logicalId.startsWith('Retried'))!;
    expect(Object.fromEntries(Object.entries(dead[0]!.attributes!).map(([k, v]) => [k, v.StringValue]))).toEqual({
      RULE_ARN: retried.arn,
      TARGET_ARN: queueArn('Flaky'),
      ERROR_CODE: 'SDK_CLIENT_ERROR',
      ERROR_MESSAGE: 'InternalError: simulated queue outage',
      RETRY_ATTEMPTS: '2',
      EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
    });
  });

  it('stops retrying once the event is older than MaximumEventAgeInSeconds', async () => {
    flakyAttempts.length = 0;
    const dlqBefore = messages('Dlq').length;
    const putAt = clock.now();
    await put(entry({ n: 2 }, { DetailType: 'Age Me' }));
    await clock.advance(300);
    const attempts = flakyAttempts.length;
    expect(attempts).toBeGreaterThan(2);
    expect(attempts).toBeLessThan(12);
    const dead = messages('Dlq').slice(dlqBefore);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.attributes!.EXHAUSTED_RETRY_CONDITION!.StringValue).toBe('MaximumEventAgeInSeconds');
    expect(dead[0]!.at - putAt).toBeGreaterThan(60_000);
    await clock.advance(3600);
    expect(flakyAttempts.length).toBe(attempts);
  });

  it('routes an event to another bus, where that bus’s rules see it unchanged', async () => {
    const [id] = await put(entry({ hop: 1 }, { DetailType: 'Forward' }));
    await settle();
    expect(bodies('Forwarded')).toEqual([expect.objectContaining({ id, 'detail-type': 'Forward', detail: { hop: 1 } })]);
  });
});

describe('the rule and target API', () => {
  it('creates, disables, enables and deletes rules that deliver', async () => {
    const { RuleArn } = await client.send(new PutRuleCommand({ Name: 'api-rule', EventPattern: JSON.stringify({ source: ['api.test'] }) }));
    expect(RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/api-rule');
    const custom = await client.send(new PutRuleCommand({ Name: 'api-rule', EventBusName: 'Orders', EventPattern: '{"source":["x"]}' }));
    expect(custom.RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/Orders/api-rule');
    await client.send(new PutTargetsCommand({ Rule: 'api-rule', Targets: [{ Id: 'all', Arn: queueArn('All'), Input: '{"const":true}' }] }));

    const send = () => put({ Source: 'api.test', DetailType: 'x', Detail: '{}' }).then(settle);
    const count = () => bodies('All').filter((b) => JSON.stringify(b) === '{"const":true}').length;
    await send();
    expect(count()).toBe(1);
    await client.send(new DisableRuleCommand({ Name: 'api-rule' }));
    expect((await client.send(new DescribeRuleCommand({ Name: 'api-rule' }))).State).toBe('DISABLED');
    await send();
    expect(count()).toBe(1);
    await client.send(new EnableRuleCommand({ Name: 'api-rule' }));
    await send();
    expect(count()).toBe(2);

    const withTargets = await rejection(client.send(new DeleteRuleCommand({ Name: 'api-rule' })));
    expect(withTargets).toMatchObject({ name: 'ValidationException', message: "Rule can't be deleted since it has targets." });
    await client.send(new RemoveTargetsCommand({ Rule: 'api-rule', Ids: ['all'] }));
    await client.send(new DeleteRuleCommand({ Name: 'api-rule' }));
    expect((await rejection(client.send(new DescribeRuleCommand({ Name: 'api-rule' })))).name).toBe('ResourceNotFoundException');
  });

  it('validates rules and targets as PutRule and PutTargets do', async () => {
    const badPattern = await rejection(client.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source": "not-an-array"}' })));
    expect(badPattern.name).toBe('InvalidEventPatternException');
    expect(badPattern.message).toMatch(/^Event pattern is not valid\. Reason: /);
    expect((await rejection(client.send(new PutRuleCommand({ Name: 'bad' })))).name).toBe('ValidationException');
    const scheduleOnCustomBus = await rejection(
      client.send(new PutRuleCommand({ Name: 'bad', EventBusName: 'Orders', ScheduleExpression: 'rate(5 minutes)' })),
    );
    expect(scheduleOnCustomBus.message).toBe('ScheduleExpression is supported only on the default event bus.');
    expect((await rejection(client.send(new PutRuleCommand({ Name: 'bad', ScheduleExpression: 'rate(1 minutes)' })))).name).toBe(
      'ValidationException',
    );

    await client.send(new PutRuleCommand({ Name: 'targets', EventPattern: '{"source":["t"]}' }));
    const both = await rejection(
      client.send(
        new PutTargetsCommand({ Rule: 'targets', Targets: [{ Id: 't', Arn: queueArn('All'), Input: '{}', InputPath: '$.detail' }] }),
      ),
    );
    expect(both.message).toBe('Only one of Input, InputPath, or InputTransformer must be provided for target t.');
    const undefinedVariable = await rejection(
      client.send(
        new PutTargetsCommand({
          Rule: 'targets',
          Targets: [{ Id: 't', Arn: queueArn('All'), InputTransformer: { InputPathsMap: {}, InputTemplate: '{"a": <nope>}' } }],
        }),
      ),
    );
    expect(undefinedVariable.name).toBe('ValidationException');
    const six = Array.from({ length: 6 }, (_, i) => ({ Id: `t${i}`, Arn: queueArn('All') }));
    expect((await rejection(client.send(new PutTargetsCommand({ Rule: 'targets', Targets: six })))).name).toBe('LimitExceededException');
  });

  it('answers TestEventPattern with the same matcher', async () => {
    const event = JSON.stringify({
      id: '1',
      account: '000000000000',
      source: 'shop.eu',
      time: '2030-01-01T00:00:00Z',
      region: 'us-east-1',
      resources: [],
      'detail-type': 'Order Placed',
      detail: { amount: 150, status: 'paid' },
    });
    const test = (pattern: unknown) => client.send(new TestEventPatternCommand({ EventPattern: JSON.stringify(pattern), Event: event }));
    expect((await test({ detail: { amount: [{ numeric: ['>', 100] }] } })).Result).toBe(true);
    expect((await test({ detail: { status: [{ 'anything-but': ['paid'] }] } })).Result).toBe(false);
    expect((await test({ source: [{ prefix: 'shop' }], detail: { coupon: [{ exists: false }] } })).Result).toBe(true);
    const invalid = await rejection(test({ source: 'shop.eu' }));
    expect(invalid.name).toBe('InvalidEventPatternException');
    const noId = await rejection(client.send(new TestEventPatternCommand({ EventPattern: '{"source":["a"]}', Event: '{"source":"a"}' })));
    expect(noId.name).toBe('ValidationException');
  });
});

describe('scheduled rules', () => {
  it('fires a cron rule at each due time as the virtual clock advances', async () => {
    await clock.advanceTo(Date.parse('2030-01-04T00:00:00Z'));
    expect(bodies('Ticks')).toEqual([
      { at: '2030-01-01T12:00:00Z', kind: 'Scheduled Event' },
      { at: '2030-01-02T12:00:00Z', kind: 'Scheduled Event' },
      { at: '2030-01-03T12:00:00Z', kind: 'Scheduled Event' },
    ]);
  });

  it('fires a rate rule created through the API, and stops when it is disabled', async () => {
    await client.send(new PutRuleCommand({ Name: 'every-5', ScheduleExpression: 'rate(5 minutes)' }));
    await client.send(new PutTargetsCommand({ Rule: 'every-5', Targets: [{ Id: 'q', Arn: queueArn('Forwarded') }] }));
    const before = bodies('Forwarded').length;
    await clock.advance(30 * 60);
    const fired = bodies('Forwarded').slice(before) as Array<Record<string, unknown>>;
    expect(fired).toHaveLength(6);
    expect(fired[0]).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: ['arn:aws:events:us-east-1:000000000000:rule/every-5'],
      detail: {},
    });
    await client.send(new DisableRuleCommand({ Name: 'every-5' }));
    await clock.advance(30 * 60);
    expect(bodies('Forwarded').length).toBe(before + 6);
    expect(logs.filter((l) => /failed unexpectedly/.test(l))).toEqual([]);
  });
});

describe('input transformation: the examples of the AWS documentation', () => {
  const ec2 = ec2StateChange({ 'instance-id': 'i-0123456789', state: 'RUNNING' });
  const paths = { timestamp: '$.time', instance: '$.detail.instance-id', state: '$.detail.state' };
  const context = {
    ruleArn: 'arn:aws:events:us-east-2:123456789012:rule/example',
    ruleName: 'example',
    ingestionTime: '2015-11-11T21:29:55.123Z',
  };
  const render = (template: string, map: Record<string, string> = paths) =>
    compileTransformer({ InputPathsMap: map, InputTemplate: template }).render(ec2, context);

  it('fills string templates with the values as text', () => {
    expect(render('"instance <instance> is in <state>"')).toBe('"instance i-0123456789 is in RUNNING"');
    expect(render('"instance \\"<instance>\\" is in <state>"')).toBe('"instance \\"i-0123456789\\" is in RUNNING"');
    expect(render('"<aws.events.rule-name> triggered"')).toBe('"example triggered"');
  });

  it('fills JSON templates by context: values in value positions, text inside strings', () => {
    expect(JSON.parse(render('{\n  "instance" : <instance>,\n  "state": <state>\n}'))).toEqual({
      instance: 'i-0123456789',
      state: 'RUNNING',
    });
    expect(
      JSON.parse(render('{"instance" : <instance>, "state": "<state>", "instanceStatus": "instance \\"<instance>\\" is in <state>"}')),
    ).toEqual({
      instance: 'i-0123456789',
      state: 'RUNNING',
      instanceStatus: 'instance "i-0123456789" is in RUNNING',
    });
    expect(JSON.parse(render('{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}'))).toEqual({
      instance: 'i-0123456789',
      state: [9, 'RUNNING', true],
      Transformed: 'Yes',
    });
  });

  it('provides the predefined variables', () => {
    const out = JSON.parse(
      render(
        '{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "original": <aws.events.event>, "whole": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>}',
      ),
    ) as Record<string, unknown>;
    const { detail: _detail, ...withoutDetail } = ec2;
    expect(out).toEqual({ ruleArn: context.ruleArn, ruleName: 'example', original: withoutDetail, whole: ec2, at: context.ingestionTime });
  });

  it('selects with the JSONPath subset EventBridge supports', () => {
    const event = { detail: { items: [{ id: 1 }, { id: 2 }], 'a/b': { 'c-d_e': 'x' } } };
    expect(compilePath('$.detail.items[*].id').select(event)).toEqual([1, 2]);
    expect(compilePath('$.detail.items[1]').select(event)).toEqual({ id: 2 });
    expect(compilePath('$.detail.a/b.c-d_e').select(event)).toBe('x');
    expect(compilePath('$.detail.nothing').select(event)).toBeUndefined();
    expect(() => compilePath('detail')).toThrow(/must start with \$/);
  });
});

describe('schedule expressions', () => {
  const occurrences = (expression: string, from: string, count: number) => {
    const schedule = parseSchedule(expression);
    const out: string[] = [];
    let t = Date.parse(from);
    for (let i = 0; i < count; i++) {
      const next = schedule.next(t, Date.parse(from));
      if (next === undefined) break;
      out.push(new Date(next).toISOString().replace('.000Z', 'Z'));
      t = next;
    }
    return out;
  };

  it('evaluates cron fields as EventBridge rules do (UTC)', () => {
    expect(occurrences('cron(15 10 ? * MON-FRI *)', '2030-01-03T10:15:00Z', 3)).toEqual([
      '2030-01-04T10:15:00Z',
      '2030-01-07T10:15:00Z',
      '2030-01-08T10:15:00Z',
    ]);
    expect(occurrences('cron(0 10 ? * 6L *)', '2030-01-01T00:00:00Z', 2)).toEqual(['2030-01-25T10:00:00Z', '2030-02-22T10:00:00Z']);
    expect(occurrences('cron(0 0 L * ? *)', '2030-01-31T00:00:00Z', 2)).toEqual(['2030-02-28T00:00:00Z', '2030-03-31T00:00:00Z']);
    expect(occurrences('cron(0 9 ? * 2#1 *)', '2030-01-01T00:00:00Z', 2)).toEqual(['2030-01-07T09:00:00Z', '2030-02-04T09:00:00Z']);
    expect(occurrences('cron(0 0 15W * ? *)', '2030-06-01T00:00:00Z', 1)).toEqual(['2030-06-14T00:00:00Z']);
    expect(occurrences('cron(0/30 * * * ? *)', '2030-01-01T00:10:00Z', 2)).toEqual(['2030-01-01T00:30:00Z', '2030-01-01T01:00:00Z']);
    expect(occurrences('cron(0 0 1 1 ? 2031)', '2030-01-01T00:00:00Z', 3)).toEqual(['2031-01-01T00:00:00Z']);
  });

  it('counts rates from when the rule started and refuses malformed expressions', () => {
    expect(occurrences('rate(1 day)', '2030-01-01T08:00:00Z', 2)).toEqual(['2030-01-02T08:00:00Z', '2030-01-03T08:00:00Z']);
    for (const bad of [
      'cron(0 0 * * * *)',
      'cron(0 0 ? * ? *)',
      'rate(1 minutes)',
      'rate(5 minute)',
      'rate(0 minutes)',
      'cron(60 0 * * ? *)',
      'cron(0 0 * *)',
      'every 5',
    ]) {
      expect(() => parseSchedule(bad), bad).toThrow();
    }
  });
});
