/**
 * Due jobs on AWS (the contract is due-jobs.ts): one EventBridge Scheduler one-time schedule per
 * job, which sends the job to the charge queue at its due time and then deletes itself, and the
 * charge queue itself for jobs that are due already (and for the daily reconciliation).
 *
 * - Schedules are named after (subscription, due second), so asking twice is one schedule: a
 *   `ConflictException` on create is success. A schedule already gone on delete (fired, or never
 *   made) is success too.
 * - A job due within the next minute, or overdue, skips Scheduler and goes to the queue at once,
 *   delayed by SQS until its due time. Scheduler invokes with 60 s precision ("between 1:00:00 and
 *   1:00:59", User Guide, "Schedule types") and documents no outcome for an `at()` already past
 *   by the time it is created (the local cloud accepts one and never fires it,
 *   packages/local-cloud/src/scheduler/service.ts `arm`): a job that close is not left to it, or
 *   its renewal could wait for the daily reconciliation.
 * - Throttling, 5xx answers and failed requests are retried with exponential backoff and full
 *   jitter (retry.ts). The clients built here have the SDK's own retries off so one budget applies.
 *
 * Relies on: a standard (not FIFO) charge queue; a role Scheduler can assume that may send to that
 * queue and to the schedules' dead-letter queue; for the caller, `scheduler:CreateSchedule` and
 * `scheduler:DeleteSchedule` on the group's schedules, `iam:PassRole` on that role and
 * `sqs:SendMessage` on the queue.
 */
import { createHash } from 'node:crypto';
import { CreateScheduleCommand, DeleteScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../clock';
import { requireEnv } from '../env';
import { type BackoffPolicy, type RetryOptions, retry, retryRemaining, type Sleep } from '../retry';
import { type DueJob, type DueJobQueue, type DueJobScheduler, dueJobSchema } from './due-jobs';

/** What the scheduler needs from `SchedulerClient`. */
export interface SchedulerLike {
  send(command: CreateScheduleCommand | DeleteScheduleCommand): Promise<unknown>;
}

/** What sending jobs needs from `SQSClient`. */
export interface SqsLike {
  send(command: SendMessageBatchCommand): Promise<{ readonly Failed?: SendMessageBatchCommandOutput['Failed'] }>;
  send(command: SendMessageCommand): Promise<unknown>;
}

export interface DueJobsConfig {
  /** The schedule group of the jobs' schedules (the caller's grants are scoped to it). */
  readonly scheduleGroup: string;
  /** Target of every schedule. */
  readonly chargeQueueArn: string;
  /** Where jobs already due are sent. */
  readonly chargeQueueUrl: string;
  /** The role Scheduler assumes to send to the charge queue and the dead-letter queue. */
  readonly schedulerRoleArn: string;
  /** Where Scheduler puts a job it could not deliver within its retry policy. */
  readonly deadLetterQueueArn: string;
}

/** The configuration from DUE_SCHEDULE_GROUP, CHARGE_QUEUE_ARN, CHARGE_QUEUE_URL, SCHEDULER_ROLE_ARN, SCHEDULER_DLQ_ARN. */
export function dueJobsConfigFromEnvironment(env: NodeJS.ProcessEnv = process.env): DueJobsConfig {
  return {
    scheduleGroup: requireEnv('DUE_SCHEDULE_GROUP', env),
    chargeQueueArn: requireEnv('CHARGE_QUEUE_ARN', env),
    chargeQueueUrl: requireEnv('CHARGE_QUEUE_URL', env),
    schedulerRoleArn: requireEnv('SCHEDULER_ROLE_ARN', env),
    deadLetterQueueArn: requireEnv('SCHEDULER_DLQ_ARN', env),
  };
}

/** Jobs due sooner than this (or overdue) go to the queue instead of Scheduler: its precision is a minute. */
export const SCHEDULE_LEAD_MS = 60_000;

/**
 * Scheduler's delivery budget: its maxima, so a charge queue that is down for up to a day still
 * gets the job, and only then the dead-letter queue.
 */
export const SCHEDULE_RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 } as const;

/** Budget of one API call (and of a batch's failed entries): 5 calls, backoff 100 ms doubling to 2 s. */
export const DEFAULT_BACKOFF: BackoffPolicy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 2_000 };

