/**
 * One-time schedules made at run time, the way a billing renewal uses them: a Lambda function of a
 * fixture app creates `at()` schedules with the real `@aws-sdk/client-scheduler` (reaching the
 * local endpoint through `AWS_ENDPOINT_URL_SCHEDULER`) in a schedule group of the template,
 * targeting an SQS queue with a dead-letter queue, a retry policy and `ActionAfterCompletion:
 * DELETE`. The virtual clock is then moved past them.
 *
 * Covers: the message carries the Input; the schedule is gone once it has fired; a second create
 * with the same name is a ConflictException; a deleted schedule delivers nothing; a storm of 5,000
 * schedules due in the same minute is delivered exactly once after one clock advance. And how the
 * ARNs of a group's schedules line up with what a CDK grant on the group allows (IAM itself is not
 * enforced by the local cloud).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { atInstant, parseScheduleExpression } from '../src/scheduler/expressions';
import { clientConfig, rejection, startCloud, synthFixture, type TestCloud } from '../src/testing';

const START = Date.parse('2031-01-31T23:00:00Z');

/**
 * Creates (`create`: `{name, at, input}` jobs, at most `concurrency` calls at a time) or deletes
 * (`delete`: names) schedules in the group, and answers each call's outcome: the schedule ARN, or
 * the error's name and HTTP status. Everything but the jobs comes from the environment.
 */
const SCHEDULER_FUNCTION = `
const { SchedulerClient, CreateScheduleCommand, DeleteScheduleCommand } = require('@aws-sdk/client-scheduler');
const client = new SchedulerClient({});
const { GROUP, QUEUE_ARN, DLQ_ARN, ROLE_ARN } = process.env;
const outcome = (call) => call.then((out) => ({ arn: out.ScheduleArn ?? null }), (e) => ({ error: e.name, status: e.$metadata?.httpStatusCode }));
const create = (job) => outcome(client.send(new CreateScheduleCommand({
  Name: job.name,
  GroupName: GROUP,
  ScheduleExpression: 'at(' + job.at + ')',
  ScheduleExpressionTimezone: 'UTC',
  FlexibleTimeWindow: { Mode: 'OFF' },
  ActionAfterCompletion: 'DELETE',
  Target: {
    Arn: QUEUE_ARN,
    RoleArn: ROLE_ARN,
    Input: job.input,
    DeadLetterConfig: { Arn: DLQ_ARN },
    RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
  },
})));
const remove = (name) => outcome(client.send(new DeleteScheduleCommand({ Name: name, GroupName: GROUP })));
async function pool(items, concurrency, call) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; results[i] = await call(items[i]); } };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
exports.handler = async (event) =>
  event.create ? pool(event.create, event.concurrency ?? 1, create) : pool(event.delete, event.concurrency ?? 1, remove);
`;

interface Outcome {
  readonly arn?: string;
  readonly error?: string;
  readonly status?: number;
}

let t: TestCloud;
let lambda: LambdaClient;
let scheduler: SchedulerClient;
let sqsClient: SQSClient;
let functionName: string;
let groupName: string;
let queueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  const dir = synthFixture((app) => {
    const stack = new Stack(app, 'OneTime');
    const charges = new sqs.Queue(stack, 'Charges', { visibilityTimeout: Duration.minutes(5) });
    const schedulerDlq = new sqs.Queue(stack, 'SchedulerDlq');
    const group = new ScheduleGroup(stack, 'DueJobs');
    const role = new iam.Role(stack, 'SchedulerRole', { assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com') });
    charges.grantSendMessages(role);
    schedulerDlq.grantSendMessages(role);
    const fn = new LambdaFunction(stack, 'Renewals', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline(SCHEDULER_FUNCTION),
      timeout: Duration.minutes(5),
      memorySize: 512,
      environment: {
        GROUP: group.scheduleGroupName,
        QUEUE_ARN: charges.queueArn,
        DLQ_ARN: schedulerDlq.queueArn,
        ROLE_ARN: role.roleArn,
      },
    });
    // What a renewal function is granted on AWS: writes and deletes in its group, and passing the role.
    group.grantWriteSchedules(fn);
    group.grantDeleteSchedules(fn);
    role.grantPassRole(fn.grantPrincipal);
  });
  t = await startCloud(dir, { clockFactor: 0, clockStart: START });
  lambda = new LambdaClient(clientConfig(t.cloud, 'lambda'));
  scheduler = new SchedulerClient(clientConfig(t.cloud, 'scheduler'));
  sqsClient = new SQSClient(clientConfig(t.cloud, 'sqs'));
  functionName = [...t.cloud.lambda.functions.values()].find((f) => f.spec.resource.logicalId.startsWith('Renewals'))!.spec.name;
  groupName = t.cloud.model.ofType('AWS::Scheduler::ScheduleGroup')[0]!.physicalId;
  const queueUrlOf = (prefix: string) => {
    const queue = t.cloud.model.ofType('AWS::SQS::Queue').find((q) => q.logicalId.startsWith(prefix))!;
    return t.cloud.endpoints.resources.OneTime![queue.logicalId]!.url!;
  };
  queueUrl = queueUrlOf('Charges');
  dlqUrl = queueUrlOf('SchedulerDlq');
});

