/**
 * Dunning storm (issue 13, "Performance"; docs/billing.md "Dunning"): N subscriptions whose renewal
 * is declined at the same instant, the virtual clock advanced 8 days, on the whole platform as
 * `npm start` runs it (`local/launch.ts` `launchPlatform`): every saga must end in its lane's state
 * with exactly its lane's notices and emails; how long the platform takes, how many state
 * transitions a saga makes, and what 1,000 dunning runs would cost on AWS.
 *
 * **Set-up** (untimed): N users written with identity's own store (`DynamoUserStore.create`, the
 * items a sign-up writes; one scrypt hash shared by all, so a user can still log in), each with an
 * `active` `basic-monthly` subscription paying with `tok_fail_after_first`, written straight into
 * the domain table in the item layout of dynamo-subscriptions.ts (seed-subscriptions.ts), all due
 * at the same second 5 to 6 minutes ahead on the virtual clock. The card's first charge is already
 * used: the sandbox ledger's "card first use" item (dynamo-sandbox-ledger.ts `cardFirstChargeKey`)
 * is written for each user with the subscribe's charge key, as the subscribe that paid the first
 * period would have left it, so the renewal is declined (`card_declined`). The schedules are made
 * with the product's own `SchedulerDueJobs` on the local Scheduler, and the stream consumers are
 * let finish the inserts. The SES mailbox of the local cloud is emptied.
 *
 * **Lanes** (by index: i mod 10), so "the right state" means something:
 *
 *   never      (7 in 10) never pays: retries declined on day 1, 3, 5 → `expired` on day 7, the
 *              execution SUCCEEDED; notices payment_failed, 3 × payment_reminder (6, 4, 2 days
 *              left), subscription_expired: 5 emails
 *   recovered  (2 in 10) the stored token is swapped to `tok_ok` by a direct table write on day 2
 *              (no API changes it without charging at once; test/e2e/dunning.test.ts does the
 *              same): the day-3 retry pays → `active` from the old period end, SUCCEEDED;
 *              payment_failed, payment_reminder (6), subscription_recovered: 3 emails
 *   cancelled  (1 in 10) `POST /api/v1/subscriptions/cancel {"atPeriodEnd":false}` on day 2 (logged
 *              in over HTTP first) → `canceled`, the execution ABORTED; payment_failed,
 *              payment_reminder (6): 2 emails
 *
 * **Timed**: `POST /clock/advance` in steps, each timed: to the due second + 1 minute (the renewals
 * are declined, the sagas start, day 0's notices), then to day d + 1 minute for d = 1 … 8. The local
 * cloud fires every timer on the way (the sagas' Waits, whose timestamps all sagas share, schedules,
 * queue delays) and settles after each, so a step returns when its retries, notices, emails, events
 * and live updates are all done. The day-2 actions happen between the day-2 and day-3 steps and are
 * timed apart. While a step runs past day 7, the bench asks Step Functions once a second whether any
 * execution still runs (ListExecutions RUNNING, 1 result): the first time none does is when every
 * saga ended. Before the seeding, an advance of the same 8 days with nothing to do (`floor`) shows
 * the local cloud's own share. CPU seconds of this process, the local cloud, DynamoDB Local and the
 * rest of the machine are recorded over the timed steps.
 *
 * **Checks**, after the last step: every subscription's status (BatchGetItem); every execution's
 * status (DescribeExecution) and the number of executions (ListExecutions: one per subscription);
 * emails per user from the local SES (`GET {controlUrl}/ses/messages`, grouped by recipient) =
 * the lane's count exactly, and their subjects = the in-app notifications' titles; in-app
 * notifications per user from the domain table (a Scan of `Notification` items, oldest first) =
 * the lane's templates in order, the reminders with the lane's days left; providers' ledger charges
 * of the saga's retries (`SandboxCharge` items of `dunning:` keys) per subscription: the lane's
 * successes exactly (0, 1, 0) and declines; the notification and billing queues and their
 * dead-letter queues empty. The step function's and notifier's log lines give their outcomes.
 *
 * **State transitions** per saga, from GetExecutionHistory of every execution: the `*StateEntered`
 * events (one per state the execution entered: Task, Choice, Wait, Succeed), plus the retries of a
 * Task (its invocations beyond the first: `LambdaFunctionScheduled` and `TaskScheduled` events
 * beyond its `TaskStateEntered`), since AWS bills every state transition, retries included.
 * **Modeled AWS cost per 1,000 dunning runs**, at us-east-1 list prices (see PRICES): Step
 * Functions Standard transitions; Lambda requests (the step function's invocations from the history;
 * the notifier's, one per notice at most: a batch of up to 10 notices is one invocation) and compute
 * (ASSUMED_LAMBDA_MS at the functions' 256 MB, arm64: not measurable locally); SQS requests per
 * notice (send, receive, delete: 3 at most); SES emails; and the state machine's CloudWatch Logs
 * (level ALL with execution data: estimated as the size of the history's events with their data).
 * Not included: DynamoDB, EventBridge, the stream consumers, X-Ray, the renewal's own charge.
 *
 * Environment: DUNNING_STORM_N (default 1000) subscriptions; DUNNING_STORM_FLOOR (1; 0 skips the
 * empty advance). Results go to bench/results/dunning-storm.json.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { BatchGetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '@realtime/local-cloud/testing';
import { dunningExecutionName } from '../lambdas/shared/billing/dunning';
import { cardFirstChargeKey, SANDBOX_CARD_USE_TTL_SECONDS } from '../lambdas/shared/billing/dynamo-sandbox-ledger';
import { subscriptionKey } from '../lambdas/shared/billing/dynamo-subscriptions';
import { SANDBOX_TOKENS } from '../lambdas/shared/billing/sandbox-provider';
import { SchedulerDueJobs } from '../lambdas/shared/billing/scheduler-due-jobs';
import { epochSeconds } from '../lambdas/shared/clock';
import { batchWriteAll } from '../lambdas/shared/dynamodb';
import { DynamoUserStore } from '../lambdas/shared/identity/dynamo-users';
import { hashPassword } from '../lambdas/shared/identity/password';
import { launchPlatform } from '../local/launch';
import { PlatformClient } from '../test/support/realtime-client';
import { writeResult } from './harness';
import {
  control,
  cpuBetween,
  cpuSample,
  increment,
  measuredTree,
  type Platform,
  platformOf,
  queueDepths,
  pool,
  resource,
  resources,
  round1,
  round2,
  round3,
  scanAll,
  settled,
  sleep,
  virtualClock,
  workerOutcomes,
} from './platform';
import { type Seeded, seedSubscription, writeSubscriptions } from './seed-subscriptions';

const N = Number(process.env.DUNNING_STORM_N ?? 1000);
const FLOOR = process.env.DUNNING_STORM_FLOOR !== '0';

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** The last day the clock is advanced to (the issue's 8 days). */
const DAYS = 8;
/** The day the recovered lane's token is swapped and the cancelled lane cancels. */
const ACTION_DAY = 2;
/** How far ahead of the clock the due second is: schedules are made at least a minute ahead. */
const LEAD_MS = 5 * MINUTE_MS;
const SETUP_CONCURRENCY = 16;
/** Logins and cancels at once (a login is a scrypt hash in the auth function). */
const HTTP_CONCURRENCY = 4;
const PASSWORD = 'correct-horse-battery';
const TOKEN = SANDBOX_TOKENS.failAfterFirst;