/** Scheduler's limits on a schedule name (CreateSchedule API reference). */
const NAME_MAX = 64;
const NAME_CHARACTERS = /^[0-9a-zA-Z_.-]+$/;

/**
 * The schedule of a job: `due-<subscriptionId>-<epoch seconds>`, or, when the id has characters a
 * name cannot hold or makes it too long, `dueh-<hash of the id>-<epoch seconds>` (the fourth
 * character tells the two forms apart, so they never collide).
 */
export function scheduleName(subscriptionId: string, dueSecond: number): string {
  const plain = `due-${subscriptionId}-${dueSecond}`;
  if (plain.length <= NAME_MAX && NAME_CHARACTERS.test(subscriptionId)) return plain;
  const digest = createHash('sha256').update(subscriptionId).digest('hex').slice(0, 40);
  return `dueh-${digest}-${dueSecond}`;
}

/** `at()`'s `yyyy-mm-ddThh:mm:ss`, read in the schedule's time zone (UTC here). */
function atExpression(second: number): string {
  return `at(${new Date(second * 1000).toISOString().slice(0, 19)})`;
}

/**
 * The job as the contract has it, checked: only its fields (an object with more, which TypeScript
 * lets through, must not fail the strict schema, nor carry the rest to the queue).
 */
function contractJob(input: DueJob): DueJob {
  return dueJobSchema.parse({ userId: input.userId, subscriptionId: input.subscriptionId, dueAt: input.dueAt });
}

interface SdkError {
  readonly name?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED']);

/** Throttling, a 5xx, or a request that failed on the way: worth another try. */
export function isRetryable(error: unknown): boolean {
  const e = error as SdkError | undefined;
  const status = e?.$metadata?.httpStatusCode;
  return (
    e?.name === 'ThrottlingException' ||
    e?.name === 'RequestThrottled' ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    e?.name === 'TimeoutError' ||
    TRANSIENT_CODES.has(e?.code ?? '')
  );
}

const named = (name: string) => (error: unknown) => (error as SdkError | undefined)?.name === name;
const isConflict = named('ConflictException');
const isNotFound = named('ResourceNotFoundException');

/** Jobs the queue would not take after every attempt. */
export class DueJobsNotEnqueued extends Error {
  constructor(
    readonly failed: number,
    readonly total: number,
    readonly lastError: string,
  ) {
    super(`${failed} of ${total} due jobs could not be enqueued (last error: ${lastError})`);
    this.name = 'DueJobsNotEnqueued';
  }
}

interface Backoff {
  /** @default DEFAULT_BACKOFF */
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  /** [0, 1); full jitter draws each backoff uniformly below its bound. @default Math.random */
  readonly random?: () => number;
}

export interface SchedulerDueJobsOptions extends Backoff {
  readonly scheduler: SchedulerLike;
  /** Sends the jobs that are due already. */
  readonly sqs: SqsLike;
  readonly config: DueJobsConfig;
  /** @default systemClock */
  readonly clock?: Clock;
}

export class SchedulerDueJobs implements DueJobScheduler {
  private readonly clock: Clock;

  constructor(private readonly options: SchedulerDueJobsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * From the environment (`dueJobsConfigFromEnvironment`), for a handler's module scope: a missing
   * variable fails the cold start with its name. Clients not given are made with SDK retries off.
   */
  static fromEnvironment(
    env: NodeJS.ProcessEnv = process.env,
    dependencies: Partial<Pick<SchedulerDueJobsOptions, 'scheduler' | 'sqs' | 'clock'>> = {},
  ): SchedulerDueJobs {
    const config = dueJobsConfigFromEnvironment(env);
    return new SchedulerDueJobs({
      config,
      scheduler: dependencies.scheduler ?? new SchedulerClient({ maxAttempts: 1 }),
      sqs: dependencies.sqs ?? new SQSClient({ maxAttempts: 1 }),
      clock: dependencies.clock,
    });
  }

  async schedule(input: DueJob): Promise<void> {
    const job = contractJob(input);
    const dueMs = Date.parse(job.dueAt);
    const leadMs = dueMs - this.clock().getTime();
    if (leadMs <= SCHEDULE_LEAD_MS) return this.sendNow(job, leadMs);
    // Rounded up, never down: a job delivered before its due time finds nothing due and does nothing.
    const dueSecond = Math.ceil(dueMs / 1000);
    const { config } = this.options;
    const create = new CreateScheduleCommand({
      Name: scheduleName(job.subscriptionId, dueSecond),
      GroupName: config.scheduleGroup,
      ScheduleExpression: atExpression(dueSecond),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: config.chargeQueueArn,
        RoleArn: config.schedulerRoleArn,
        Input: JSON.stringify(job),
        DeadLetterConfig: { Arn: config.deadLetterQueueArn },
        RetryPolicy: { ...SCHEDULE_RETRY_POLICY },
      },
    });
    try {
      await retry(() => this.options.scheduler.send(create), { ...budget(this.options), retryable: isRetryable });
    } catch (error) {
      // The schedule exists: asked for before, or an earlier attempt went through after all.
      if (!isConflict(error)) throw error;
    }
  }