afterAll(async () => {
  lambda?.destroy();
  scheduler?.destroy();
  sqsClient?.destroy();
  await t?.stop();
});

async function invoke(event: unknown): Promise<Outcome[]> {
  const res = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }));
  const payload = Buffer.from(res.Payload!).toString();
  if (res.FunctionError) throw new Error(`the function failed: ${payload}`);
  return JSON.parse(payload) as Outcome[];
}

/** `at()`'s `yyyy-mm-ddThh:mm:ss` (UTC) of the virtual time `seconds` from now. */
function atFromNow(seconds: number): string {
  return new Date(t.cloud.clock.now() + seconds * 1000).toISOString().slice(0, 19);
}

/** Receives and deletes every visible message of a queue, returning the bodies. */
async function drain(url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    if (Messages.length === 0) return bodies;
    bodies.push(...Messages.map((m) => m.Body!));
    await sqsClient.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
  }
}

describe('at() in UTC', () => {
  it('is the wall time read as UTC, as the time-zone search finds it for an alias of UTC', () => {
    for (const text of ['at(2031-02-01T00:00:00)', 'at(2032-02-29T23:59:59)', 'at(2031-03-30T01:30:00)']) {
      const parsed = parseScheduleExpression(text);
      if (parsed.kind !== 'at') throw new Error(`${text} is not an at() expression`);
      const instant = atInstant(parsed.wall, 'UTC');
      expect(new Date(instant).toISOString()).toBe(`${text.slice(3, 22)}.000Z`);
      expect(instant).toBe(atInstant(parsed.wall, 'Etc/UTC'));
    }
  });
});