/** us-east-1 list prices (December 2026), after free tiers. */
const PRICES = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  stepFunctionsTransition: 0.025 / 1000,
  /** Lambda: $0.20 per 1M requests. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda arm64: $0.0000133334 per GB-second (first 7.5 billion GB-s a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** SQS standard queue: $0.40 per 1M requests (each 64 KB chunk of a payload is a request). */
  sqsRequest: 0.4 / 1e6,
  /** SES outbound email: $0.10 per 1,000 emails. */
  sesEmail: 0.1 / 1000,
  /** CloudWatch Logs standard ingestion: $0.50 per GB. */
  cloudWatchLogsGb: 0.5,
} as const;
/** Lambda memory of the step function and the notifier (AppFunction's default). */
const LAMBDA_MB = 256;
/** Billed duration assumed per invocation on AWS (a warm invocation of a few DynamoDB calls); the local cloud does not measure it. */
const ASSUMED_LAMBDA_MS = 100;

const LANES = ['never', 'recovered', 'cancelled'] as const;
type Lane = (typeof LANES)[number];
const laneOf = (i: number): Lane => (i % 10 === 0 ? 'cancelled' : i % 10 <= 2 ? 'recovered' : 'never');

interface Expected {
  readonly status: string;
  readonly execution: ExecutionStatus;
  readonly templates: readonly string[];
  /** Days left named by the reminders, in order. */
  readonly reminderDays: readonly number[];
  /** Successful provider charges of the saga's retries. */
  readonly charged: number;
  /** Declined ones (one per retry that ran). */
  readonly declined: number;
}

const EXPECTED: Record<Lane, Expected> = {
  never: {
    status: 'expired',
    execution: 'SUCCEEDED',
    templates: ['payment_failed', 'payment_reminder', 'payment_reminder', 'payment_reminder', 'subscription_expired'],
    reminderDays: [6, 4, 2],
    charged: 0,
    declined: 3,
  },
  recovered: {
    status: 'active',
    execution: 'SUCCEEDED',
    templates: ['payment_failed', 'payment_reminder', 'subscription_recovered'],
    reminderDays: [6],
    charged: 1,
    declined: 1,
  },
  cancelled: {
    status: 'canceled',
    execution: 'ABORTED',
    templates: ['payment_failed', 'payment_reminder'],
    reminderDays: [6],
    charged: 0,
    declined: 1,
  },
};

interface Member {
  readonly i: number;
  readonly lane: Lane;
  readonly email: string;
  readonly seeded: Seeded;
  readonly executionName: string;
}

interface DunningPlatform extends Platform {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  /** The notification queue and its dead-letter queue, by logical id. */
  readonly notificationQueues: ReadonlyArray<{ readonly id: string; readonly url: string }>;
}

// ---------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------

