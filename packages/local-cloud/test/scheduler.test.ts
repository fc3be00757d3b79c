/**
 * EventBridge Scheduler in the local cloud: the expression engine (at/rate/cron, time zones, DST),
 * the API through the real `@aws-sdk/client-scheduler`, firing on the virtual clock (exactly once
 * per occurrence across clock jumps, flexible windows, retries, dead-letter queue,
 * ActionAfterCompletion), universal targets, and schedules from a fixture CDK app.
 *
 * Targets are recording fakes registered on a real `Targets` instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import {
  type CfnSchedule,
  Schedule,
  ScheduleExpression as CdkScheduleExpression,
  ScheduleGroup,
  ScheduleTargetInput,
  TimeWindow,
} from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke, SqsSendMessage, Universal } from 'aws-cdk-lib/aws-scheduler-targets';
import {
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ListTagsForResourceCommand,
  SchedulerClient,
  TagResourceCommand,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type Target,
} from '@aws-sdk/client-scheduler';
import { synthFixture, type FixtureApp, rejection } from '../src/testing';
import { loadAssembly } from '../src/assembly';
import { CloudModel } from '../src/model';
import { VirtualClock } from '../src/clock';
import { ControlServer } from '../src/control';
import { Targets, type Delivery } from '../src/targets';
import { AwsError } from '../src/aws-protocol';
import { reportTemplateCoverage } from '../src/coverage';
import type { LambdaService } from '../src/lambda/service';
import { SchedulerService } from '../src/scheduler/service';
import { ExpressionError, atInstant, nextOccurrence, parseScheduleExpression } from '../src/scheduler/expressions';

const START = Date.parse('2026-03-01T00:00:00Z');
const ROLE = 'arn:aws:iam::000000000000:role/scheduler-role';
const QUEUE = 'arn:aws:sqs:us-east-1:000000000000:orders';
const FAILING_QUEUE = 'arn:aws:sqs:us-east-1:000000000000:broken';
const MISSING_QUEUE = 'arn:aws:sqs:us-east-1:000000000000:missing';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:scheduler-dlq';
const FUNCTION = 'arn:aws:lambda:us-east-1:000000000000:function:worker';
const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:flow';

// ------------------------------------------------------------------------------------------------
// Harness

interface Recorded extends Delivery {
  readonly at: string;
}

interface Harness {
  readonly clock: VirtualClock;
  readonly client: SchedulerClient;
  readonly model: CloudModel;
  readonly service: SchedulerService;
  readonly deliveries: Recorded[];
  readonly log: string[];
  stop(): Promise<void>;
}

let emptyAssembly: string | undefined;
/** An app with nothing but a queue (synthesized once): for schedules created through the API. */
const emptyApp = () => (emptyAssembly ??= synthFixture((app) => new Queue(new Stack(app, 'Empty'), 'Unused')));

async function startHarness(define?: FixtureApp): Promise<Harness> {
  const clock = new VirtualClock({ factor: 0, start: START });
  const model = new CloudModel(loadAssembly(define ? synthFixture(define) : emptyApp()));
  const deliveries: Recorded[] = [];
  const targets = new Targets();
  const record = async (d: Delivery) => {
    deliveries.push({ ...d, at: clock.date().toISOString() });
    if (d.arn === FAILING_QUEUE) throw new Error('the queue is on fire');
    if (d.arn === MISSING_QUEUE) throw new AwsError('AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
    return {};
  };
  targets.register('arn:aws:sqs:', record);
  targets.register('arn:aws:lambda:', record);
  targets.register('arn:aws:states:', record);
  const log: string[] = [];
  const service = new SchedulerService({ model, clock, targets, lambda: {} as LambdaService, log: (line) => log.push(line) });
  clock.register({ name: 'scheduler', isIdle: () => service.isIdle() });
  const control = new ControlServer({ host: '127.0.0.1', port: 0, clock, context: { region: model.region, accountId: model.accountId } });
  control.registerRest(service.restService);
  const url = await control.start();
  service.start();
  const client = new SchedulerClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return {
    clock,
    client,
    model,
    service,
    deliveries,
    log,
    async stop() {
      client.destroy();
      service.stop();
      clock.stop();
      await control.stop();
    },
  };
}

function schedule(
  name: string,
  expression: string,
  target: Partial<Target> = {},
  extra: Partial<CreateScheduleCommandInput> = {},
): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: expression,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: QUEUE, RoleArn: ROLE, ...target },
    ...extra,
  };
}

const iso = (s: string) => new Date(s).toISOString();

// ------------------------------------------------------------------------------------------------
// Expressions

