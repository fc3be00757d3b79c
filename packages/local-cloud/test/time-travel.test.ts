/**
 * Time travel through the whole local cloud, the way a developer drives it: a fixture app's
 * schedules and queue, the virtual clock moved with the control API, results read with the real
 * SDK clients. Advancing 30 days fires a daily cron exactly 30 times and a one-time schedule once,
 * which then deletes itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { SqsSendMessage } from 'aws-cdk-lib/aws-scheduler-targets';
import { ReceiveMessageCommand, SQSClient, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { CreateScheduleCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { clientConfig, startCloud, synthFixture, type TestCloud } from '../src/testing';

const START = Date.parse('2027-01-01T00:00:00Z');
let t: TestCloud;
let queueUrl: string;
let queueArn: string;
let sqsClient: SQSClient;
let scheduler: SchedulerClient;
let states: SFNClient;

beforeAll(async () => {
  const dir = synthFixture((app) => {
    const stack = new Stack(app, 'TimeTravel');
    const queue = new sqs.Queue(stack, 'Ticks', { visibilityTimeout: Duration.seconds(30), retentionPeriod: Duration.days(14) });
    new Schedule(stack, 'Daily', {
      schedule: ScheduleExpression.cron({ minute: '0', hour: '9', timeZone: TimeZone.EUROPE_LONDON }),
      target: new SqsSendMessage(queue),
    });
    new sfn.StateMachine(stack, 'Grace', {
      definitionBody: sfn.DefinitionBody.fromChainable(
        new sfn.Wait(stack, 'ThreeDays', { time: sfn.WaitTime.duration(Duration.days(3)) }).next(new sfn.Succeed(stack, 'Done')),
      ),
    });
  });
  t = await startCloud(dir, { clockFactor: 0, clockStart: START });
  const queueResource = t.cloud.model.ofType('AWS::SQS::Queue')[0]!;
  queueArn = queueResource.arn!;
  queueUrl = t.cloud.endpoints.resources.TimeTravel![queueResource.logicalId]!.url!;
  sqsClient = new SQSClient(clientConfig(t.cloud, 'sqs'));
  scheduler = new SchedulerClient(clientConfig(t.cloud, 'scheduler'));
  states = new SFNClient(clientConfig(t.cloud, 'states'));
});

afterAll(async () => {
  sqsClient?.destroy();
  scheduler?.destroy();
  states?.destroy();
  await t?.stop();
});

async function drain(): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqsClient.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
    if (Messages.length === 0) return bodies;
    for (const m of Messages) {
      bodies.push(m.Body!);
      await sqsClient.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

describe('advancing the virtual clock 30 days', () => {
  it('fires a daily cron exactly 30 times and a one-time schedule once, then deletes it', async () => {
    expect(t.cloud.endpoints.services).toMatchObject({
      sqs: expect.any(String),
      scheduler: expect.any(String),
      events: expect.any(String),
    });
    await scheduler.send(
      new CreateScheduleCommand({
        Name: 'once',
        ScheduleExpression: 'at(2027-01-10T12:00:00)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: queueArn, RoleArn: 'arn:aws:iam::000000000000:role/scheduler', Input: '"once"' },
      }),
    );

    // Three jumps of 10 days, draining in between: messages older than the queue's retention
    // (4 days by default) are gone, as in SQS.
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${t.cloud.endpoints.controlUrl}/clock/advance`, {
        method: 'POST',
        body: JSON.stringify({ seconds: 10 * 86_400 }),
      });
      expect(res.status).toBe(200);
      bodies.push(...(await drain()));
    }
    expect(await (await fetch(`${t.cloud.endpoints.controlUrl}/clock`)).json()).toMatchObject({ now: '2027-01-31T00:00:00.000Z' });
    expect(bodies.filter((b) => b === '"once"')).toHaveLength(1);
    const daily = bodies.filter((b) => b !== '"once"').map((b) => (JSON.parse(b) as { time: string }).time);
    expect(daily).toHaveLength(30);
    expect(daily[0]).toBe('2027-01-01T09:00:00Z'); // 09:00 in London is 09:00 UTC in winter
    expect(new Set(daily).size).toBe(30);
    await expect(scheduler.send(new GetScheduleCommand({ Name: 'once' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('a state machine waiting 3 days', () => {
  it('finishes after advancing 3 days, not before', async () => {
    const machine = t.cloud.model.ofType('AWS::StepFunctions::StateMachine')[0]!;
    const { executionArn } = await states.send(new StartExecutionCommand({ stateMachineArn: machine.arn!, name: 'grace-1', input: '{}' }));
    const advance = (seconds: number) =>
      fetch(`${t.cloud.endpoints.controlUrl}/clock/advance`, { method: 'POST', body: JSON.stringify({ seconds }) });
    await advance(3 * 86_400 - 60);
    expect((await states.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    await advance(60);
    const done = await states.send(new DescribeExecutionCommand({ executionArn }));
    expect(done.status).toBe('SUCCEEDED');
    expect(done.stopDate!.getTime() - done.startDate!.getTime()).toBe(3 * 86_400_000);
  });
});