async function setUp(platform: DunningPlatform, due: Date): Promise<Member[]> {
  const clock = await virtualClock(platform);
  const passwordHash = await hashPassword(PASSWORD);
  const users = new DynamoUserStore(platform.db, platform.domainTable, clock);
  const run = randomUUID().slice(0, 8);
  const members: Member[] = new Array(N);
  await pool(
    Array.from({ length: N }, (_, i) => i),
    SETUP_CONCURRENCY,
    async (i) => {
      const email = `dunning-storm-${run}-${i}@example.com`;
      const user = await users.create({ email, name: `Dunning ${i}`, passwordHash });
      const seeded = seedSubscription(user.id, due, TOKEN);
      members[i] = {
        i,
        lane: laneOf(i),
        email,
        seeded,
        executionName: dunningExecutionName(seeded.subscription.id, seeded.job.dueAt),
      };
    },
  );
  const seeded = members.map((m) => m.seeded);
  await writeSubscriptions(platform, seeded);
  // The card's first charge went to the subscribe that paid the first period.
  const expiresAt = epochSeconds(clock()) + SANDBOX_CARD_USE_TTL_SECONDS;
  await batchWriteAll(
    platform.db,
    platform.domainTable,
    seeded.map(({ subscription: s }) => ({
      PutRequest: {
        Item: { ...cardFirstChargeKey(s.userId, TOKEN), entity: 'SandboxCardUse', firstChargeKey: `subscribe:${s.id}`, expiresAt },
      },
    })),
  );
  const dueJobs = new SchedulerDueJobs({ config: platform.dueJobs, scheduler: platform.scheduler, sqs: platform.sqs, clock });
  await pool(seeded, SETUP_CONCURRENCY, ({ job }) => dueJobs.schedule(job));
  await settled(platform);
  await control(platform, '/ses/messages', undefined, 'DELETE');
  return members;
}

// ---------------------------------------------------------------------------------------------
// Day-2 actions
// ---------------------------------------------------------------------------------------------

interface Actions {
  readonly swapped: number;
  readonly swapSeconds: number;
  readonly cancelled: number;
  readonly cancelStatuses: Record<string, number>;
  /** Logins and cancels, HTTP_CONCURRENCY at a time. */
  readonly cancelSeconds: number;
}

async function dayTwoActions(platform: DunningPlatform, members: readonly Member[]): Promise<Actions> {
  const swapStarted = performance.now();
  const recovered = members.filter((m) => m.lane === 'recovered');
  await pool(recovered, SETUP_CONCURRENCY, async (m) => {
    await platform.db.send(
      new UpdateCommand({
        TableName: platform.domainTable,
        Key: subscriptionKey(m.seeded.subscription.userId),
        UpdateExpression: 'SET paymentToken = :ok',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':ok': SANDBOX_TOKENS.ok },
      }),
    );
  });
  const swapSeconds = (performance.now() - swapStarted) / 1000;

  const cancelStarted = performance.now();
  const { httpUrl, wsUrl } = platform.cloud.endpoints;
  const client = new PlatformClient(httpUrl!, wsUrl!);
  const cancelStatuses: Record<string, number> = {};
  let cancelled = 0;
  await pool(
    members.filter((m) => m.lane === 'cancelled'),
    HTTP_CONCURRENCY,
    async (m) => {
      const session = await client.login(m.email, PASSWORD);
      const res = await client.request<{ subscription?: { status?: string } }>(
        'POST',
        '/api/v1/subscriptions/cancel',
        { atPeriodEnd: false },
        session.accessToken,
      );
      increment(cancelStatuses, `${res.status} ${res.body?.subscription?.status ?? JSON.stringify(res.body)}`);
      if (res.status === 200 && res.body?.subscription?.status === 'canceled') cancelled++;
    },
  );
  return {
    swapped: recovered.length,
    swapSeconds: round2(swapSeconds),
    cancelled,
    cancelStatuses,
    cancelSeconds: round2((performance.now() - cancelStarted) / 1000),
  };
}

// ---------------------------------------------------------------------------------------------
// The timed steps
// ---------------------------------------------------------------------------------------------

interface Step {
  readonly day: number;
  readonly to: string;
  readonly seconds: number;
  /** Executions by status once the step returned. */
  readonly executions: Record<string, number>;
  /** Emails in the local SES once the step returned (all of this run's: the mailbox was emptied). */
  readonly emailsSoFar: number;
}

async function executionCounts(platform: DunningPlatform): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let token: string | undefined;
  do {
    const out = await platform.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: platform.stateMachineArn, maxResults: 1000, nextToken: token }),
    );
    for (const e of out.executions ?? []) increment(counts, String(e.status));
    token = out.nextToken;
  } while (token);
  return counts;
}

async function anyRunning(platform: DunningPlatform): Promise<boolean> {
  const out = await platform.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: platform.stateMachineArn, statusFilter: 'RUNNING', maxResults: 1 }),
  );
  return (out.executions ?? []).length > 0;
}

interface StoredEmail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly sentAt: string;
}

async function mailbox(platform: Platform): Promise<StoredEmail[]> {
  return (await control<{ messages: StoredEmail[] }>(platform, '/ses/messages')).messages;
}

/** Seconds of the timed steps so far, and (once known) the time every saga had ended, in the same seconds. */
interface Timeline {
  stepSeconds: number;
  endedSeconds: number;
}

/**
 * Advances to `to`, timed. Once the clock is past `endsAfter` (the last expiry), it asks once a
 * second whether any execution still runs: the first time none does is `timeline.endedSeconds`.
 */
