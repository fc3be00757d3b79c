/**
 * Due jobs on AWS (lambdas/shared/billing/scheduler-due-jobs.ts), against hand-written fake
 * clients (aws-sdk-client-mock is not installed): the CreateSchedule request, idempotency
 * (ConflictException on create and ResourceNotFoundException on delete are success), retries of
 * throttling and 5xx with jittered backoff, jobs due within the minute sent straight to the queue,
 * batch enqueue re-sending failed entries, and configuration from the environment.
 */
import { describe, expect, it } from 'vitest';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  InternalServerException,
  ResourceNotFoundException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { type BatchResultErrorEntry, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DueJob } from '../../lambdas/shared/billing/due-jobs';
import {
  DEFAULT_BACKOFF,
  type DueJobsConfig,
  DueJobsNotEnqueued,
  dueJobsConfigFromEnvironment,
  SchedulerDueJobs,
  type SchedulerLike,
  scheduleName,
  SqsDueJobQueue,
  type SqsLike,
} from '../../lambdas/shared/billing/scheduler-due-jobs';
import { MissingEnvError } from '../../lambdas/shared/env';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const clock = () => new Date(NOW);

const CONFIG: DueJobsConfig = {
  scheduleGroup: 'Billing-DueJobs-1A2B3C',
  chargeQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:Charges',
  chargeQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/Charges',
  schedulerRoleArn: 'arn:aws:iam::123456789012:role/Billing-SchedulerRole',
  deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:SchedulerDlq',
};

const ENV = {
  DUE_SCHEDULE_GROUP: CONFIG.scheduleGroup,
  CHARGE_QUEUE_ARN: CONFIG.chargeQueueArn,
  CHARGE_QUEUE_URL: CONFIG.chargeQueueUrl,
  SCHEDULER_ROLE_ARN: CONFIG.schedulerRoleArn,
  SCHEDULER_DLQ_ARN: CONFIG.deadLetterQueueArn,
};

const job = (dueAt: string, subscriptionId = 'sub_01HZY3'): DueJob => ({ userId: 'user-1', subscriptionId, dueAt });

const metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
const conflict = () =>
  new ConflictException({ ...metadata(409), message: 'Schedule already exists.', Message: 'Schedule already exists.' });
const notFound = () => new ResourceNotFoundException({ ...metadata(404), message: 'Schedule does not exist.', Message: undefined });
const throttled = () => new ThrottlingException({ ...metadata(400), message: 'Rate exceeded', Message: 'Rate exceeded' });
const tooMany = () => Object.assign(new Error('Too Many Requests'), { name: 'TooManyRequests', ...metadata(429) });
const internal = () => new InternalServerException({ ...metadata(500), message: 'Internal error', Message: undefined });
const invalid = () => new ValidationException({ ...metadata(400), message: 'Invalid', Message: 'Invalid' });

type SchedulerCommand = CreateScheduleCommand | DeleteScheduleCommand;

/** Records every command and answers the n-th call (0-based) with `replies[n]`: an error is thrown, anything else returned. */
function fakeScheduler(...replies: unknown[]) {
  const calls: SchedulerCommand[] = [];
  const client: SchedulerLike = {
    async send(command) {
      const reply = replies[calls.length];
      calls.push(command);
      if (reply instanceof Error) throw reply;
      return reply ?? {};
    },
  };
  return { client, calls };
}

type SqsCommand = SendMessageCommand | SendMessageBatchCommand;
type SqsReply = (command: SqsCommand, call: number) => { Failed?: BatchResultErrorEntry[] } | Error;