describe('schedule expressions', () => {
  const occurrences = (
    expression: string,
    timeZone: string,
    from: string,
    n: number,
    bounds: { startDate?: string; endDate?: string } = {},
  ) => {
    const parsed = parseScheduleExpression(expression);
    const out: string[] = [];
    let t = Date.parse(from);
    for (let i = 0; i < n; i++) {
      const next = nextOccurrence(parsed, t, {
        timeZone,
        anchor: Date.parse(from),
        startDate: bounds.startDate ? Date.parse(bounds.startDate) : undefined,
        endDate: bounds.endDate ? Date.parse(bounds.endDate) : undefined,
      });
      if (next === undefined) break;
      out.push(new Date(next).toISOString());
      t = next;
    }
    return out;
  };

  it('rejects malformed expressions with a reason', () => {
    for (const bad of [
      'cron(0 12 * * * *)', // day-of-month and day-of-week both set
      'cron(0 12 ? * ? *)', // both ?
      'cron(0 12 * *)',
      'cron(60 * * * ? *)',
      'cron(0 24 * * ? *)',
      'cron(0 0 ? * MON#6 *)',
      'cron(0 0 ? * FOO *)',
      'cron(0 0 32 * ? *)',
      'cron(0 0 1 * ? 2200)',
      'cron(0 0 5-1 * ? *)',
      'cron(*/0 * * * ? *)',
      'cron(0 0 1,L * ? *)',
      'cron(0 0 1/40 * ? *)', // steps croner refuses: a ValidationException, not a crash when armed
      'cron(0 0 1 1/13 ? *)',
      'cron(0 0 * * ? 1970/100000000000000000000)',
      'rate(0 minutes)',
      'rate(5 weeks)',
      'rate(1.5 hours)',
      'rate(5minutes)',
      'at(2026-02-30T00:00:00)',
      'at(2026-03-01 10:00:00)',
      'at(2026-03-01T10:00)',
      'every day',
    ]) {
      expect(() => parseScheduleExpression(bad), bad).toThrow(ExpressionError);
    }
  });

  it('accepts the syntax AWS documents', () => {
    for (const good of [
      'cron(0/15 8-17 ? * MON-FRI *)',
      'cron(0 10 * * ? *)',
      'cron(15 12 * * ? *)',
      'cron(0 18 ? * MON-FRI *)',
      'cron(0 8 1 * ? *)',
      'cron(0/10 * ? * MON-FRI *)',
      'cron(0/5 8-17 ? * MON-FRI *)',
      'cron(0 9 ? * 2#1 *)',
      'cron(0 9 ? * 6L *)',
      'cron(0 9 L * ? *)',
      'cron(0 9 LW * ? *)',
      'cron(0 9 15W * ? *)',
      'cron(0 0 1 jan,JUL ? 2027-2028)',
      'cron(5,35 14 * * ? *)',
      'rate(1 minute)',
      'rate(5 minutes)',
      'rate(1 hour)',
      'rate(12 hours)',
      'rate(1 day)',
      'rate(7 days)',
      'at(2026-12-31T23:59:59)',
    ]) {
      expect(() => parseScheduleExpression(good), good).not.toThrow();
    }
  });

  it('steps, ranges and weekday names', () => {
    // Friday 17:50 → the next weekday slot is Monday 08:00.
    expect(occurrences('cron(0/15 8-17 ? * MON-FRI *)', 'UTC', '2026-03-06T17:50:00Z', 3)).toEqual([
      iso('2026-03-09T08:00:00Z'),
      iso('2026-03-09T08:15:00Z'),
      iso('2026-03-09T08:30:00Z'),
    ]);
    expect(occurrences('cron(5,35 14 * * ? *)', 'UTC', '2026-03-01T14:10:00Z', 3)).toEqual([
      iso('2026-03-01T14:35:00Z'),
      iso('2026-03-02T14:05:00Z'),
      iso('2026-03-02T14:35:00Z'),
    ]);
    // Day-of-week numbers: 1 = SUN ... 7 = SAT. 2026-03-01 is a Sunday.
    expect(occurrences('cron(0 12 ? * 1,7 *)', 'UTC', '2026-03-01T13:00:00Z', 3)).toEqual([
      iso('2026-03-07T12:00:00Z'),
      iso('2026-03-08T12:00:00Z'),
      iso('2026-03-14T12:00:00Z'),
    ]);
  });

  it('L, W and # in the day fields', () => {
    expect(occurrences('cron(0 9 L * ? *)', 'UTC', '2026-01-31T10:00:00Z', 3)).toEqual([
      iso('2026-02-28T09:00:00Z'),
      iso('2026-03-31T09:00:00Z'),
      iso('2026-04-30T09:00:00Z'),
    ]);
    // 2026-01-31 and 2026-02-28 are Saturdays: the last weekday is the Friday before.
    expect(occurrences('cron(0 9 LW * ? *)', 'UTC', '2026-01-15T00:00:00Z', 3)).toEqual([
      iso('2026-01-30T09:00:00Z'),
      iso('2026-02-27T09:00:00Z'),
      iso('2026-03-31T09:00:00Z'),
    ]);
    // 15W: 2026-03-15 is a Sunday → Monday 16th; 2026-08-15 is a Saturday → Friday 14th.
    expect(occurrences('cron(0 9 15W * ? *)', 'UTC', '2026-03-01T00:00:00Z', 6)).toEqual([
      iso('2026-03-16T09:00:00Z'),
      iso('2026-04-15T09:00:00Z'),
      iso('2026-05-15T09:00:00Z'),
      iso('2026-06-15T09:00:00Z'),
      iso('2026-07-15T09:00:00Z'),
      iso('2026-08-14T09:00:00Z'),
    ]);
    // 1W when the 1st is a Saturday: Monday the 3rd (never the previous month).
    expect(occurrences('cron(0 9 1W * ? *)', 'UTC', '2026-07-15T00:00:00Z', 1)).toEqual([iso('2026-08-03T09:00:00Z')]);
    // First Monday, last Friday.
    expect(occurrences('cron(0 9 ? * 2#1 *)', 'UTC', '2026-03-01T00:00:00Z', 2)).toEqual([
      iso('2026-03-02T09:00:00Z'),
      iso('2026-04-06T09:00:00Z'),
    ]);
    expect(occurrences('cron(0 9 ? * FRIL *)', 'UTC', '2026-03-01T00:00:00Z', 2)).toEqual([
      iso('2026-03-27T09:00:00Z'),
      iso('2026-04-24T09:00:00Z'),
    ]);
  });

  it('months, years and the end of a finite cron', () => {
    expect(occurrences('cron(0 0 1 JAN,JUL ? 2027-2028)', 'UTC', '2026-03-01T00:00:00Z', 10)).toEqual([
      iso('2027-01-01T00:00:00Z'),
      iso('2027-07-01T00:00:00Z'),
      iso('2028-01-01T00:00:00Z'),
      iso('2028-07-01T00:00:00Z'),
    ]);
    expect(occurrences('cron(0 0 30 2 ? *)', 'UTC', '2026-03-01T00:00:00Z', 1)).toEqual([]);
    expect(occurrences('cron(0 0 1 1 ? 1999)', 'UTC', '2026-03-01T00:00:00Z', 1)).toEqual([]);
  });

  it('cron in a time zone follows its wall clock across the spring-forward change (America/New_York, 2026-03-08)', () => {
    // 09:00 local: 14:00Z in EST, 13:00Z in EDT.
    expect(occurrences('cron(0 9 * * ? *)', 'America/New_York', '2026-03-06T00:00:00Z', 4)).toEqual([
      iso('2026-03-06T14:00:00Z'),
      iso('2026-03-07T14:00:00Z'),
      iso('2026-03-08T13:00:00Z'),
      iso('2026-03-09T13:00:00Z'),
    ]);
    // 02:30 does not exist on 2026-03-08: that occurrence is skipped.
    expect(occurrences('cron(30 2 * * ? *)', 'America/New_York', '2026-03-06T00:00:00Z', 3)).toEqual([
      iso('2026-03-06T07:30:00Z'),
      iso('2026-03-07T07:30:00Z'),
      iso('2026-03-09T06:30:00Z'),
    ]);
  });

  it('cron across the fall-back change runs a repeated local time once (America/New_York, 2026-11-01)', () => {
    expect(occurrences('cron(30 1 * * ? *)', 'America/New_York', '2026-10-31T00:00:00Z', 3)).toEqual([
      iso('2026-10-31T05:30:00Z'),
      iso('2026-11-01T05:30:00Z'), // 01:30 EDT; 01:30 EST an hour later does not fire
      iso('2026-11-02T06:30:00Z'),
    ]);
    expect(occurrences('cron(0 * * * ? *)', 'America/New_York', '2026-11-01T04:30:00Z', 3)).toEqual([
      iso('2026-11-01T05:00:00Z'), // 01:00 EDT
      iso('2026-11-01T07:00:00Z'), // 02:00 EST (01:00 EST is the repeat)
      iso('2026-11-01T08:00:00Z'),
    ]);
  });

  it('cron in a half-hour zone and at() in a zone', () => {
    expect(occurrences('cron(0 9 * * ? *)', 'Asia/Kolkata', '2026-03-06T17:50:00Z', 1)).toEqual([iso('2026-03-07T03:30:00Z')]);
    const at = (text: string, tz: string) => {
      const parsed = parseScheduleExpression(text);
      if (parsed.kind !== 'at') throw new Error(`${text} is not at()`);
      return new Date(atInstant(parsed.wall, tz)).toISOString();
    };
    expect(at('at(2026-07-01T12:00:00)', 'Europe/Paris')).toBe(iso('2026-07-01T10:00:00Z'));
    expect(at('at(2026-11-01T01:30:00)', 'America/New_York')).toBe(iso('2026-11-01T05:30:00Z'));
    expect(at('at(2026-03-08T02:30:00)', 'America/New_York')).toBe(iso('2026-03-08T07:30:00Z')); // in the gap: 03:30 EDT
    expect(occurrences('at(2026-03-01T10:00:00)', 'UTC', '2026-03-01T00:00:00Z', 5)).toEqual([iso('2026-03-01T10:00:00Z')]);
    expect(occurrences('at(2026-03-01T10:00:00)', 'UTC', '2026-03-01T11:00:00Z', 5)).toEqual([]);
  });

  it('rate() counts fixed durations from its start, within start and end dates', () => {
    expect(occurrences('rate(5 minutes)', 'UTC', '2026-03-06T17:50:00Z', 3)).toEqual([
      iso('2026-03-06T17:55:00Z'),
      iso('2026-03-06T18:00:00Z'),
      iso('2026-03-06T18:05:00Z'),
    ]);
    // A day is 24 hours, also across a DST change (rate ignores the time zone).
    expect(occurrences('rate(1 day)', 'America/New_York', '2026-03-07T12:00:00Z', 2)).toEqual([
      iso('2026-03-08T12:00:00Z'),
      iso('2026-03-09T12:00:00Z'),
    ]);
    expect(
      occurrences('rate(2 hours)', 'UTC', '2026-03-01T00:00:00Z', 10, {
        startDate: '2026-03-02T01:00:00Z',
        endDate: '2026-03-02T07:00:00Z',
      }),
    ).toEqual([iso('2026-03-02T01:00:00Z'), iso('2026-03-02T03:00:00Z'), iso('2026-03-02T05:00:00Z')]);
    expect(
      occurrences('cron(0 12 * * ? *)', 'UTC', '2026-03-01T00:00:00Z', 10, {
        startDate: '2026-03-03T12:00:00Z',
        endDate: '2026-03-05T12:00:00Z',
      }),
    ).toEqual([iso('2026-03-03T12:00:00Z'), iso('2026-03-04T12:00:00Z')]);
  });
});