async function step(platform: DunningPlatform, day: number, to: number, endsAfter: number, timeline: Timeline): Promise<Step> {
  const started = performance.now();
  const elapsed = () => timeline.stepSeconds + (performance.now() - started) / 1000;
  let done = false;
  const advance = control(platform, '/clock/advance', { to: new Date(to).toISOString() }).then(() => {
    done = true;
  });
  advance.catch(() => {});
  while (!done) {
    if (Number.isNaN(timeline.endedSeconds)) {
      const virtual = Date.parse((await control<{ now: string }>(platform, '/clock')).now);
      if (virtual >= endsAfter && !(await anyRunning(platform))) timeline.endedSeconds = elapsed();
    }
    await Promise.race([sleep(1000), advance]);
  }
  await advance;
  // Ended within the step's last second: the probe did not catch it in between.
  if (Number.isNaN(timeline.endedSeconds) && to >= endsAfter && !(await anyRunning(platform))) timeline.endedSeconds = elapsed();
  const seconds = (performance.now() - started) / 1000;
  timeline.stepSeconds += seconds;
  return {
    day,
    to: new Date(to).toISOString(),
    seconds: round2(seconds),
    executions: await executionCounts(platform),
    emailsSoFar: (await mailbox(platform)).length,
  };
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

interface LaneCheck {
  readonly subscriptions: number;
  readonly statuses: Record<string, number>;
  readonly executionStatuses: Record<string, number>;
  /** Users by number of emails. */
  readonly emailsPerUser: Record<string, number>;
  readonly emailsSent: number;
  readonly emailsExpected: number;
  /** Users whose in-app templates (in order) and reminders' days left are the lane's. */
  readonly noticesRight: number;
  /** Users whose email subjects are their in-app titles. */
  readonly emailsMatchNotices: number;
  /** Subscriptions by successful / declined provider charges of the saga's retries. */
  readonly retryCharges: Record<string, number>;
  readonly wrong: number;
}

interface Wrong {
  readonly subscriptionId: string;
  readonly userId: string;
  readonly lane: Lane;
  readonly problems: string[];
}

interface Checks {
  readonly lanes: Record<Lane, LaneCheck>;
  readonly executions: number;
  readonly emailsSent: number;
  readonly emailsExpected: number;
  /** Emails to anyone else (none expected). */
  readonly otherEmails: number;
  /** The notifier's claims of emails not recorded as sent (their status and error). */
  readonly emailsNotSent: Array<Record<string, unknown>>;
  readonly wrong: Wrong[];
}

async function check(platform: DunningPlatform, members: readonly Member[]): Promise<Checks> {
  // Subscriptions.
  const statusOf = new Map<string, Record<string, unknown>>();
  const keys = members.map((m) => subscriptionKey(m.seeded.subscription.userId));
  for (let i = 0; i < keys.length; i += 100) {
    const out = await platform.db.send(
      new BatchGetCommand({ RequestItems: { [platform.domainTable]: { Keys: keys.slice(i, i + 100), ConsistentRead: true } } }),
    );
    if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) throw new Error('BatchGetItem left keys unprocessed');
    for (const item of out.Responses?.[platform.domainTable] ?? []) statusOf.set(String(item.id), item);
  }
  // Executions.
  const executionOf = new Map<string, string>();
  const arnPrefix = `${platform.stateMachineArn.replace(':stateMachine:', ':execution:')}:`;
  await pool(members, SETUP_CONCURRENCY, async (m) => {
    try {
      const out = await platform.sfn.send(new DescribeExecutionCommand({ executionArn: arnPrefix + m.executionName }));
      executionOf.set(m.executionName, String(out.status));
    } catch (error) {
      executionOf.set(m.executionName, (error as Error).name);
    }
  });
  const executions = Object.values(await executionCounts(platform)).reduce((s, n) => s + n, 0);
  // Emails, by recipient.
  const emails = await mailbox(platform);
  const emailsTo = new Map<string, StoredEmail[]>();
  for (const e of emails) {
    const to = (/<([^>]+)>/.exec(e.to[0] ?? '')?.[1] ?? e.to[0] ?? '').toLowerCase();
    emailsTo.set(to, [...(emailsTo.get(to) ?? []), e]);
  }
  // In-app notifications and the retries' ledger charges, from one Scan.
  const items = await scanAll(platform.db, {
    TableName: platform.domainTable,
    ProjectionExpression:
      'pk, entity, userId, id, template, title, createdAt, chargeKey, #status, noticeId, emailStatus, emailError, emailClaimedAt, emailRecordedAt',
    FilterExpression: 'entity IN (:notification, :ledger, :claim)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':notification': 'Notification', ':ledger': 'SandboxCharge', ':claim': 'NoticeClaim' },
  });
  const ours = new Set(members.map((m) => `USER#${m.seeded.subscription.userId}`));
  // The notifier's record of each email it did not know to be sent (notifications.ts: at most once).
  const emailsNotSent = items
    .filter((item) => item.entity === 'NoticeClaim' && ours.has(String(item.pk)) && item.emailStatus !== 'sent')
    .map(({ pk, noticeId, emailStatus, emailError, emailClaimedAt, emailRecordedAt }) => ({
      userId: String(pk).slice('USER#'.length),
      noticeId,
      emailStatus,
      emailError,
      emailClaimedAt,
      emailRecordedAt,
    }));
  const noticesOf = new Map<string, Array<Record<string, unknown>>>();
  const chargesOf = new Map<string, { succeeded: number; declined: number }>();
  for (const item of items) {
    if (item.entity === 'Notification') {
      const user = String(item.userId);
      noticesOf.set(user, [...(noticesOf.get(user) ?? []), item]);
    } else if (String(item.chargeKey ?? '').startsWith('dunning:')) {
      const id = String(item.chargeKey).split(':')[1]!;
      const entry = chargesOf.get(id) ?? { succeeded: 0, declined: 0 };
      if (item.status === 'succeeded') entry.succeeded++;
      else entry.declined++;
      chargesOf.set(id, entry);
    }
  }

  const lanes = {} as Record<Lane, LaneCheck>;
  const wrong: Wrong[] = [];
  for (const lane of LANES) {
    const expected = EXPECTED[lane];
    const check = {
      subscriptions: 0,
      statuses: {} as Record<string, number>,
      executionStatuses: {} as Record<string, number>,
      emailsPerUser: {} as Record<string, number>,
      emailsSent: 0,
      emailsExpected: 0,
      noticesRight: 0,
      emailsMatchNotices: 0,
      retryCharges: {} as Record<string, number>,
      wrong: 0,
    };
    for (const m of members.filter((x) => x.lane === lane)) {
      const s = m.seeded.subscription;
      const problems: string[] = [];
      check.subscriptions++;
      const item = statusOf.get(s.id);
      const status = String(item?.status ?? 'missing');
      increment(check.statuses, status);
      if (status !== expected.status) problems.push(`status ${status}, expected ${expected.status}`);
      if (lane === 'recovered' && item?.currentPeriodStart !== s.currentPeriodEnd)
        problems.push(`recovered period starts ${String(item?.currentPeriodStart)}, expected the old end ${s.currentPeriodEnd}`);
      const execution = executionOf.get(m.executionName) ?? 'missing';
      increment(check.executionStatuses, execution);
      if (execution !== expected.execution) problems.push(`execution ${execution}, expected ${expected.execution}`);

      const notices = (noticesOf.get(s.userId) ?? []).sort((a, b) => String(a.id).localeCompare(String(b.id)));
      const templates = notices.map((n) => String(n.template));
      const days = notices
        .filter((n) => n.template === 'payment_reminder')
        .map((n) => Number(/(\d+) days? left/.exec(String(n.title))?.[1] ?? Number.NaN));
      if (
        JSON.stringify(templates) === JSON.stringify(expected.templates) &&
        JSON.stringify(days) === JSON.stringify(expected.reminderDays)
      )
        check.noticesRight++;
      else problems.push(`in-app ${JSON.stringify(templates)} (reminder days ${JSON.stringify(days)})`);

      const mails = emailsTo.get(m.email.toLowerCase()) ?? [];
      emailsTo.delete(m.email.toLowerCase());
      increment(check.emailsPerUser, String(mails.length));
      check.emailsSent += mails.length;
      check.emailsExpected += expected.templates.length;
      if (mails.length !== expected.templates.length) problems.push(`${mails.length} emails, expected ${expected.templates.length}`);
      const subjects = mails.map((e) => e.subject).sort();
      const titles = notices.map((n) => String(n.title)).sort();
      if (JSON.stringify(subjects) === JSON.stringify(titles)) check.emailsMatchNotices++;
      else problems.push(`email subjects ${JSON.stringify(subjects)} are not the in-app titles`);

      const charges = chargesOf.get(s.id) ?? { succeeded: 0, declined: 0 };
      increment(check.retryCharges, `${charges.succeeded} succeeded, ${charges.declined} declined`);
      if (charges.succeeded !== expected.charged || charges.declined !== expected.declined)
        problems.push(`retry charges ${charges.succeeded} succeeded / ${charges.declined} declined`);

      if (problems.length > 0) {
        check.wrong++;
        wrong.push({ subscriptionId: s.id, userId: s.userId, lane, problems });
      }
    }
    lanes[lane] = check;
  }
  const otherEmails = [...emailsTo.values()].reduce((sum, list) => sum + list.length, 0);
  return {
    lanes,
    executions,
    emailsSent: Object.values(lanes).reduce((s, l) => s + l.emailsSent, 0),
    emailsExpected: Object.values(lanes).reduce((s, l) => s + l.emailsExpected, 0),
    otherEmails,
    emailsNotSent,
    wrong,
  };
}