function fakeSqs(reply: SqsReply = () => ({ Failed: [] })) {
  const calls: SqsCommand[] = [];
  const client: SqsLike = {
    async send(command: SqsCommand) {
      calls.push(command);
      const answer = reply(command, calls.length - 1);
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client, calls };
}

/** A `sleep` that only records what it was asked to wait. */
function recordingSleep() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

function dueJobs(scheduler: SchedulerLike, sqs: SqsLike = fakeSqs().client, delays = recordingSleep()) {
  return new SchedulerDueJobs({ scheduler, sqs, config: CONFIG, clock, sleep: delays.sleep, random: () => 0.5 });
}

describe('SchedulerDueJobs.schedule', () => {
  it('creates one at() schedule in UTC, in the group, targeting the charge queue, deleted after it runs', async () => {
    const { client, calls } = fakeScheduler({ ScheduleArn: 'arn:aws:scheduler:...' });
    await dueJobs(client).schedule(job('2026-04-01T12:00:00.000Z'));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toBeInstanceOf(CreateScheduleCommand);
    expect(calls[0]!.input).toEqual({
      Name: 'due-sub_01HZY3-1775044800',
      GroupName: CONFIG.scheduleGroup,
      ScheduleExpression: 'at(2026-04-01T12:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: CONFIG.chargeQueueArn,
        RoleArn: CONFIG.schedulerRoleArn,
        Input: JSON.stringify({ userId: 'user-1', subscriptionId: 'sub_01HZY3', dueAt: '2026-04-01T12:00:00.000Z' }),
        DeadLetterConfig: { Arn: CONFIG.deadLetterQueueArn },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
      },
    });
  });

  it('rounds a due time with milliseconds up to the next second, so the job never runs early', async () => {
    const { client, calls } = fakeScheduler();
    await dueJobs(client).schedule(job('2026-04-01T12:00:00.250Z'));
    const input = (calls[0] as CreateScheduleCommand).input;
    expect(input.ScheduleExpression).toBe('at(2026-04-01T12:00:01)');
    expect(input.Name).toBe('due-sub_01HZY3-1775044801');
  });

  it('carries only the contract’s fields in the Input', async () => {
    const { client, calls } = fakeScheduler();
    await dueJobs(client).schedule({ ...job('2026-04-01T12:00:00.000Z'), extra: 'x' } as DueJob);
    expect(JSON.parse((calls[0] as CreateScheduleCommand).input.Target!.Input!)).toEqual(job('2026-04-01T12:00:00.000Z'));
  });

  it('treats ConflictException as done: the schedule exists already', async () => {
    const { client, calls } = fakeScheduler(conflict());
    await expect(dueJobs(client).schedule(job('2026-04-01T12:00:00.000Z'))).resolves.toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('retries throttling and 5xx with jittered exponential backoff, then succeeds', async () => {
    const delays = recordingSleep();
    const { client, calls } = fakeScheduler(throttled(), tooMany(), internal(), { ScheduleArn: 'arn' });
    await dueJobs(client, undefined, delays).schedule(job('2026-04-01T12:00:00.000Z'));
    expect(calls).toHaveLength(4);
    // Full jitter at random() = 0.5: half of 100, 200, 400 ms.
    expect(delays.delays).toEqual([50, 100, 200]);
    expect(new Set(calls.map((c) => c.input.Name)).size).toBe(1);
  });

  it('a conflict after a retried 5xx is success (the first attempt went through)', async () => {
    const { client, calls } = fakeScheduler(internal(), conflict());
    await expect(dueJobs(client).schedule(job('2026-04-01T12:00:00.000Z'))).resolves.toBeUndefined();
    expect(calls).toHaveLength(2);
  });

  it('gives up after the budget with the last error, and never retries a validation error', async () => {
    const always = fakeScheduler(...Array.from({ length: 10 }, throttled));
    await expect(dueJobs(always.client).schedule(job('2026-04-01T12:00:00.000Z'))).rejects.toBeInstanceOf(ThrottlingException);
    expect(always.calls).toHaveLength(DEFAULT_BACKOFF.attempts);

    const refused = fakeScheduler(invalid());
    await expect(dueJobs(refused.client).schedule(job('2026-04-01T12:00:00.000Z'))).rejects.toBeInstanceOf(ValidationException);
    expect(refused.calls).toHaveLength(1);
  });

  it('sends a job already due, or due within 60 s, straight to the queue, delayed until its due time', async () => {
    const scheduler = fakeScheduler();
    const sqs = fakeSqs(() => ({}));
    const jobs = dueJobs(scheduler.client, sqs.client);
    await jobs.schedule(job('2026-02-01T12:00:00.000Z')); // a month overdue
    await jobs.schedule(job('2026-03-01T12:00:00.000Z')); // due now
    await jobs.schedule(job('2026-03-01T12:00:29.500Z')); // in 29.5 s
    await jobs.schedule(job('2026-03-01T12:01:00.000Z')); // in exactly 60 s
    expect(scheduler.calls).toEqual([]);
    expect(sqs.calls.every((c) => c instanceof SendMessageCommand)).toBe(true);
    expect(sqs.calls.map((c) => (c as SendMessageCommand).input)).toEqual([
      { QueueUrl: CONFIG.chargeQueueUrl, MessageBody: JSON.stringify(job('2026-02-01T12:00:00.000Z')), DelaySeconds: 0 },
      { QueueUrl: CONFIG.chargeQueueUrl, MessageBody: JSON.stringify(job('2026-03-01T12:00:00.000Z')), DelaySeconds: 0 },
      { QueueUrl: CONFIG.chargeQueueUrl, MessageBody: JSON.stringify(job('2026-03-01T12:00:29.500Z')), DelaySeconds: 30 },
      { QueueUrl: CONFIG.chargeQueueUrl, MessageBody: JSON.stringify(job('2026-03-01T12:01:00.000Z')), DelaySeconds: 60 },
    ]);

    await jobs.schedule(job('2026-03-01T12:01:01.000Z')); // in 61 s: Scheduler's
    expect(scheduler.calls).toHaveLength(1);
    expect(sqs.calls).toHaveLength(4);
  });

  it('retries a throttled SendMessage of a job due now', async () => {
    const sqs = fakeSqs((_, call) => (call === 0 ? Object.assign(new Error('slow down'), { name: 'RequestThrottled' }) : {}));
    await dueJobs(fakeScheduler().client, sqs.client).schedule(job('2026-03-01T11:00:00.000Z'));
    expect(sqs.calls).toHaveLength(2);
  });

  it('refuses a job that breaks the contract before calling anything', async () => {
    const { client, calls } = fakeScheduler();
    await expect(dueJobs(client).schedule(job('next tuesday'))).rejects.toThrow();
    expect(calls).toEqual([]);
  });
});

describe('SchedulerDueJobs.unschedule', () => {
  it('deletes the schedule the same job would have created', async () => {
    const { client, calls } = fakeScheduler();
    await dueJobs(client).unschedule(job('2026-04-01T12:00:00.000Z'));
    expect(calls[0]).toBeInstanceOf(DeleteScheduleCommand);
    expect(calls[0]!.input).toEqual({ Name: 'due-sub_01HZY3-1775044800', GroupName: CONFIG.scheduleGroup });
  });

  it('treats ResourceNotFoundException as done: fired already, deleted before, or never made', async () => {
    const { client, calls } = fakeScheduler(notFound());
    await expect(dueJobs(client).unschedule(job('2026-04-01T12:00:00.000Z'))).resolves.toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('retries throttling and a conflicting concurrent change, and throws anything else', async () => {
    const retried = fakeScheduler(throttled(), conflict(), {});
    await dueJobs(retried.client).unschedule(job('2026-04-01T12:00:00.000Z'));
    expect(retried.calls).toHaveLength(3);

    const refused = fakeScheduler(invalid());
    await expect(dueJobs(refused.client).unschedule(job('2026-04-01T12:00:00.000Z'))).rejects.toBeInstanceOf(ValidationException);
  });
});

describe('scheduleName', () => {
  const valid = (name: string) => name.length <= 64 && /^[0-9a-zA-Z_.-]+$/.test(name);

  it('is due-<subscriptionId>-<epoch seconds> when that fits', () => {
    expect(scheduleName('sub_01HZY3', 1_775_044_800)).toBe('due-sub_01HZY3-1775044800');
    expect(scheduleName('a'.repeat(49), 1_775_044_800)).toHaveLength(64);
  });

  it('hashes ids that are too long or hold characters a name cannot, deterministically and distinctly', () => {
    const ids = ['a'.repeat(50), 'a'.repeat(128), 'sub:with/slashes', 'sübscription', 'user#1|sub#2'];
    const names = ids.map((id) => scheduleName(id, 1_775_044_800));
    for (const name of names) {
      expect(valid(name), name).toBe(true);
      expect(name).toMatch(/^dueh-[0-9a-f]{40}-1775044800$/);
    }
    expect(new Set(names).size).toBe(ids.length);
    expect(ids.map((id) => scheduleName(id, 1_775_044_800))).toEqual(names);
    expect(scheduleName(ids[0]!, 1_775_044_801)).not.toBe(names[0]);
  });
});

describe('SqsDueJobQueue', () => {
  const jobs = (n: number) => Array.from({ length: n }, (_, i) => job('2026-02-28T00:00:00.000Z', `sub-${i}`));
  const entriesOf = (command: SqsCommand) => (command as SendMessageBatchCommand).input.Entries ?? [];
  const failing = (id: string, senderFault = false): BatchResultErrorEntry => ({
    Id: id,
    Code: senderFault ? 'InvalidParameterValue' : 'InternalError',
    SenderFault: senderFault,
  });

  it('sends batches of at most 10 with SendMessageBatch', async () => {
    const sqs = fakeSqs();
    await new SqsDueJobQueue(sqs.client, CONFIG.chargeQueueUrl).enqueue(jobs(25));
    expect(sqs.calls.every((c) => c instanceof SendMessageBatchCommand)).toBe(true);
    expect(sqs.calls.map((c) => entriesOf(c).length)).toEqual([10, 10, 5]);
    expect((sqs.calls[0] as SendMessageBatchCommand).input.QueueUrl).toBe(CONFIG.chargeQueueUrl);
    expect(entriesOf(sqs.calls[2]!).map((e) => JSON.parse(e.MessageBody!).subscriptionId)).toEqual([
      'sub-20',
      'sub-21',
      'sub-22',
      'sub-23',
      'sub-24',
    ]);
  });

  it('re-sends only the failed entries, with backoff, until they go through', async () => {
    const delays = recordingSleep();
    const sqs = fakeSqs((_, call) => ({ Failed: call === 0 ? [failing('3'), failing('7')] : call === 1 ? [failing('7')] : [] }));
    await new SqsDueJobQueue(sqs.client, CONFIG.chargeQueueUrl, { sleep: delays.sleep, random: () => 0.5 }).enqueue(jobs(10));
    expect(sqs.calls.map((c) => entriesOf(c).map((e) => e.Id))).toEqual([
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      ['3', '7'],
      ['7'],
    ]);
    expect(entriesOf(sqs.calls[2]!)[0]!.MessageBody).toBe(JSON.stringify(jobs(10)[7]));
    expect(delays.delays).toEqual([50, 100]);
  });

  it('re-sends a whole batch whose request was throttled', async () => {
    const sqs = fakeSqs((_, call) => (call === 0 ? throttled() : { Failed: [] }));
    await new SqsDueJobQueue(sqs.client, CONFIG.chargeQueueUrl, { sleep: recordingSleep().sleep }).enqueue(jobs(4));
    expect(sqs.calls.map((c) => entriesOf(c).length)).toEqual([4, 4]);
  });

  it('sends every batch, then throws naming how many jobs are still not enqueued', async () => {
    const sqs = fakeSqs((command) => ({ Failed: entriesOf(command).some((e) => e.Id === '2') ? [failing('2')] : [] }));
    const queue = new SqsDueJobQueue(sqs.client, CONFIG.chargeQueueUrl, { sleep: recordingSleep().sleep });
    const error = await queue.enqueue(jobs(15)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DueJobsNotEnqueued);
    expect(error).toMatchObject({ failed: 2, total: 15, message: expect.stringMatching(/^2 of 15 due jobs could not be enqueued/) });
    // Each batch: the first send and four re-sends of entry 2.
    expect(sqs.calls).toHaveLength(2 * DEFAULT_BACKOFF.attempts);
  });

  it('does not re-send an entry refused as the sender’s fault', async () => {
    const sqs = fakeSqs((_, call) => ({ Failed: call === 0 ? [failing('1', true)] : [] }));
    const error = await new SqsDueJobQueue(sqs.client, CONFIG.chargeQueueUrl).enqueue(jobs(3)).catch((e: unknown) => e);
    expect(error).toMatchObject({ failed: 1, total: 3 });
    expect(sqs.calls).toHaveLength(1);
  });

  it('throws at once on an error retrying cannot fix', async () => {
    const sqs = fakeSqs(() => Object.assign(new Error('no such queue'), { name: 'QueueDoesNotExist', ...metadata(400) }));
    await expect(new SqsDueJobQueue(sqs.client, CONFIG.chargeQueueUrl).enqueue(jobs(3))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    expect(sqs.calls).toHaveLength(1);
  });
});

describe('configuration from the environment', () => {
  it('reads the five variables', () => {
    expect(dueJobsConfigFromEnvironment(ENV)).toEqual(CONFIG);
    expect(SchedulerDueJobs.fromEnvironment(ENV, { scheduler: fakeScheduler().client, sqs: fakeSqs().client })).toBeInstanceOf(
      SchedulerDueJobs,
    );
    expect(SqsDueJobQueue.fromEnvironment(ENV, fakeSqs().client)).toBeInstanceOf(SqsDueJobQueue);
  });

  it('fails at construction, naming the variable that is missing', () => {
    for (const variable of Object.keys(ENV)) {
      const env = { ...ENV, [variable]: '' };
      expect(() => SchedulerDueJobs.fromEnvironment(env, { scheduler: fakeScheduler().client, sqs: fakeSqs().client })).toThrow(
        new MissingEnvError(variable),
      );
    }
    expect(() => SqsDueJobQueue.fromEnvironment({}, fakeSqs().client)).toThrow(/CHARGE_QUEUE_URL/);
  });
});