describe('a one-time schedule created by a function', () => {
  it('delivers its Input to the queue when the clock passes it, then is deleted', async () => {
    const input = JSON.stringify({ userId: 'u-1', subscriptionId: 's-1', dueAt: '2031-02-01T00:00:00.000Z' });
    const [created] = await invoke({ create: [{ name: 'due-s-1', at: '2031-02-01T00:00:00', input }] });
    expect(created!.arn).toBe(`arn:aws:scheduler:${t.cloud.model.region}:${t.cloud.model.accountId}:schedule/${groupName}/due-s-1`);

    const pending = await scheduler.send(new GetScheduleCommand({ Name: 'due-s-1', GroupName: groupName }));
    expect(pending).toMatchObject({
      GroupName: groupName,
      ScheduleExpression: 'at(2031-02-01T00:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Input: input,
        DeadLetterConfig: { Arn: expect.stringMatching(/:sqs:.*SchedulerDlq/) },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
      },
    });

    // A minute early: nothing yet.
    await t.cloud.clock.advanceTo(Date.parse('2031-01-31T23:59:00Z'));
    expect(await drain(queueUrl)).toEqual([]);
    await t.cloud.clock.advanceTo(Date.parse('2031-02-01T00:00:30Z'));
    expect(await drain(queueUrl)).toEqual([input]);
    expect(await rejection(scheduler.send(new GetScheduleCommand({ Name: 'due-s-1', GroupName: groupName })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    expect(await drain(dlqUrl)).toEqual([]);
  });

  it('answers ConflictException to a second create with the same name before it fires', async () => {
    const job = { name: 'due-s-2', at: atFromNow(3_600), input: '{"n":1}' };
    const [first, second] = await invoke({ create: [job, { ...job, input: '{"n":2}' }] });
    expect(first!.arn).toMatch(/schedule\/.+\/due-s-2$/);
    expect(second).toEqual({ error: 'ConflictException', status: 409 });

    await t.cloud.clock.advance(3_600);
    expect(await drain(queueUrl)).toEqual(['{"n":1}']);
  });

  it('delivers nothing for a schedule deleted before it fires; deleting it again is ResourceNotFoundException', async () => {
    await invoke({ create: [{ name: 'due-s-3', at: atFromNow(600), input: '"cancelled"' }] });
    expect(await invoke({ delete: ['due-s-3'] })).toEqual([{ arn: null }]);
    expect(await invoke({ delete: ['due-s-3'] })).toEqual([{ error: 'ResourceNotFoundException', status: 404 }]);

    await t.cloud.clock.advance(86_400);
    expect(await drain(queueUrl)).toEqual([]);
    expect(await drain(dlqUrl)).toEqual([]);
  });

  it('resolves the grants on the group to the resources its schedules are (IAM is not enforced)', async () => {
    const { model } = t.cloud;
    const statements = model
      .ofType('AWS::IAM::Policy')
      .flatMap(
        (p) => (model.properties(p).PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> }).Statement,
      );
    const resourceOf = (action: string) => statements.find((s) => [s.Action].flat().includes(action))?.Resource;
    const scheduleGrant = resourceOf('scheduler:CreateSchedule');
    expect(scheduleGrant).toBe(`arn:aws:scheduler:${model.region}:${model.accountId}:schedule/${groupName}/*`);
    expect(resourceOf('scheduler:DeleteSchedule')).toBe(scheduleGrant);
    const role = model.ofType('AWS::IAM::Role').find((r) => r.logicalId.startsWith('SchedulerRole'))!;
    expect(resourceOf('iam:PassRole')).toBe(role.arn);

    const [created] = await invoke({ create: [{ name: 'due-s-4', at: atFromNow(60), input: '"granted"' }] });
    const allowed = new RegExp(`^${String(scheduleGrant).replaceAll('*', '.*')}$`);
    expect(created!.arn).toMatch(allowed);
    await t.cloud.clock.advance(60);
    expect(await drain(queueUrl)).toEqual(['"granted"']);
  });
});

describe('a renewal storm', () => {
  it('delivers 5,000 schedules due in the same minute exactly once after one clock advance, and deletes them all', async () => {
    const count = 5_000;
    const minute = new Date(Math.ceil((t.cloud.clock.now() + 3_600_000) / 60_000) * 60_000);
    const jobs = Array.from({ length: count }, (_, i) => ({
      name: `storm-${i}`,
      // Spread over the 60 seconds of the minute, as renewals of one minute are.
      at: new Date(minute.getTime() + (i % 60) * 1000).toISOString().slice(0, 19),
      input: JSON.stringify({ i }),
    }));

    const createStarted = performance.now();
    const outcomes = await invoke({ create: jobs, concurrency: 32 });
    const createMs = performance.now() - createStarted;
    expect(outcomes.filter((o) => !o.arn)).toEqual([]);

    const advanceStarted = performance.now();
    await t.cloud.clock.advanceTo(minute.getTime() + 60_000);
    const advanceMs = performance.now() - advanceStarted;

    const drainStarted = performance.now();
    const bodies = await drain(queueUrl);
    const drainMs = performance.now() - drainStarted;
    const seen = bodies.map((b) => (JSON.parse(b) as { i: number }).i);
    expect(seen).toHaveLength(count);
    expect(new Set(seen).size).toBe(count);
    expect(await drain(dlqUrl)).toEqual([]);
    const left = await scheduler.send(new ListSchedulesCommand({ GroupName: groupName, NamePrefix: 'storm-' }));
    expect(left.Schedules).toEqual([]);

    console.log(
      `renewal storm: ${count} CreateSchedule calls from one function in ${Math.round(createMs)} ms ` +
        `(${Math.round((count / createMs) * 1000)}/s), one clock advance delivering them in ${Math.round(advanceMs)} ms, ` +
        `drained from the queue in ${Math.round(drainMs)} ms`,
    );
  }, 300_000);
});