// ---------------------------------------------------------------------------------------------
// State transitions and the modeled cost
// ---------------------------------------------------------------------------------------------

interface LaneTransitions {
  readonly executions: number;
  /** `*StateEntered` events per execution (min, mean, max). */
  readonly stateEntered: { readonly min: number; readonly mean: number; readonly max: number };
  /** Task invocations beyond one per Task state entered, per execution. */
  readonly retries: number;
  /** stateEntered + retries: what AWS bills, per execution. */
  readonly billedTransitions: number;
  /** The dunning step function's invocations (`LambdaFunctionScheduled`) per execution. */
  readonly stepInvocations: number;
  /** Notices sent to the notification queue by the state machine (`TaskScheduled` of sqs:sendMessage) per execution. */
  readonly noticesSent: number;
  /** States entered, by name: the path of the lane's executions (summed over them). */
  readonly states: Record<string, number>;
  /** The history's events with their data, JSON bytes per execution: about what level ALL logs. */
  readonly historyBytes: number;
  /** History event types summed over the lane. */
  readonly events: Record<string, number>;
}

async function executionHistory(platform: DunningPlatform, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let token: string | undefined;
  do {
    const out = await platform.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken: token, includeExecutionData: true }),
    );
    events.push(...(out.events ?? []));
    token = out.nextToken;
  } while (token);
  return events;
}