  async unschedule(input: DueJob): Promise<void> {
    const job = contractJob(input);
    const dueSecond = Math.ceil(Date.parse(job.dueAt) / 1000);
    const remove = new DeleteScheduleCommand({
      Name: scheduleName(job.subscriptionId, dueSecond),
      GroupName: this.options.config.scheduleGroup,
    });
    try {
      await retry(() => this.options.scheduler.send(remove), {
        ...budget(this.options),
        // On delete a conflict is a concurrent change of the schedule: trying again settles it.
        retryable: (error) => isRetryable(error) || isConflict(error),
      });
    } catch (error) {
      // Fired and deleted itself, deleted before, or never made (the job was due at once).
      if (!isNotFound(error)) throw error;
    }
  }

  /** Due already or within the minute: SQS holds it until its due time (at most 60 s, under SQS's 900). */
  private async sendNow(job: DueJob, leadMs: number): Promise<void> {
    const send = new SendMessageCommand({
      QueueUrl: this.options.config.chargeQueueUrl,
      MessageBody: JSON.stringify(job),
      DelaySeconds: Math.max(0, Math.ceil(leadMs / 1000)),
    });
    await retry(() => this.options.sqs.send(send), { ...budget(this.options), retryable: isRetryable });
  }
}

function budget(options: Backoff): RetryOptions {
  return { ...(options.backoff ?? DEFAULT_BACKOFF), sleep: options.sleep, random: options.random };
}

/** SendMessageBatch's limit. */
const BATCH_SIZE = 10;

export class SqsDueJobQueue implements DueJobQueue {
  constructor(
    private readonly sqs: SqsLike,
    private readonly queueUrl: string,
    private readonly backoff: Backoff = {},
  ) {}

  /** From CHARGE_QUEUE_URL, for a handler's module scope (fails the cold start when it is missing). */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env, sqs: SqsLike = new SQSClient({ maxAttempts: 1 })): SqsDueJobQueue {
    return new SqsDueJobQueue(sqs, requireEnv('CHARGE_QUEUE_URL', env));
  }

  /**
   * Sends every batch, re-sending each one's failed entries (a throttled or failed request fails
   * all of them) with backoff, and then throws `DueJobsNotEnqueued` if any are left. Entries SQS
   * refuses as the sender's fault are not re-sent: they would fail the same way.
   */
  async enqueue(jobs: readonly DueJob[]): Promise<void> {
    let failed = 0;
    let lastError = '';
    for (let start = 0; start < jobs.length; start += BATCH_SIZE) {
      const entries = jobs
        .slice(start, start + BATCH_SIZE)
        .map((job, i): SendMessageBatchRequestEntry => ({ Id: String(i), MessageBody: JSON.stringify(contractJob(job)) }));
      let refused = 0;
      const left = await retryRemaining(
        entries,
        async (pending) => {
          let output: { readonly Failed?: SendMessageBatchCommandOutput['Failed'] };
          try {
            output = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: [...pending] }));
          } catch (error) {
            if (!isRetryable(error)) throw error;
            lastError = (error as SdkError).name ?? String(error);
            return pending;
          }
          const again = new Set<string>();
          for (const entry of output.Failed ?? []) {
            lastError = `${entry.Code}${entry.Message ? `: ${entry.Message}` : ''}`;
            if (entry.SenderFault) refused++;
            else again.add(entry.Id ?? '');
          }
          return pending.filter((entry) => again.has(entry.Id ?? ''));
        },
        budget(this.backoff),
      );
      failed += left.length + refused;
    }
    if (failed > 0) throw new DueJobsNotEnqueued(failed, jobs.length, lastError);
  }
}