// ------------------------------------------------------------------------------------------------
// API

describe('Scheduler API through @aws-sdk/client-scheduler', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('creates a schedule and returns every field', async () => {
    const created = await h.client.send(
      new CreateScheduleCommand({
        ...schedule('full', 'cron(0 9 * * ? *)', {
          Input: '{"hello":"world"}',
          DeadLetterConfig: { Arn: DLQ },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
          SqsParameters: { MessageGroupId: 'g1' },
        }),
        Description: 'every morning',
        ScheduleExpressionTimezone: 'Europe/Paris',
        StartDate: new Date('2026-03-02T00:00:00Z'),
        EndDate: new Date('2026-04-01T00:00:00Z'),
        State: 'DISABLED',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
        ActionAfterCompletion: 'DELETE',
      }),
    );
    expect(created.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/full');
    const got = await h.client.send(new GetScheduleCommand({ Name: 'full' }));
    expect(got).toMatchObject({
      Arn: created.ScheduleArn,
      Name: 'full',
      GroupName: 'default',
      ScheduleExpression: 'cron(0 9 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      Description: 'every morning',
      State: 'DISABLED',
      StartDate: new Date('2026-03-02T00:00:00Z'),
      EndDate: new Date('2026-04-01T00:00:00Z'),
      CreationDate: new Date(START),
      LastModificationDate: new Date(START),
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: QUEUE,
        RoleArn: ROLE,
        Input: '{"hello":"world"}',
        DeadLetterConfig: { Arn: DLQ },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
        SqsParameters: { MessageGroupId: 'g1' },
      },
    });
    // Defaults are filled in.
    await h.client.send(new CreateScheduleCommand(schedule('minimal', 'rate(1 day)', {}, { State: 'DISABLED' })));
    const minimal = await h.client.send(new GetScheduleCommand({ Name: 'minimal', GroupName: 'default' }));
    expect(minimal.ActionAfterCompletion).toBe('NONE');
    expect(minimal.Target?.RetryPolicy).toEqual({ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
  });

  it('answers ConflictException, ResourceNotFoundException and ValidationException like AWS', async () => {
    await h.client.send(new CreateScheduleCommand(schedule('dup', 'rate(1 day)', {}, { State: 'DISABLED' })));
    expect(await rejection(h.client.send(new CreateScheduleCommand(schedule('dup', 'rate(1 day)'))))).toMatchObject({
      name: 'ConflictException',
      status: 409,
    });
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
      status: 404,
    });
    expect(await rejection(h.client.send(new DeleteScheduleCommand({ Name: 'nope' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await rejection(h.client.send(new UpdateScheduleCommand(schedule('nope', 'rate(1 day)'))))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'dup', GroupName: 'other' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(
      await rejection(h.client.send(new CreateScheduleCommand(schedule('in-missing-group', 'rate(1 day)', {}, { GroupName: 'missing' })))),
    ).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'Schedule group missing does not exist.',
    });

    const invalid: Array<[string, CreateScheduleCommandInput, RegExp]> = [
      ['bad cron', schedule('bad-cron', 'cron(0 12 * * * *)'), /Invalid Schedule Expression cron\(0 12 \* \* \* \*\)/],
      ['bad rate', schedule('bad-rate', 'rate(0 minutes)'), /Invalid Schedule Expression/],
      ['bad at', schedule('bad-at', 'at(2026-13-01T00:00:00)'), /Invalid Schedule Expression/],
      ['bad name', schedule('bad name!', 'rate(1 day)'), /regular expression pattern/],
      ['long name', schedule('x'.repeat(65), 'rate(1 day)'), /length between 1 and 64/],
      ['bad time zone', { ...schedule('bad-tz', 'rate(1 day)'), ScheduleExpressionTimezone: 'Mars/Olympus' }, /Invalid time zone/],
      ['no role', schedule('no-role', 'rate(1 day)', { RoleArn: undefined }), /roleArn/],
      ['bad role', schedule('bad-role', 'rate(1 day)', { RoleArn: 'not-a-role' }), /roleArn/],
      ['no target arn', schedule('no-arn', 'rate(1 day)', { Arn: undefined }), /target\.arn/],
      [
        'flexible without window',
        { ...schedule('flex', 'rate(1 day)'), FlexibleTimeWindow: { Mode: 'FLEXIBLE' } },
        /MaximumWindowInMinutes/,
      ],
      [
        'window too wide',
        { ...schedule('flex2', 'rate(1 day)'), FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1441 } },
        /between 1 and 1440/,
      ],
      ['retries', schedule('retries', 'rate(1 day)', { RetryPolicy: { MaximumRetryAttempts: 186 } }), /between 0 and 185/],
      ['event age', schedule('age', 'rate(1 day)', { RetryPolicy: { MaximumEventAgeInSeconds: 59 } }), /between 60 and 86400/],
      ['lambda input', schedule('lambda-input', 'rate(1 day)', { Arn: FUNCTION, Input: 'not json' }), /well-formed JSON/],
      [
        'universal without input',
        schedule('universal', 'rate(1 day)', { Arn: 'arn:aws:scheduler:::aws-sdk:sqs:sendMessage' }),
        /requires an Input/,
      ],
      [
        'end before start',
        { ...schedule('dates', 'rate(1 day)'), StartDate: new Date('2026-03-05T00:00:00Z'), EndDate: new Date('2026-03-04T00:00:00Z') },
        /EndDate/,
      ],
      ['fifo without group', schedule('fifo', 'rate(1 day)', { Arn: `${QUEUE}.fifo` }), /MessageGroupId/],
    ];
    for (const [what, input, message] of invalid) {
      const error = await rejection(h.client.send(new CreateScheduleCommand(input)));
      expect(error, what).toMatchObject({ name: 'ValidationException', status: 400 });
      expect(error.message, what).toMatch(message);
    }
  });

  it('UpdateSchedule replaces the whole schedule; DeleteSchedule removes it', async () => {
    await h.client.send(
      new CreateScheduleCommand({
        ...schedule('replace-me', 'rate(1 day)', { Input: 'one' }),
        Description: 'first',
        State: 'DISABLED',
        ActionAfterCompletion: 'DELETE',
      }),
    );
    await h.clock.advance(60);
    const updated = await h.client.send(
      new UpdateScheduleCommand({ ...schedule('replace-me', 'cron(0 8 * * ? *)', {}), State: 'DISABLED' }),
    );
    expect(updated.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/replace-me');
    const got = await h.client.send(new GetScheduleCommand({ Name: 'replace-me' }));
    expect(got.ScheduleExpression).toBe('cron(0 8 * * ? *)');
    expect(got.Description).toBeUndefined();
    expect(got.Target?.Input).toBeUndefined();
    expect(got.ActionAfterCompletion).toBe('NONE');
    expect(got.CreationDate!.getTime()).toBeLessThan(got.LastModificationDate!.getTime());
    await h.client.send(new DeleteScheduleCommand({ Name: 'replace-me' }));
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'replace-me' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('schedule groups: default, create, get, list, tags, delete with their schedules', async () => {
    const list0 = await h.client.send(new ListScheduleGroupsCommand({}));
    expect(list0.ScheduleGroups?.map((g) => g.Name)).toContain('default');
    const created = await h.client.send(new CreateScheduleGroupCommand({ Name: 'billing', Tags: [{ Key: 'team', Value: 'money' }] }));
    expect(created.ScheduleGroupArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule-group/billing');
    expect(await rejection(h.client.send(new CreateScheduleGroupCommand({ Name: 'billing' })))).toMatchObject({
      name: 'ConflictException',
    });
    expect(await h.client.send(new GetScheduleGroupCommand({ Name: 'billing' }))).toMatchObject({
      Name: 'billing',
      State: 'ACTIVE',
      Arn: created.ScheduleGroupArn,
    });
    await h.client.send(new TagResourceCommand({ ResourceArn: created.ScheduleGroupArn, Tags: [{ Key: 'env', Value: 'local' }] }));
    const tags = await h.client.send(new ListTagsForResourceCommand({ ResourceArn: created.ScheduleGroupArn }));
    expect(tags.Tags).toEqual([
      { Key: 'team', Value: 'money' },
      { Key: 'env', Value: 'local' },
    ]);

    await h.client.send(new CreateScheduleCommand(schedule('invoice', 'rate(1 day)', {}, { GroupName: 'billing', State: 'DISABLED' })));
    await h.client.send(new CreateScheduleCommand(schedule('invoice', 'rate(1 day)', {}, { State: 'DISABLED' }))); // same name, other group
    const inGroup = await h.client.send(new GetScheduleCommand({ Name: 'invoice', GroupName: 'billing' }));
    expect(inGroup.Arn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/billing/invoice');

    const listed = await h.client.send(new ListSchedulesCommand({ GroupName: 'billing' }));
    expect(listed.Schedules?.map((s) => [s.GroupName, s.Name, s.State, s.Target?.Arn])).toEqual([
      ['billing', 'invoice', 'DISABLED', QUEUE],
    ]);

    await h.client.send(new DeleteScheduleGroupCommand({ Name: 'billing' }));
    expect(await rejection(h.client.send(new GetScheduleGroupCommand({ Name: 'billing' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'invoice', GroupName: 'billing' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await h.client.send(new GetScheduleCommand({ Name: 'invoice' }));
    expect(await rejection(h.client.send(new DeleteScheduleGroupCommand({ Name: 'default' })))).toMatchObject({
      name: 'ValidationException',
    });
  });

  it('ListSchedules filters by NamePrefix, State and group, and pages', async () => {
    for (const n of ['page-a', 'page-b', 'page-c'])
      await h.client.send(new CreateScheduleCommand(schedule(n, 'rate(1 day)', {}, { State: 'DISABLED' })));
    const byPrefix = await h.client.send(new ListSchedulesCommand({ NamePrefix: 'page-' }));
    expect(byPrefix.Schedules?.map((s) => s.Name)).toEqual(['page-a', 'page-b', 'page-c']);
    expect(byPrefix.Schedules?.[0]?.CreationDate).toBeInstanceOf(Date);
    const enabled = await h.client.send(new ListSchedulesCommand({ NamePrefix: 'page-', State: 'ENABLED' }));
    expect(enabled.Schedules).toEqual([]);
    const first = await h.client.send(new ListSchedulesCommand({ NamePrefix: 'page-', MaxResults: 2 }));
    expect(first.Schedules?.map((s) => s.Name)).toEqual(['page-a', 'page-b']);
    expect(first.NextToken).toBeTruthy();
    const second = await h.client.send(new ListSchedulesCommand({ NamePrefix: 'page-', MaxResults: 2, NextToken: first.NextToken }));
    expect(second.Schedules?.map((s) => s.Name)).toEqual(['page-c']);
    expect(second.NextToken).toBeUndefined();
  });
});

// ------------------------------------------------------------------------------------------------
// Firing on the virtual clock

describe('firing on the virtual clock', () => {
  let h: Harness;
  const bodies = (arn: string) => h.deliveries.filter((d) => d.arn === arn);
  beforeAll(async () => {
    h = await startHarness();
    const c = h.client;
    // Created at 2026-03-01T00:00:00Z (the clock is frozen); then the clock jumps 30 days at once.
    await c.send(
      new CreateScheduleCommand(
        schedule('daily', 'cron(0 9 * * ? *)', { Arn: `${QUEUE}-daily`, Input: '{"at":"<aws.scheduler.scheduled-time>"}' }),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('once', 'at(2026-03-01T12:00:00)', { Arn: `${QUEUE}-once`, Input: 'once' }, { ActionAfterCompletion: 'DELETE' }),
      ),
    );
    await c.send(new CreateScheduleCommand(schedule('once-kept', 'at(2026-03-01T12:00:00)', { Arn: `${QUEUE}-kept`, Input: 'kept' })));
    await c.send(
      new CreateScheduleCommand(
        schedule(
          'six-hourly',
          'rate(6 hours)',
          { Arn: `${QUEUE}-rate`, Input: '<aws.scheduler.scheduled-time>' },
          { EndDate: new Date('2026-03-02T00:00:00Z'), ActionAfterCompletion: 'DELETE' },
        ),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule(
          'ny-nine',
          'cron(0 9 * * ? *)',
          { Arn: `${QUEUE}-ny9`, Input: '<aws.scheduler.scheduled-time>' },
          { ScheduleExpressionTimezone: 'America/New_York', EndDate: new Date('2026-03-11T00:00:00Z') },
        ),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule(
          'ny-230',
          'cron(30 2 * * ? *)',
          { Arn: `${QUEUE}-ny230`, Input: '<aws.scheduler.scheduled-time>' },
          { ScheduleExpressionTimezone: 'America/New_York', EndDate: new Date('2026-03-11T00:00:00Z') },
        ),
      ),
    );
    await c.send(
      new CreateScheduleCommand({
        ...schedule(
          'flexible',
          'cron(0 12 * * ? *)',
          { Arn: `${QUEUE}-flex`, Input: '<aws.scheduler.scheduled-time>' },
          { EndDate: new Date('2026-03-04T00:00:00Z') },
        ),
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 },
      }),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule(
          'retrying',
          'at(2026-03-02T10:00:00)',
          {
            Arn: FAILING_QUEUE,
            Input:
              '{"attempt":<aws.scheduler.attempt-number>,"execution":"<aws.scheduler.execution-id>","schedule":"<aws.scheduler.schedule-arn>"}',
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: DLQ },
          },
          { ActionAfterCompletion: 'DELETE' },
        ),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('aging', 'at(2026-03-03T10:00:00)', {
          Arn: FAILING_QUEUE,
          Input: 'aging <aws.scheduler.attempt-number>',
          RetryPolicy: { MaximumEventAgeInSeconds: 60 },
          DeadLetterConfig: { Arn: `${DLQ}-aging` },
        }),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('gone', 'at(2026-03-04T01:00:00)', { Arn: MISSING_QUEUE, Input: 'x', DeadLetterConfig: { Arn: `${DLQ}-gone` } }),
      ),
    );
    await c.send(new CreateScheduleCommand(schedule('disabled', 'cron(0 * * * ? *)', { Arn: `${QUEUE}-disabled` }, { State: 'DISABLED' })));
    await c.send(new CreateScheduleCommand(schedule('deleted', 'cron(0 * * * ? *)', { Arn: `${QUEUE}-deleted` })));
    await c.send(new DeleteScheduleCommand({ Name: 'deleted' }));
    await c.send(new CreateScheduleCommand(schedule('default-input', 'at(2026-03-05T00:00:00)', { Arn: FUNCTION })));
    await c.send(
      new CreateScheduleCommand(
        schedule('fifo', 'at(2026-03-05T00:00:00)', { Arn: `${QUEUE}.fifo`, Input: 'f', SqsParameters: { MessageGroupId: 'group-7' } }),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('universal-sqs', 'at(2026-03-06T00:00:00)', {
          Arn: 'arn:aws:scheduler:::aws-sdk:sqs:sendMessage',
          Input: JSON.stringify({
            QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/universal',
            MessageBody: 'from <aws.scheduler.schedule-arn>',
          }),
        }),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('universal-sfn', 'at(2026-03-06T00:00:00)', {
          Arn: 'arn:aws:scheduler:::aws-sdk:sfn:startExecution',
          Input: JSON.stringify({ StateMachineArn: STATE_MACHINE, Input: '{"k":1}', Name: 'run-1' }),
        }),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('universal-lambda', 'at(2026-03-06T00:00:00)', {
          Arn: 'arn:aws:scheduler:::aws-sdk:lambda:invoke',
          Input: JSON.stringify({ FunctionName: 'worker', Payload: '{"p":true}', InvocationType: 'Event' }),
        }),
      ),
    );
    await c.send(
      new CreateScheduleCommand(
        schedule('universal-sns', 'at(2026-03-06T00:00:00)', {
          Arn: 'arn:aws:scheduler:::aws-sdk:sns:publish',
          Input: JSON.stringify({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:t', Message: 'm' }),
        }),
      ),
    );
    await h.clock.advance(30 * 86_400);
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('a daily cron fires exactly 30 times over a 30-day jump, each at its time', () => {
    const daily = bodies(`${QUEUE}-daily`);
    expect(daily).toHaveLength(30);
    for (const [i, d] of daily.entries()) {
      const expected = new Date(Date.UTC(2026, 2, 1 + i, 9)).toISOString();
      expect(d.at).toBe(expected);
      expect(JSON.parse(d.input)).toEqual({ at: expected.replace('.000Z', 'Z') });
    }
    expect(h.clock.date().toISOString()).toBe('2026-03-31T00:00:00.000Z');
  });

  it('a one-time schedule fires once, then ActionAfterCompletion DELETE deletes it (NONE keeps it)', async () => {
    expect(bodies(`${QUEUE}-once`).map((d) => [d.at, d.input])).toEqual([['2026-03-01T12:00:00.000Z', 'once']]);
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'once' })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(bodies(`${QUEUE}-kept`)).toHaveLength(1);
    expect((await h.client.send(new GetScheduleCommand({ Name: 'once-kept' }))).State).toBe('ENABLED');
  });

  it('a rate schedule fires immediately and then every period until its end date, then is deleted', async () => {
    expect(bodies(`${QUEUE}-rate`).map((d) => d.input)).toEqual([
      '2026-03-01T00:00:00Z',
      '2026-03-01T06:00:00Z',
      '2026-03-01T12:00:00Z',
      '2026-03-01T18:00:00Z',
    ]);
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'six-hourly' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('cron with a time zone follows the local wall clock across the DST change', () => {
    const nine = bodies(`${QUEUE}-ny9`);
    expect(nine).toHaveLength(10); // 2026-03-01 .. 2026-03-10 (end date 2026-03-11T00:00Z)
    expect(nine.slice(5, 9).map((d) => d.at)).toEqual([
      '2026-03-06T14:00:00.000Z',
      '2026-03-07T14:00:00.000Z',
      '2026-03-08T13:00:00.000Z', // EDT from here on
      '2026-03-09T13:00:00.000Z',
    ]);
    const twoThirty = bodies(`${QUEUE}-ny230`).map((d) => d.at);
    // 02:30 does not exist on 2026-03-08 in New York: 10 days, 9 firings.
    expect(twoThirty).toHaveLength(9);
    expect(twoThirty).toContain('2026-03-07T07:30:00.000Z');
    expect(twoThirty.some((t) => t.startsWith('2026-03-08'))).toBe(false);
    expect(twoThirty).toContain('2026-03-09T06:30:00.000Z');
  });

  it('a flexible window fires once per occurrence inside the window, with the nominal scheduled time', () => {
    const flex = bodies(`${QUEUE}-flex`);
    expect(flex.map((d) => d.input)).toEqual(['2026-03-01T12:00:00Z', '2026-03-02T12:00:00Z', '2026-03-03T12:00:00Z']);
    const offsets = flex.map((d) => Date.parse(d.at) - Date.parse(d.input));
    for (const o of offsets) {
      expect(o).toBeGreaterThanOrEqual(0);
      expect(o).toBeLessThan(60 * 60_000);
    }
    expect(offsets.some((o) => o > 0)).toBe(true);
  });

  it('a failing target is retried with backoff on the virtual clock, then the input goes to the DLQ', async () => {
    const attempts = h.deliveries.filter((d) => d.arn === FAILING_QUEUE && d.input.startsWith('{'));
    expect(attempts.map((d) => d.at)).toEqual(['2026-03-02T10:00:00.000Z', '2026-03-02T10:00:01.000Z', '2026-03-02T10:00:03.000Z']);
    const inputs = attempts.map((d) => JSON.parse(d.input) as { attempt: number; execution: string; schedule: string });
    expect(inputs.map((i) => i.attempt)).toEqual([1, 2, 3]);
    expect(new Set(inputs.map((i) => i.execution)).size).toBe(1);
    expect(inputs[0]!.execution).toMatch(/^[0-9a-f]{16}$/);
    expect(inputs[0]!.schedule).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/default/retrying');
    const dead = bodies(DLQ);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.at).toBe('2026-03-02T10:00:03.000Z');
    expect(JSON.parse(dead[0]!.input)).toMatchObject({ attempt: 3 });
    expect(h.log.some((l) => l.includes('dead-letter queue') && l.includes('retrying'))).toBe(true);
    // Completed (dead-lettered) → deleted.
    expect(await rejection(h.client.send(new GetScheduleCommand({ Name: 'retrying' })))).toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('retries stop at MaximumEventAgeInSeconds', () => {
    const attempts = h.deliveries.filter((d) => d.arn === FAILING_QUEUE && d.input.startsWith('aging'));
    // Backoff 1, 2, 4, 8, 16 s: attempts at +0, +1, +3, +7, +15, +31 s; the next (+63 s) is past 60 s.
    expect(attempts.map((d) => d.input)).toEqual(['aging 1', 'aging 2', 'aging 3', 'aging 4', 'aging 5', 'aging 6']);
    expect(attempts.at(-1)!.at).toBe('2026-03-03T10:00:31.000Z');
    expect(bodies(`${DLQ}-aging`).map((d) => d.input)).toEqual(['aging 6']);
  });

  it('a target error that retrying cannot fix (an AwsError 4xx) goes straight to the DLQ', () => {
    expect(bodies(MISSING_QUEUE)).toHaveLength(1);
    expect(bodies(`${DLQ}-gone`).map((d) => [d.at, d.input])).toEqual([['2026-03-04T01:00:00.000Z', 'x']]);
  });

  it('disabled and deleted schedules do not fire', () => {
    expect(bodies(`${QUEUE}-disabled`)).toEqual([]);
    expect(bodies(`${QUEUE}-deleted`)).toEqual([]);
  });

  it('a target without Input receives the default Scheduler notification', () => {
    const [d] = bodies(FUNCTION);
    expect(d).toBeDefined();
    expect(JSON.parse(d!.input)).toMatchObject({
      version: '0',
      'detail-type': 'Scheduled Event',
      source: 'aws.scheduler',
      account: '000000000000',
      region: 'us-east-1',
      time: '2026-03-05T00:00:00Z',
      resources: ['arn:aws:scheduler:us-east-1:000000000000:schedule/default/default-input'],
      detail: '{}',
    });
  });

  it('SQS FIFO targets get SqsParameters.MessageGroupId', () => {
    expect(bodies(`${QUEUE}.fifo`).map((d) => d.messageGroupId)).toEqual(['group-7']);
  });

  it('universal targets sqs:sendMessage, sfn:startExecution and lambda:invoke become local deliveries', () => {
    expect(bodies('arn:aws:sqs:us-east-1:000000000000:universal').map((d) => d.input)).toEqual([
      'from arn:aws:scheduler:us-east-1:000000000000:schedule/default/universal-sqs',
    ]);
    expect(bodies(STATE_MACHINE).map((d) => [d.input, d.name])).toEqual([['{"k":1}', 'run-1']]);
    expect(bodies(FUNCTION).map((d) => [d.input, d.name])).toContainEqual(['{"p":true}', 'Event']);
  });

  it('an unsupported universal target is reported at creation and its firing fails with a clear error', () => {
    expect(h.log.some((l) => l.includes('universal-sns') && l.includes('aws-sdk:sns:publish is not run by the local cloud'))).toBe(true);
    expect(h.log.some((l) => l.includes('invocation dropped') && l.includes('universal-sns') && l.includes('UnsupportedTarget'))).toBe(
      true,
    );
  });

  it('re-enabling a disabled schedule with UpdateSchedule makes it fire', async () => {
    await h.client.send(
      new UpdateScheduleCommand(schedule('disabled', 'cron(0 * * * ? *)', { Arn: `${QUEUE}-disabled` }, { State: 'ENABLED' })),
    );
    await h.clock.advance(3 * 3600);
    expect(bodies(`${QUEUE}-disabled`).map((d) => d.at)).toEqual([
      '2026-03-31T01:00:00.000Z',
      '2026-03-31T02:00:00.000Z',
      '2026-03-31T03:00:00.000Z',
    ]);
  });

  it('is idle between firings', () => {
    expect(h.service.isIdle()).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------
// Schedules from a fixture CDK app

describe('schedules from a CDK app', () => {
  let h: Harness;
  let queueArn: string;
  let dlqArn: string;
  let functionArn: string;
  beforeAll(async () => {
    h = await startHarness((app) => {
      const stack = new Stack(app, 'Schedules');
      const queue = new Queue(stack, 'Reminders');
      const dlq = new Queue(stack, 'ReminderDlq');
      const fn = new LambdaFunction(stack, 'Worker', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => {};'),
      });
      const group = new ScheduleGroup(stack, 'Billing');
      new Schedule(stack, 'DailyReminder', {
        schedule: CdkScheduleExpression.cron({ minute: '0', hour: '7', timeZone: TimeZone.EUROPE_PARIS }),
        scheduleGroup: group,
        target: new SqsSendMessage(queue, {
          input: ScheduleTargetInput.fromObject({ kind: 'reminder', at: '<aws.scheduler.scheduled-time>' }),
          deadLetterQueue: dlq,
          retryAttempts: 2,
          maxEventAge: Duration.minutes(5),
        }),
      });
      const once = new Schedule(stack, 'OneTime', {
        schedule: CdkScheduleExpression.at(new Date('2026-03-02T10:00:00Z')),
        target: new LambdaInvoke(fn, { input: ScheduleTargetInput.fromObject({ once: true }) }),
        timeWindow: TimeWindow.off(),
      });
      (once.node.defaultChild as CfnSchedule).addPropertyOverride('ActionAfterCompletion', 'DELETE');
      new Schedule(stack, 'UniversalOnce', {
        schedule: CdkScheduleExpression.at(new Date('2026-03-03T10:00:00Z')),
        target: new Universal({
          service: 'sqs',
          action: 'sendMessage',
          input: ScheduleTargetInput.fromObject({ QueueUrl: queue.queueUrl, MessageBody: 'universal' }),
        }),
      });
    });
    queueArn = h.model.ofType('AWS::SQS::Queue').find((q) => q.logicalId.startsWith('Reminders'))!.arn!;
    dlqArn = h.model.ofType('AWS::SQS::Queue').find((q) => q.logicalId.startsWith('ReminderDlq'))!.arn!;
    functionArn = h.model.ofType('AWS::Lambda::Function')[0]!.arn!;
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('counts the Scheduler types as emulated and loads the schedules and the group', async () => {
    reportTemplateCoverage(h.model);
    expect(
      h.model.diagnostics.items.filter(
        (d) => d.message.includes('AWS::Scheduler::Schedule is') || d.message.includes('AWS::Scheduler::ScheduleGroup is'),
      ),
    ).toEqual([]);
    // CloudFormation has no ActionAfterCompletion (only the API does): named as an error, ignored.
    expect(h.model.diagnostics.errors.map((d) => d.where)).toEqual([
      expect.stringMatching(/^Schedules\/OneTime[0-9A-F]+\/ActionAfterCompletion$/),
    ]);
    const groups = await h.client.send(new ListScheduleGroupsCommand({}));
    const billing = groups.ScheduleGroups!.find((g) => g.Name !== 'default')!;
    expect(billing.Name).toMatch(/^Schedules-Billing/);
    const listed = await h.client.send(new ListSchedulesCommand({}));
    expect(listed.Schedules).toHaveLength(3);
    const daily = listed.Schedules!.find((s) => s.GroupName === billing.Name)!;
    const got = await h.client.send(new GetScheduleCommand({ Name: daily.Name, GroupName: billing.Name }));
    expect(got).toMatchObject({
      ScheduleExpression: 'cron(0 7 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      State: 'ENABLED',
      Target: { Arn: queueArn, DeadLetterConfig: { Arn: dlqArn }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 } },
    });
  });

  it('advancing 30 days fires the daily schedule 30 times and each one-time schedule once', async () => {
    await h.clock.advance(30 * 86_400);
    const reminders = h.deliveries.filter((d) => d.arn === queueArn && d.input.startsWith('{'));
    expect(reminders).toHaveLength(30);
    // 07:00 in Paris: 06:00Z in winter (CET), 05:00Z after 2026-03-29 (CEST).
    expect(reminders[0]!.at).toBe('2026-03-01T06:00:00.000Z');
    expect(reminders[27]!.at).toBe('2026-03-28T06:00:00.000Z');
    expect(reminders[28]!.at).toBe('2026-03-29T05:00:00.000Z');
    expect(JSON.parse(reminders[0]!.input)).toEqual({ kind: 'reminder', at: '2026-03-01T06:00:00Z' });

    const once = h.deliveries.filter((d) => d.arn === functionArn);
    expect(once.map((d) => [d.at, JSON.parse(d.input)])).toEqual([['2026-03-02T10:00:00.000Z', { once: true }]]);
    // Template schedules keep ActionAfterCompletion NONE: the one-time schedule stays.
    const remaining = await h.client.send(new ListSchedulesCommand({}));
    expect(remaining.Schedules).toHaveLength(3);

    expect(h.deliveries.filter((d) => d.arn === queueArn && d.input === 'universal').map((d) => d.at)).toEqual([
      '2026-03-03T10:00:00.000Z',
    ]);
  }, 60_000);
});