async function transitions(platform: DunningPlatform, members: readonly Member[]): Promise<Record<Lane, LaneTransitions>> {
  const arnPrefix = `${platform.stateMachineArn.replace(':stateMachine:', ':execution:')}:`;
  const perLane = new Map<Lane, Array<{ entered: number; retries: number; lambda: number; sqs: number; bytes: number }>>();
  const states = new Map<Lane, Record<string, number>>();
  const events = new Map<Lane, Record<string, number>>();
  await pool(members, SETUP_CONCURRENCY, async (m) => {
    const history = await executionHistory(platform, arnPrefix + m.executionName);
    const laneStates = states.get(m.lane) ?? {};
    const laneEvents = events.get(m.lane) ?? {};
    let entered = 0;
    let taskEntered = 0;
    let lambda = 0;
    let sqs = 0;
    for (const e of history) {
      const type = String(e.type);
      increment(laneEvents, type);
      if (type.endsWith('StateEntered')) {
        entered++;
        increment(laneStates, String(e.stateEnteredEventDetails?.name));
      }
      if (type === 'TaskStateEntered') taskEntered++;
      if (type === 'LambdaFunctionScheduled') lambda++;
      if (type === 'TaskScheduled') {
        if (e.taskScheduledEventDetails?.resourceType === 'lambda') lambda++;
        else sqs++;
      }
    }
    states.set(m.lane, laneStates);
    events.set(m.lane, laneEvents);
    const list = perLane.get(m.lane) ?? [];
    list.push({
      entered,
      retries: Math.max(0, lambda + sqs - taskEntered),
      lambda,
      sqs,
      bytes: Buffer.byteLength(JSON.stringify(history)),
    });
    perLane.set(m.lane, list);
  });
  const result = {} as Record<Lane, LaneTransitions>;
  for (const lane of LANES) {
    const list = perLane.get(lane) ?? [];
    const mean = (f: (x: (typeof list)[number]) => number) => (list.length ? round3(list.reduce((s, x) => s + f(x), 0) / list.length) : 0);
    const entered = list.map((x) => x.entered);
    result[lane] = {
      executions: list.length,
      stateEntered: { min: Math.min(...entered), mean: mean((x) => x.entered), max: Math.max(...entered) },
      retries: mean((x) => x.retries),
      billedTransitions: mean((x) => x.entered + x.retries),
      stepInvocations: mean((x) => x.lambda),
      noticesSent: mean((x) => x.sqs),
      states: states.get(lane) ?? {},
      historyBytes: Math.round(mean((x) => x.bytes)),
      events: events.get(lane) ?? {},
    };
  }
  return result;
}

interface CostModel {
  readonly prices: typeof PRICES;
  readonly assumptions: Record<string, unknown>;
  /** Per saga, weighted by the lanes' shares of this run. */
  readonly perSaga: Record<string, number>;
  /** Dollars per 1,000 dunning runs, by service. */
  readonly per1000Runs: Record<string, number>;
  /** Dollars per 1,000 runs of each lane alone. */
  readonly per1000RunsByLane: Record<Lane, number>;
}

function costModel(t: Record<Lane, LaneTransitions>, checks: Checks): CostModel {
  const byLane = (lane: Lane) => {
    const l = t[lane];
    const emails = EXPECTED[lane].templates.length;
    // Notices: the state machine's own (SendMessage) and the recovered notice, sent by billing.
    const notices = emails;
    const lambdaInvocations = l.stepInvocations + notices;
    const parts = {
      transitions: l.billedTransitions,
      lambdaInvocations,
      sqsRequests: 3 * notices,
      emails,
      logBytes: l.historyBytes,
    };
    const dollars = {
      stepFunctions: parts.transitions * PRICES.stepFunctionsTransition,
      lambdaRequests: lambdaInvocations * PRICES.lambdaRequest,
      lambdaCompute: lambdaInvocations * (LAMBDA_MB / 1024) * (ASSUMED_LAMBDA_MS / 1000) * PRICES.lambdaArmGbSecond,
      sqs: parts.sqsRequests * PRICES.sqsRequest,
      ses: emails * PRICES.sesEmail,
      cloudWatchLogs: (parts.logBytes / 1024 ** 3) * PRICES.cloudWatchLogsGb,
    };
    return { parts, dollars };
  };
  const total = LANES.reduce((s, lane) => s + checks.lanes[lane].subscriptions, 0);
  const weight = (lane: Lane) => checks.lanes[lane].subscriptions / total;
  const perSaga: Record<string, number> = {};
  const per1000Runs: Record<string, number> = {};
  const per1000RunsByLane = {} as Record<Lane, number>;
  for (const lane of LANES) {
    const { parts, dollars } = byLane(lane);
    for (const [k, v] of Object.entries(parts)) perSaga[k] = (perSaga[k] ?? 0) + v * weight(lane);
    for (const [k, v] of Object.entries(dollars)) per1000Runs[k] = (per1000Runs[k] ?? 0) + 1000 * v * weight(lane);
    per1000RunsByLane[lane] = round3(1000 * Object.values(dollars).reduce((s, v) => s + v, 0));
  }
  per1000Runs.total = Object.values(per1000Runs).reduce((s, v) => s + v, 0);
  return {
    prices: PRICES,
    assumptions: {
      lambdaMemoryMb: LAMBDA_MB,
      lambdaBilledMsPerInvocation: ASSUMED_LAMBDA_MS,
      notifierInvocationsPerNotice: 1,
      sqsRequestsPerNotice: 3,
      logBytes: 'JSON of GetExecutionHistory with execution data',
    },
    perSaga: Object.fromEntries(Object.entries(perSaga).map(([k, v]) => [k, round2(v)])),
    per1000Runs: Object.fromEntries(Object.entries(per1000Runs).map(([k, v]) => [k, round3(v)])),
    per1000RunsByLane,
  };
}

// ---------------------------------------------------------------------------------------------
// Platform logs and queues
// ---------------------------------------------------------------------------------------------

/** Counts of the dunning step's and the notifier's log lines in a slice of the local cloud's output. */
function platformLogs(output: string): { counts: Record<string, Record<string, number>>; firstErrors: string[] } {
  const firstErrors: string[] = [];
  const dunningSteps: Record<string, number> = {};
  const notices: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const field = (line: string, name: string) => new RegExp(`"${name}":"?([A-Za-z0-9_.-]+)`).exec(line)?.[1];
  for (const line of output.split('\n')) {
    if (line.includes('"message":"Dunning step"')) increment(dunningSteps, `${field(line, 'action')} ${field(line, 'outcome')}`);
    else if (line.includes('"message":"Notice delivered"'))
      increment(notices, `${field(line, 'template')} in-app ${field(line, 'inApp')} email ${field(line, 'email')}`);
    if (/"level":"(ERROR|WARN)"/.test(line)) {
      increment(errors, `${field(line, 'level')} ${/"message":"([^"]*)"/.exec(line)?.[1]}`);
      if (firstErrors.length < 10) firstErrors.push(line.slice(0, 2000));
    }
  }
  return { counts: { dunningSteps, notices, errorsAndWarnings: errors, chargeWorker: workerOutcomes(output) }, firstErrors };
}

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

/** An advance of the same length with no saga: the local cloud's own share (timers of the platform, settling, TTL sweeps). */
async function floor(platform: DunningPlatform): Promise<number> {
  const clock = await virtualClock(platform);
  const started = performance.now();
  await control(platform, '/clock/advance', { to: new Date(clock().getTime() + DAYS * DAY_MS + 2 * MINUTE_MS).toISOString() });
  return round2((performance.now() - started) / 1000);
}

export async function dunningStorm(): Promise<void> {
  const shares = LANES.map((lane) => `${lane} ${Array.from({ length: N }, (_, i) => laneOf(i)).filter((l) => l === lane).length}`);
  console.log(`dunning-storm: ${N} renewals declined at the same second (${shares.join(', ')}), the clock advanced ${DAYS} days`);
  const benchStarted = performance.now();
  const cloud = await launchPlatform([], 180_000);
  let platform: DunningPlatform | undefined;
  try {
    platform = {
      ...platformOf(cloud),
      // The local cloud names Step Functions' endpoint by its signing name.
      sfn: new SFNClient(clientConfig(cloud, 'states')),
      stateMachineArn: resource(cloud, 'AWS::StepFunctions::StateMachine', 'BillingDunningStateMachine').arn!,
      notificationQueues: resources(cloud, 'AWS::SQS::Queue', 'NotificationQueues').map(([id, r]) => ({ id, url: r.url! })),
    };
    const tree = measuredTree();
    const floorSeconds = FLOOR ? await floor(platform) : undefined;
    if (floorSeconds !== undefined) console.log(`  an advance of ${DAYS} days with no saga takes ${floorSeconds} s`);

    const setupStarted = performance.now();
    const clock = await virtualClock(platform);
    const due = new Date(Math.ceil((clock().getTime() + LEAD_MS) / MINUTE_MS) * MINUTE_MS);
    const members = await setUp(platform, due);
    const setupSeconds = round1((performance.now() - setupStarted) / 1000);
    console.log(`  set up ${N} users, subscriptions and schedules in ${setupSeconds} s; due ${due.toISOString()}`);

    const expireAt = due.getTime() + 7 * DAY_MS;
    const timeline: Timeline = { stepSeconds: 0, endedSeconds: Number.NaN };
    const outputBefore = cloud.output().length;
    const cpuBefore = cpuSample(cloud.pid);
    const steps: Step[] = [];
    let actions: Actions | undefined;
    let actionSeconds = 0;
    for (let day = 0; day <= DAYS; day++) {
      const s = await step(platform, day, due.getTime() + day * DAY_MS + MINUTE_MS, expireAt, timeline);
      steps.push(s);
      console.log(`  day ${day}: ${s.seconds} s; executions ${JSON.stringify(s.executions)}; ${s.emailsSoFar} emails so far`);
      if (day === ACTION_DAY) {
        const t0 = performance.now();
        actions = await dayTwoActions(platform, members);
        actionSeconds = (performance.now() - t0) / 1000;
        console.log(
          `  day ${day} actions: ${actions.swapped} tokens swapped to tok_ok in ${actions.swapSeconds} s; ` +
            `${actions.cancelled} cancelled now in ${actions.cancelSeconds} s ${JSON.stringify(actions.cancelStatuses)}`,
        );
      }
    }
    const cpuAfter = cpuSample(cloud.pid);
    const advanceSeconds = timeline.stepSeconds;
    const sagasEndedSeconds = timeline.endedSeconds;
    const cpu = cpuBetween(cpuBefore, cpuAfter);

    const logs = platformLogs(cloud.output().slice(outputBefore));
    const checks = await check(platform, members);
    const byLane = await transitions(platform, members);
    const cost = costModel(byLane, checks);
    const queues = await queueDepths(platform.sqs, [...platform.billingQueues, ...platform.notificationQueues]);

    console.log(
      `  advance of ${DAYS} days: ${round1(advanceSeconds)} s in steps (${steps.map((s) => `${s.day}: ${s.seconds}`).join(', ')}); ` +
        `every saga ended after ${round1(sagasEndedSeconds)} s = ${round2(N / sagasEndedSeconds)} sagas/s (steps only: the day-2 actions took ${round1(actionSeconds)} s more)`,
    );
    for (const lane of LANES) {
      const c = checks.lanes[lane];
      const t = byLane[lane];
      console.log(
        `  ${lane.padEnd(9)} ${c.subscriptions}: status ${JSON.stringify(c.statuses)}, executions ${JSON.stringify(c.executionStatuses)}, ` +
          `emails ${c.emailsSent}/${c.emailsExpected} ${JSON.stringify(c.emailsPerUser)}, in-app right ${c.noticesRight}, ` +
          `emails = in-app ${c.emailsMatchNotices}, retry charges ${JSON.stringify(c.retryCharges)}; ` +
          `transitions ${t.stateEntered.mean} entered (${t.stateEntered.min}–${t.stateEntered.max}) + ${t.retries} retries, ` +
          `${t.stepInvocations} step invocations, ${t.noticesSent} notices sent by the state machine, ${t.historyBytes} history bytes`,
      );
    }
    console.log(
      `  emails sent ${checks.emailsSent} / expected ${checks.emailsExpected} (others ${checks.otherEmails}); executions ${checks.executions}; ` +
        `wrong ${checks.wrong.length}; queues ${JSON.stringify(queues)}`,
    );
    for (const w of checks.wrong.slice(0, 10))
      console.log(`    WRONG ${w.lane} ${w.subscriptionId} (user ${w.userId}): ${w.problems.join('; ')}`);
    console.log(`  platform logs ${JSON.stringify(logs.counts)}`);
    for (const line of logs.firstErrors.slice(0, 3)) console.log(`    ${line.slice(0, 600)}`);
    for (const e of checks.emailsNotSent.slice(0, 5)) console.log(`    email not sent: ${JSON.stringify(e)}`);
    console.log(
      `  modeled AWS cost per 1,000 dunning runs: $${cost.per1000Runs.total} ${JSON.stringify(cost.per1000Runs)}; by lane ${JSON.stringify(cost.per1000RunsByLane)}`,
    );
    console.log(`  CPU s over the steps: ${JSON.stringify(cpu)}`);

    const durationMinutes = round1((performance.now() - benchStarted) / 60_000);
    const file = writeResult('dunning-storm', {
      ...tree,
      durationMinutes,
      subscriptions: N,
      lanes: Object.fromEntries(LANES.map((lane) => [lane, checks.lanes[lane].subscriptions])),
      due: due.toISOString(),
      setupSeconds,
      floorSeconds,
      advanceSeconds: round2(advanceSeconds),
      sagasEndedSeconds: round2(sagasEndedSeconds),
      sagasPerSecond: round2(N / sagasEndedSeconds),
      steps,
      actions: { ...actions, seconds: round2(actionSeconds) },
      allRight: checks.wrong.length === 0 && checks.emailsSent === checks.emailsExpected && checks.executions === N,
      emails: { sent: checks.emailsSent, expected: checks.emailsExpected, toOthers: checks.otherEmails },
      checks: { ...checks, wrong: checks.wrong.slice(0, 50), wrongCount: checks.wrong.length },
      transitionsPerSaga: Object.fromEntries(LANES.map((lane) => [lane, byLane[lane].billedTransitions])),
      transitions: byLane,
      cost,
      queues,
      platformLogs: logs,
      cpuSeconds: cpu,
      cpuMsPerSaga: {
        cloud: round1((cpu.cloud * 1000) / N),
        dynamodbLocal: round1((cpu.dynamodbLocal * 1000) / N),
        bench: round1((cpu.bench * 1000) / N),
      },
    });
    console.log(`dunning-storm: ${durationMinutes} minutes; written to ${file}`);
  } finally {
    platform?.sfn.destroy();
    platform?.db.destroy();
    platform?.sqs.destroy();
    platform?.scheduler.destroy();
    await cloud.stop();
  }
}
