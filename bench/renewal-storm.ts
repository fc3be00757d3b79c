import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CreateScheduleCommand, type DeleteScheduleCommand, ListSchedulesCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { BillingService } from '../lambdas/shared/billing/billing-service';
import type { DueJob } from '../lambdas/shared/billing/due-jobs';
import { DUE_INDEX, DynamoSubscriptionStore, dueBucket, subscriptionKey } from '../lambdas/shared/billing/dynamo-subscriptions';
import { sandboxPaymentProcessor } from '../lambdas/shared/billing/wiring';
import { SchedulerDueJobs, type SchedulerLike, type SqsLike, scheduleName } from '../lambdas/shared/billing/scheduler-due-jobs';
import type { Clock } from '../lambdas/shared/clock';
import { type DocumentClientLike, isConditionalCheckFailed } from '../lambdas/shared/dynamodb';
import { headKey } from '../lambdas/shared/realtime/dynamo-subscription-registry';
import { launchPlatform } from '../local/launch';
import { PlatformClient, type Session } from '../test/support/realtime-client';
import { summarize, writeResult } from './harness';
import {
  control,
  cpuBetween,
  cpuSample,
  increment,
  measuredTree,
  type ClockState,
  type Platform,
  platformOf,
  queueDepths,
  pool,
  round1,
  round2,
  round3,
  scanAll,
  settled,
  sleep,
  virtualClock,
  workerOutcomes,
} from './platform';
import { PLAN, type Seeded, seed } from './seed-subscriptions';

const N = Number(process.env.RENEWAL_STORM_N ?? 5000);
const SPREAD_SECONDS = Math.max(1, Number(process.env.RENEWAL_STORM_SPREAD_SECONDS ?? 60));
const DUPLICATES = process.env.RENEWAL_STORM_DUPLICATES !== '0';
const COUNT_N = Number(process.env.RENEWAL_STORM_COUNT_N ?? 100);
const SUBSCRIBE_USERS = Number(process.env.RENEWAL_STORM_SUBSCRIBE_USERS ?? 32);
const SUBSCRIBE_ROUNDS = Number(process.env.RENEWAL_STORM_SUBSCRIBE_ROUNDS ?? 5);

const TARGET = { renewalsPerSecond: 150, writeUnitsPerRenewal: 8, doubleCharges: 0 } as const;
const TOKEN = 'tok_ok';
/** How far ahead of the clock a round's minute starts: schedules are made at least a minute ahead. */
const LEAD_MS = 5 * 60_000;
/** Concurrency of the untimed set-up calls (seeding, CreateSchedule, duplicate sends). */
const SETUP_CONCURRENCY = 16;
/** processDue calls at once in a counted pass: a worker batch of 10, a little more. */
const COUNT_CONCURRENCY = 16;

// ---------------------------------------------------------------------------------------------
// Counting clients (the `counted` passes)
// ---------------------------------------------------------------------------------------------

interface RequestCount {
  count: number;
  writeUnits: number;
  indexWriteUnits: number;
  readUnits: number;
  conditionFailed: number;
}

interface ConsumedCapacity {
  readonly CapacityUnits?: number;
  readonly Table?: { readonly CapacityUnits?: number };
  readonly GlobalSecondaryIndexes?: Record<string, { readonly CapacityUnits?: number }>;
}

/** Requests of the counted passes, by kind: `UpdateItem subscription`, `CreateSchedule (ConflictException)`. */
class Tally {
  readonly dynamodb = new Map<string, RequestCount>();
  readonly calls = new Map<string, number>();

  dynamo(kind: string, write: boolean, capacity: ConsumedCapacity | undefined, conditionFailed: boolean): void {
    const entry = this.dynamodb.get(kind) ?? { count: 0, writeUnits: 0, indexWriteUnits: 0, readUnits: 0, conditionFailed: 0 };
    entry.count++;
    if (conditionFailed) {
      entry.conditionFailed++;
      // AWS charges a write whose condition fails (by the item's size, ≥ 1 unit); DynamoDB Local reports nothing.
      if (write) entry.writeUnits += 1;
    } else if (write) {
      entry.writeUnits += capacity?.CapacityUnits ?? 0;
      entry.indexWriteUnits += Object.values(capacity?.GlobalSecondaryIndexes ?? {}).reduce((sum, i) => sum + (i.CapacityUnits ?? 0), 0);
    } else {
      entry.readUnits += capacity?.CapacityUnits ?? 0;
    }
    this.dynamodb.set(kind, entry);
  }

  call(kind: string): void {
    this.calls.set(kind, (this.calls.get(kind) ?? 0) + 1);
  }
}

/** What an item of the domain table is, from its key (and, for a subscription, what an update does to it). */
function itemKind(key: unknown, updateExpression?: unknown): string {
  const { pk = '', sk = '' } = (key ?? {}) as { pk?: string; sk?: string };
  if (sk === 'SUBSCRIPTION') {
    const update = String(updateExpression ?? '');
    if (/#dueAt = /.test(update)) return 'subscription: next period';
    if (/^SET #leaseUntil = :leaseUntil$/.test(update)) return 'subscription: lease';
    if (/^REMOVE leaseUntil$/.test(update)) return 'subscription: release';
    return 'subscription';
  }
  if (sk.startsWith('PAYMENT#')) return 'payment';
  if (pk.startsWith('CHARGE#')) return 'charge claim';
  if (pk.startsWith('SANDBOX#CARD#')) return 'card first use';
  if (pk.startsWith('SANDBOX#')) return 'provider ledger';
  if (pk.startsWith('BREAKER#')) return 'breaker';
  return `${pk.split('#')[0]}#…`;
}

/** The document client the stores get: every request counted, with the capacity DynamoDB Local reports. */
function countingDocumentClient(db: DynamoDBDocumentClient, tally: Tally): DocumentClientLike {
  return {
    async send(command: object): Promise<Record<string, unknown>> {
      const input = (command as { input: Record<string, unknown> }).input;
      const [operation, write] =
        command instanceof GetCommand
          ? ['GetItem', false]
          : command instanceof PutCommand
            ? ['PutItem', true]
            : command instanceof UpdateCommand
              ? ['UpdateItem', true]
              : command instanceof DeleteCommand
                ? ['DeleteItem', true]
                : command instanceof QueryCommand
                  ? ['Query', false]
                  : [command.constructor.name, true];
      const kind = `${operation} ${itemKind(input.Key ?? input.Item, input.UpdateExpression)}`;
      input.ReturnConsumedCapacity = 'INDEXES';
      try {
        const out = (await db.send(command as GetCommand)) as Record<string, unknown>;
        tally.dynamo(kind, write, out.ConsumedCapacity as ConsumedCapacity | undefined, false);
        return out;
      } catch (error) {
        if (isConditionalCheckFailed(error)) tally.dynamo(kind, write, undefined, true);
        else tally.dynamo(`${kind} (${(error as Error).name})`, write, undefined, false);
        throw error;
      }
    },
  };
}

function countingScheduler(scheduler: SchedulerClient, tally: Tally): SchedulerLike {
  return {
    async send(command: CreateScheduleCommand | DeleteScheduleCommand): Promise<unknown> {
      const name = command instanceof CreateScheduleCommand ? 'CreateSchedule' : 'DeleteSchedule';
      try {
        const out = await scheduler.send(command as CreateScheduleCommand);
        tally.call(name);
        return out;
      } catch (error) {
        tally.call(`${name} (${(error as Error).name})`);
        throw error;
      }
    },
  };
}

function countingSqs(sqs: SQSClient, tally: Tally): SqsLike {
  return {
    async send(command: SendMessageBatchCommand | SendMessageCommand) {
      tally.call(command instanceof SendMessageBatchCommand ? 'SQS SendMessageBatch' : 'SQS SendMessage');
      return sqs.send(command as SendMessageBatchCommand);
    },
  } as SqsLike;
}

/** The charge worker's `BillingService` as wiring.ts builds it, on counting clients and the platform's clock. */
function countedBilling(platform: Platform, tally: Tally, clock: Clock): BillingService {
  const db = countingDocumentClient(platform.db, tally);
  const table = platform.domainTable;
  const processor = sandboxPaymentProcessor(db, table, clock);
  const dueJobs = new SchedulerDueJobs({
    config: platform.dueJobs,
    scheduler: countingScheduler(platform.scheduler, tally),
    sqs: countingSqs(platform.sqs, tally),
    clock,
  });
  // Every subscription of the storm pays with tok_ok: a decline (a saga start) is a bench bug.
  const dunning = {
    start: async () => Promise.reject(new Error('renewal-storm: a renewal was declined; the bench only renews tok_ok subscriptions')),
    stop: async () => {},
  };
  return new BillingService({
    subscriptions: new DynamoSubscriptionStore(db, table),
    payments: processor,
    scheduler: dueJobs,
    dunning,
    clock,
  });
}

interface CountedPass {
  readonly deliveries: 1 | 2;
  readonly renewals: number;
  readonly outcomes: Record<string, number>;
  readonly redelivered: number;
  /** Per renewal, by request kind. */
  readonly requests: Record<
    string,
    { count: number; writeUnits: number; indexWriteUnits: number; readUnits: number; conditionFailed: number }
  >;
  readonly writeUnitsPerRenewal: number;
  readonly readUnitsPerRenewal: number;
  readonly schedulerCalls: Record<string, number>;
  readonly schedulerCallsPerRenewal: number;
  /** CPU of this process per renewal: the charge worker's code and its SDK clients, without Lambda or the local cloud. */
  readonly cpuMsPerRenewal: number;
  readonly exactlyOnce: ExactlyOnce;
}

/**
 * `n` subscriptions due a minute ago (no schedules), each job run through `processDue` in this
 * process `deliveries` times at once; a copy that failed (`request_in_progress`) is run again once
 * every first attempt is done, as SQS delivers it again after its visibility timeout.
 */
async function countedPass(platform: Platform, deliveries: 1 | 2, n: number): Promise<CountedPass> {
  let clock = await virtualClock(platform);
  const due = new Date(Math.floor(clock().getTime() / 1000) * 1000 - 60_000);
  const seeded = await seed(platform, () => due, n);
  await settled(platform);
  clock = await virtualClock(platform);
  const tally = new Tally();
  const billing = countedBilling(platform, tally, clock);
  const outcomes: Record<string, number> = {};
  const again: DueJob[] = [];
  const cpuBefore = process.cpuUsage();
  const run = async (job: DueJob) => {
    try {
      increment(outcomes, await billing.processDue(job));
    } catch (error) {
      increment(outcomes, `retried: ${(error as Error).name}`);
      again.push(job);
    }
  };
  await pool(seeded, COUNT_CONCURRENCY, async ({ job }) => {
    await Promise.all(Array.from({ length: deliveries }, () => run(job)));
  });
  const redelivered = again.length;
  for (const job of again.splice(0)) await run(job);
  if (again.length > 0) throw new Error(`${again.length} jobs still failing after a redelivery`);
  const cpu = process.cpuUsage(cpuBefore);

  const per = (value: number) => round3(value / n);
  const requests = Object.fromEntries(
    [...tally.dynamodb]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, c]) => [
        kind,
        {
          count: per(c.count),
          writeUnits: per(c.writeUnits),
          indexWriteUnits: per(c.indexWriteUnits),
          readUnits: per(c.readUnits),
          conditionFailed: per(c.conditionFailed),
        },
      ]),
  );
  const sum = (field: 'writeUnits' | 'readUnits') => [...tally.dynamodb.values()].reduce((s, c) => s + c[field], 0);
  const schedulerCalls = Object.fromEntries([...tally.calls].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, per(v)]));
  const schedulerTotal = [...tally.calls].filter(([k]) => /Schedule/.test(k)).reduce((s, [, v]) => s + v, 0);
  return {
    deliveries,
    renewals: n,
    outcomes,
    redelivered,
    requests,
    writeUnitsPerRenewal: per(sum('writeUnits')),
    readUnitsPerRenewal: per(sum('readUnits')),
    schedulerCalls,
    schedulerCallsPerRenewal: per(schedulerTotal),
    cpuMsPerRenewal: round2((cpu.user + cpu.system) / 1000 / n),
    exactlyOnce: await exactlyOnce(platform, seeded),
  };
}

// ---------------------------------------------------------------------------------------------
// Exactly once
// ---------------------------------------------------------------------------------------------

interface ExactlyOnce {
  readonly subscriptions: number;
  /** Subscriptions now in the next period with the next due time. */
  readonly renewed: number;
  /** Subscriptions by number of renewal payments: {"1": N} is the goal. */
  readonly paymentsPerSubscription: Record<string, number>;
  /** Subscriptions by number of providers' ledger charges of a renewal key. */
  readonly chargesPerSubscription: Record<string, number>;
  readonly claimsPerSubscription: Record<string, number>;
  /** Ledger charges beyond one per subscription. */
  readonly doubleCharges: number;
  readonly notCharged: number;
}

/** Counts, per subscription, renewal payments, providers' ledger charges and charge claims. */
async function exactlyOnce(platform: Platform, seeded: readonly Seeded[]): Promise<ExactlyOnce> {
  const bySubscription = new Map(seeded.map((s) => [s.subscription.id, { seeded: s, payments: 0, charges: 0, claims: 0 }]));
  const items = await scanAll(platform.db, {
    TableName: platform.domainTable,
    ProjectionExpression: 'entity, subscriptionId, chargeKey, #status, reason',
    FilterExpression: 'entity IN (:payment, :ledger, :claim)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: { ':payment': 'Payment', ':ledger': 'SandboxCharge', ':claim': 'ChargeClaim' },
  });
  for (const item of items) {
    const key = String(item.chargeKey ?? '');
    if (!key.startsWith('renewal:')) continue;
    const entry = bySubscription.get(key.split(':')[1]!);
    if (!entry) continue;
    if (item.entity === 'Payment' && item.status === 'succeeded') entry.payments++;
    if (item.entity === 'SandboxCharge' && item.status === 'succeeded') entry.charges++;
    if (item.entity === 'ChargeClaim') entry.claims++;
  }
  let renewed = 0;
  const keys = seeded.map((s) => subscriptionKey(s.subscription.userId));
  for (let i = 0; i < keys.length; i += 100) {
    const out = await platform.db.send(
      new BatchGetCommand({ RequestItems: { [platform.domainTable]: { Keys: keys.slice(i, i + 100), ConsistentRead: true } } }),
    );
    if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) throw new Error('BatchGetItem left keys unprocessed');
    for (const item of out.Responses?.[platform.domainTable] ?? []) {
      const entry = bySubscription.get(String(item.id));
      const s = entry?.seeded.subscription;
      if (s && item.status === 'active' && item.period === s.period + 1 && item.dueAt === entry!.seeded.nextDueAt) renewed++;
    }
  }
  const histogram = (field: 'payments' | 'charges' | 'claims') => {
    const counts: Record<string, number> = {};
    for (const entry of bySubscription.values()) increment(counts, String(entry[field]));
    return counts;
  };
  const entries = [...bySubscription.values()];
  return {
    subscriptions: seeded.length,
    renewed,
    paymentsPerSubscription: histogram('payments'),
    chargesPerSubscription: histogram('charges'),
    claimsPerSubscription: histogram('claims'),
    doubleCharges: entries.reduce((sum, e) => sum + Math.max(0, e.charges - 1), 0),
    notCharged: entries.filter((e) => e.charges === 0).length,
  };
}

/** Of the rounds' subscriptions, how many have their next period's schedule. */
async function nextSchedules(platform: Platform, seeded: readonly Seeded[]): Promise<number> {
  const names = new Set<string>();
  let token: string | undefined;
  do {
    const out = await platform.scheduler.send(
      new ListSchedulesCommand({ GroupName: platform.dueJobs.scheduleGroup, NamePrefix: 'due-', MaxResults: 100, NextToken: token }),
    );
    for (const s of out.Schedules ?? []) names.add(s.Name!);
    token = out.NextToken;
  } while (token);
  return seeded.filter((s) => names.has(scheduleName(s.subscription.id, Math.ceil(Date.parse(s.nextDueAt) / 1000)))).length;
}

// ---------------------------------------------------------------------------------------------
// Live updates' writes (fan-out, realtime table)
// ---------------------------------------------------------------------------------------------

interface FanoutWrites {
  readonly renewals: number;
  /** Log entries (frames numbered and logged) per renewal. */
  readonly logEntriesPerRenewal: number;
  /** Head updates (`assign`) per renewal: 1 when both frames came in one stream batch, 2 otherwise. */
  readonly headUpdatesPerRenewal: number;
  readonly writeUnitsPerLogEntry: number;
  readonly writeUnitsPerHeadUpdate: number;
  readonly writeUnitsPerRenewal: number;
  readonly events: Record<string, number>;
}

/** Write units DynamoDB Local charges for a put of `item`'s copy under a scratch key (then deleted). */
async function unitsOfItem(platform: Platform, item: Record<string, unknown>, i: number): Promise<number> {
  const key = { pk: `bench#renewal-storm#${i}`, sk: String(item.sk) };
  const out = await platform.db.send(
    new PutCommand({ TableName: platform.realtimeTable, Item: { ...item, ...key }, ReturnConsumedCapacity: 'TOTAL' }),
  );
  await platform.db.send(new DeleteCommand({ TableName: platform.realtimeTable, Key: key }));
  return out.ConsumedCapacity?.CapacityUnits ?? Number.NaN;
}

async function fanoutWrites(platform: Platform, seeded: readonly Seeded[]): Promise<FanoutWrites> {
  const byUser = new Map(seeded.map((s) => [s.subscription.userId, s]));
  // The renewal's frames: its payment, and the subscription in its next period (the insert's frame shows the current one).
  const ofRenewal = (entry: Record<string, unknown>) => {
    const s = byUser.get(String(entry.pk).slice('log#user:'.length));
    if (!s) return false;
    const payload = entry.payload as { subscription?: { currentPeriodEnd?: string } } | undefined;
    return String(entry.event).startsWith('payment.') || payload?.subscription?.currentPeriodEnd === s.nextDueAt;
  };
  const entries = (
    await scanAll(platform.db, {
      TableName: platform.realtimeTable,
      FilterExpression: 'begins_with(pk, :log)',
      ExpressionAttributeValues: { ':log': 'log#user:' },
    })
  ).filter(ofRenewal);
  const events: Record<string, number> = {};
  const perUser = new Map<string, number>();
  for (const e of entries) {
    increment(events, String(e.event));
    const user = String(e.pk).slice('log#user:'.length);
    perUser.set(user, (perUser.get(user) ?? 0) + 1);
  }
  // The last `assign` of each head numbered this renewal's frames: all of them (one update) or the last one (two).
  let headUpdates = 0;
  const heads: Record<string, unknown>[] = [];
  const keys = [...byUser.keys()].map((u) => headKey(`user:${u}`));
  for (let i = 0; i < keys.length; i += 100) {
    const out = await platform.db.send(
      new BatchGetCommand({ RequestItems: { [platform.realtimeTable]: { Keys: keys.slice(i, i + 100) } } }),
    );
    for (const head of out.Responses?.[platform.realtimeTable] ?? []) {
      heads.push(head);
      const numbered = perUser.get(String(head.pk).slice('topic#user:'.length)) ?? 0;
      const last = (head.lastSrcs as unknown[] | undefined)?.length ?? 0;
      if (numbered > 0) headUpdates += Math.max(1, numbered - last + 1);
    }
  }
  const sample = async (items: Record<string, unknown>[]) => {
    const picked = items.slice(0, 20);
    let units = 0;
    for (const [i, item] of picked.entries()) units += await unitsOfItem(platform, item, i);
    return picked.length > 0 ? units / picked.length : Number.NaN;
  };
  const entryUnits = await sample(entries);
  const headUnits = await sample(heads);
  const renewals = seeded.length;
  return {
    renewals,
    logEntriesPerRenewal: round3(entries.length / renewals),
    headUpdatesPerRenewal: round3(headUpdates / renewals),
    writeUnitsPerLogEntry: round2(entryUnits),
    writeUnitsPerHeadUpdate: round2(headUnits),
    writeUnitsPerRenewal: round2((entries.length * entryUnits + headUpdates * headUnits) / renewals),
    events,
  };
}

// ---------------------------------------------------------------------------------------------
// The settle floor
// ---------------------------------------------------------------------------------------------

/**
 * The local cloud's own share of a round's time: an advance over a minute whose seconds each have
 * one schedule and nothing to do (the schedules send to a queue nobody reads). The clock settles
 * after each due second however little there is to do, so this much of every round is not work.
 */
async function settleFloor(platform: Platform): Promise<number> {
  const { QueueUrl } = await platform.sqs.send(new CreateQueueCommand({ QueueName: `renewal-storm-floor-${Date.now()}` }));
  const { Attributes = {} } = await platform.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const clock = await virtualClock(platform);
  const minute = new Date(Math.ceil((clock().getTime() + 2 * 60_000) / 60_000) * 60_000);
  for (let second = 0; second < SPREAD_SECONDS; second++) {
    await platform.scheduler.send(
      new CreateScheduleCommand({
        Name: `renewal-storm-floor-${minute.getTime() / 1000 + second}`,
        ScheduleExpression: `at(${new Date(minute.getTime() + second * 1000).toISOString().slice(0, 19)})`,
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: Attributes.QueueArn!, RoleArn: platform.dueJobs.schedulerRoleArn, Input: '{}' },
      }),
    );
  }
  await settled(platform);
  const started = performance.now();
  await control(platform, '/clock/advance', { to: new Date(minute.getTime() + SPREAD_SECONDS * 1000 + 1000).toISOString() });
  const seconds = (performance.now() - started) / 1000;
  await platform.sqs.send(new DeleteQueueCommand({ QueueUrl }));
  return round2(seconds);
}

// ---------------------------------------------------------------------------------------------
// A storm round on the platform
// ---------------------------------------------------------------------------------------------

interface StormRound {
  readonly name: 'single' | 'duplicate';
  readonly subscriptions: number;
  readonly dueMinute: string;
  readonly spreadSeconds: number;
  /** Untimed set-up: seeding, the stream consumers' work on the inserts, CreateSchedule × N. */
  readonly setupSeconds: number;
  /** Copies of the jobs the bench sent to the charge queue itself. */
  readonly duplicatesSent: number;
  /** From the advance's start until no subscription is left in the minute's due index. */
  readonly chargedSeconds: number;
  readonly renewalsPerSecond: number;
  /** From the advance's start until it returned: every renewal, live update, event and retried copy done. */
  readonly advanceSeconds: number;
  /** [seconds since the advance started, the virtual clock's position in the minute (s)], once a second: the pace per due second. */
  readonly progress: Array<[number, number]>;
  readonly cpuSeconds: ReturnType<typeof cpuBetween>;
  readonly cpuMsPerRenewal: { readonly cloud: number; readonly dynamodbLocal: number };
  /** What the CPU our processes used per renewal allows on 2 cores given wholly to them: the rate without other load or settling. */
  readonly cpuBoundRenewalsPerSecond: number;
  /** The charge worker's outcomes, from its log lines ("Due job" / "Due job retried later"). */
  readonly workerOutcomes: Record<string, number>;
  /** Scheduler calls per renewal implied by the outcomes (renewed: 1 create; stale with a later due time: 1 create, a conflict). */
  readonly schedulerCallsPerRenewal: number;
  readonly nextPeriodScheduled: number;
  readonly queues: Record<string, number>;
  readonly exactlyOnce: ExactlyOnce;
  readonly fanout: FanoutWrites;
}

/** Subscriptions still due in [minute, minute + spread): a COUNT query of the due index. */
async function stillDue(platform: Platform, minute: Date): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await platform.db.send(
      new QueryCommand({
        TableName: platform.domainTable,
        IndexName: DUE_INDEX.name,
        KeyConditionExpression: '#bucket = :bucket AND #sort BETWEEN :from AND :to',
        ExpressionAttributeNames: { '#bucket': DUE_INDEX.partitionKey, '#sort': DUE_INDEX.sortKey },
        ExpressionAttributeValues: {
          ':bucket': dueBucket(minute),
          ':from': minute.toISOString(),
          ':to': `${new Date(minute.getTime() + SPREAD_SECONDS * 1000).toISOString()}~`,
        },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

async function stormRound(platform: Platform, name: 'single' | 'duplicate'): Promise<StormRound> {
  const setupStarted = performance.now();
  const clock = await virtualClock(platform);
  const minute = new Date(Math.ceil((clock().getTime() + LEAD_MS) / 60_000) * 60_000);
  const seeded = await seed(platform, (i) => new Date(minute.getTime() + (i % SPREAD_SECONDS) * 1000), N);
  // The schedules, as the function that activated each subscription made them (a minute ahead at least).
  const tally = new Tally();
  const dueJobs = new SchedulerDueJobs({
    config: platform.dueJobs,
    scheduler: countingScheduler(platform.scheduler, tally),
    sqs: countingSqs(platform.sqs, tally),
    clock: await virtualClock(platform),
  });
  await pool(seeded, SETUP_CONCURRENCY, ({ job }) => dueJobs.schedule(job));
  if (tally.calls.get('CreateSchedule') !== N)
    throw new Error(`set-up: expected ${N} schedules, calls were ${JSON.stringify([...tally.calls])}`);
  await settled(platform);

  let duplicatesSent = 0;
  let target = minute.getTime() + SPREAD_SECONDS * 1000;
  if (name === 'duplicate') {
    // Frozen on a whole second, so each copy's delay makes it visible at its schedule's very millisecond.
    await control(platform, '/clock/scale', { factor: 0 });
    const frozenAt = Math.ceil((clock().getTime() + 1000) / 1000) * 1000;
    await control(platform, '/clock/advance', { to: new Date(frozenAt).toISOString() });
    const batches: DueJob[][] = [];
    for (let i = 0; i < seeded.length; i += 10) batches.push(seeded.slice(i, i + 10).map((s) => s.job));
    await pool(batches, SETUP_CONCURRENCY, async (jobs) => {
      const out = await platform.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: platform.dueJobs.chargeQueueUrl,
          Entries: jobs.map((job, i) => {
            const delay = (Date.parse(job.dueAt) - frozenAt) / 1000;
            if (!Number.isInteger(delay) || delay < 1 || delay > 900) throw new Error(`duplicate delay ${delay} s out of SQS's range`);
            return { Id: String(i), MessageBody: JSON.stringify(job), DelaySeconds: delay };
          }),
        }),
      );
      if ((out.Failed ?? []).length > 0) throw new Error(`duplicates not sent: ${JSON.stringify(out.Failed)}`);
      duplicatesSent += jobs.length;
    });
    // A copy refused while the other holds the charge comes back after the visibility timeout.
    const { Attributes = {} } = await platform.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: platform.dueJobs.chargeQueueUrl, AttributeNames: ['VisibilityTimeout'] }),
    );
    target += (Number(Attributes.VisibilityTimeout ?? 120) + 30) * 1000;
  }
  const setupSeconds = (performance.now() - setupStarted) / 1000;

  console.log(`  ${name}: set up in ${round1(setupSeconds)} s; advancing the clock past ${minute.toISOString()}`);
  const outputBefore = platform.cloud.output().length;
  const cpuBefore = cpuSample(platform.cloud.pid);
  const started = performance.now();
  let advanced = Number.NaN;
  const advance = control(platform, '/clock/advance', { to: new Date(target + 1000).toISOString() }).then(() => {
    advanced = performance.now();
  });
  advance.catch(() => {});
  // Cheap probes only while it runs (the clock's position, the queue's depth, both answered by the
  // local cloud's main thread); the due index is queried once the last due second has fired and no
  // job is waiting, when few subscriptions, if any, are left in it.
  const progress: Array<[number, number]> = [];
  const lastSecond = minute.getTime() + (SPREAD_SECONDS - 1) * 1000;
  let charged = Number.NaN;
  let left = Number.NaN;
  while (Number.isNaN(advanced)) {
    const at = performance.now();
    const virtual = Date.parse((await control<ClockState>(platform, '/clock')).now);
    progress.push([round1((at - started) / 1000), round1((virtual - minute.getTime()) / 1000)]);
    if (virtual >= lastSecond && Number.isNaN(charged)) {
      const { Attributes = {} } = await platform.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: platform.dueJobs.chargeQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesDelayed'],
        }),
      );
      if (Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesDelayed) === 0) {
        left = await stillDue(platform, minute);
        if (left === 0) charged = performance.now();
      }
    }
    await Promise.race([sleep(1000), advance]);
  }
  await advance;
  const cpuAfter = cpuSample(platform.cloud.pid);
  left = await stillDue(platform, minute);
  if (left > 0) throw new Error(`the advance returned with ${left} subscriptions still due`);
  // Charged within the advance's last second: the probe did not catch it in between.
  if (Number.isNaN(charged)) charged = advanced;
  if (name === 'duplicate') await control(platform, '/clock/scale', { factor: 1 });

  const outcomes = workerOutcomes(platform.cloud.output().slice(outputBefore));
  const chargedSeconds = (charged - started) / 1000;
  const cpu = cpuBetween(cpuBefore, cpuAfter);
  return {
    name,
    subscriptions: N,
    dueMinute: minute.toISOString(),
    spreadSeconds: SPREAD_SECONDS,
    setupSeconds: round1(setupSeconds),
    duplicatesSent,
    chargedSeconds: round2(chargedSeconds),
    renewalsPerSecond: Math.round(N / chargedSeconds),
    advanceSeconds: round2((advanced - started) / 1000),
    progress,
    cpuSeconds: cpu,
    cpuMsPerRenewal: { cloud: round2((cpu.cloud * 1000) / N), dynamodbLocal: round2((cpu.dynamodbLocal * 1000) / N) },
    cpuBoundRenewalsPerSecond: Math.round((2 * N) / (cpu.bench + cpu.cloud + cpu.dynamodbLocal)),
    workerOutcomes: outcomes,
    schedulerCallsPerRenewal: round3(((outcomes.renewed ?? 0) + (outcomes.stale ?? 0)) / N),
    nextPeriodScheduled: await nextSchedules(platform, seeded),
    queues: await queueDepths(platform.sqs, platform.billingQueues),
    exactlyOnce: await exactlyOnce(platform, seeded),
    fanout: await fanoutWrites(platform, seeded),
  };
}

// ---------------------------------------------------------------------------------------------
// Subscribe latency
// ---------------------------------------------------------------------------------------------

interface SubscribeLatency {
  readonly users: number;
  readonly rounds: number;
  readonly statuses: Record<string, number>;
  readonly latencyMs: ReturnType<typeof summarize>;
  readonly roundsP50Ms: number[];
  readonly warmUpMaxMs: number;
  /** Sign-ups (untimed) that failed and were tried again. */
  readonly signupFailures: number;
}

async function subscribeLatency(platform: Platform): Promise<SubscribeLatency> {
  const { httpUrl, wsUrl } = platform.cloud.endpoints;
  const client = new PlatformClient(httpUrl!, wsUrl!);
  // Four at a time, as signupMany does; a sign-up that fails (a scrypt hash past the function's
  // timeout on a loaded machine answers 500) is tried again.
  const sessions: Session[] = [];
  let signupFailures = 0;
  await pool(Array.from({ length: SUBSCRIBE_USERS * (SUBSCRIBE_ROUNDS + 1) }), 4, async (_, i) => {
    for (let attempt = 1; ; attempt++) {
      try {
        sessions[i] = await client.signup(`renewal-storm-${i}`);
        return;
      } catch (error) {
        signupFailures++;
        if (attempt >= 3) throw error;
      }
    }
  });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const roundsP50Ms: number[] = [];
  let warmUpMaxMs = 0;
  for (let r = 0; r <= SUBSCRIBE_ROUNDS; r++) {
    const users: Session[] = sessions.slice(r * SUBSCRIBE_USERS, (r + 1) * SUBSCRIBE_USERS);
    const round: number[] = [];
    await Promise.all(
      users.map(async (user) => {
        const t0 = performance.now();
        const res = await client.request(
          'POST',
          '/api/v1/subscriptions/subscribe',
          { planId: PLAN.id, paymentToken: TOKEN },
          user.accessToken,
        );
        round.push(performance.now() - t0);
        if (r > 0) increment(statuses, String(res.status));
      }),
    );
    if (r === 0) warmUpMaxMs = round2(Math.max(...round));
    else {
      latencies.push(...round);
      roundsP50Ms.push(summarize(round).p50);
    }
  }
  return {
    users: SUBSCRIBE_USERS,
    rounds: SUBSCRIBE_ROUNDS,
    statuses,
    latencyMs: summarize(latencies),
    roundsP50Ms,
    warmUpMaxMs,
    signupFailures,
  };
}

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

function printRound(r: StormRound): void {
  const o = r.exactlyOnce;
  console.log(
    `  ${r.name.padEnd(9)} ${r.subscriptions} due ${r.dueMinute} over ${r.spreadSeconds} s${r.duplicatesSent ? ` (+${r.duplicatesSent} copies)` : ''}: ` +
      `all charged in ${r.chargedSeconds} s = ${r.renewalsPerSecond} renewals/s; advance returned after ${r.advanceSeconds} s (set-up ${r.setupSeconds} s)`,
  );
  console.log(
    `            renewed ${o.renewed}/${o.subscriptions}, payments/subscription ${JSON.stringify(o.paymentsPerSubscription)}, ` +
      `provider charges/subscription ${JSON.stringify(o.chargesPerSubscription)}, double charges ${o.doubleCharges}, not charged ${o.notCharged}; ` +
      `next period scheduled ${r.nextPeriodScheduled}/${r.subscriptions}; queues ${JSON.stringify(r.queues)}`,
  );
  console.log(
    `            worker outcomes ${JSON.stringify(r.workerOutcomes)} (Scheduler calls/renewal ≈ ${r.schedulerCallsPerRenewal}); ` +
      `CPU s: ${JSON.stringify(r.cpuSeconds)}, per renewal ${r.cpuMsPerRenewal.cloud} ms local cloud + ${r.cpuMsPerRenewal.dynamodbLocal} ms DynamoDB Local: ` +
      `at most ${r.cpuBoundRenewalsPerSecond} renewals/s on 2 free cores`,
  );
  console.log(
    `            live updates: ${r.fanout.logEntriesPerRenewal} log entries (${r.fanout.writeUnitsPerLogEntry} WCU each) + ` +
      `${r.fanout.headUpdatesPerRenewal} head updates (${r.fanout.writeUnitsPerHeadUpdate} WCU each) = ${r.fanout.writeUnitsPerRenewal} WCU/renewal ${JSON.stringify(r.fanout.events)}`,
  );
}

function printCounted(c: CountedPass): void {
  console.log(
    `  counted, each job delivered ${c.deliveries === 1 ? 'once' : 'twice at once'} (${c.renewals} renewals, outcomes ${JSON.stringify(c.outcomes)}, redelivered ${c.redelivered}): ` +
      `${c.writeUnitsPerRenewal} WCU + ${c.readUnitsPerRenewal} RCU per renewal, Scheduler calls ${c.schedulerCallsPerRenewal} ${JSON.stringify(c.schedulerCalls)}, ` +
      `double charges ${c.exactlyOnce.doubleCharges}, renewed ${c.exactlyOnce.renewed}/${c.renewals}; ${c.cpuMsPerRenewal} ms CPU/renewal in this process`,
  );
  for (const [kind, r] of Object.entries(c.requests)) {
    const units =
      r.writeUnits > 0
        ? `${r.writeUnits} WCU${r.indexWriteUnits > 0 ? ` (${r.indexWriteUnits} in the due index)` : ''}`
        : `${r.readUnits} RCU`;
    console.log(
      `      ${kind.padEnd(34)} ${String(r.count).padStart(6)} × per renewal  ${units}${r.conditionFailed > 0 ? `, ${r.conditionFailed} condition failed` : ''}`,
    );
  }
}

export async function renewalStorm(): Promise<void> {
  console.log(
    `renewal-storm: ${N} subscriptions due in one minute (spread over ${SPREAD_SECONDS} s), the clock advanced past it` +
      `${DUPLICATES ? '; then again with every job delivered twice' : ''}; ${COUNT_N} counted renewals each way; subscribe at ${SUBSCRIBE_USERS} concurrent users`,
  );
  const benchStarted = performance.now();
  const cloud = await launchPlatform([], 180_000);
  const platform = platformOf(cloud);
  try {
    const tree = measuredTree();
    // First, on the idle platform: once the storms have filled the tables, each of the local
    // cloud's TTL sweeps (a scan of every table, every 30 s of the clock) keeps DynamoDB Local busy
    // for seconds (50,000 items: 7 s, puts meanwhile 360 ms instead of 5), and subscribes with it.
    const subscribe = SUBSCRIBE_ROUNDS > 0 ? await subscribeLatency(platform) : undefined;
    if (subscribe)
      console.log(
        `  subscribe at ${subscribe.users} concurrent users, ${subscribe.rounds} rounds: p50 ${subscribe.latencyMs.p50} ms, p99 ${subscribe.latencyMs.p99} ms, ` +
          `max ${subscribe.latencyMs.max} ms (round p50s ${subscribe.roundsP50Ms.join(', ')}; warm-up max ${subscribe.warmUpMaxMs} ms) ${JSON.stringify(subscribe.statuses)}`,
      );

    const floorSeconds = await settleFloor(platform);
    console.log(
      `  an advance over ${SPREAD_SECONDS} due seconds with nothing to do takes ${floorSeconds} s (the clock settles after each)`,
    );
    const rounds: StormRound[] = [];
    for (const name of DUPLICATES ? (['single', 'duplicate'] as const) : (['single'] as const)) {
      const r = await stormRound(platform, name);
      rounds.push(r);
      printRound(r);
    }
    const counted = { single: await countedPass(platform, 1, COUNT_N), duplicate: await countedPass(platform, 2, COUNT_N) };
    printCounted(counted.single);
    printCounted(counted.duplicate);
    const single = rounds[0]!;
    const fanoutUnits = single.fanout.writeUnitsPerRenewal;
    const writeUnits = {
      chargeWorker: counted.single.writeUnitsPerRenewal,
      liveUpdates: fanoutUnits,
      total: round2(counted.single.writeUnitsPerRenewal + fanoutUnits),
      chargeWorkerWithDuplicates: counted.duplicate.writeUnitsPerRenewal,
    };
    const doubleCharges = rounds.reduce((s, r) => s + r.exactlyOnce.doubleCharges, 0) + counted.duplicate.exactlyOnce.doubleCharges;
    const met = {
      renewalsPerSecond: single.renewalsPerSecond >= TARGET.renewalsPerSecond,
      writeUnitsPerRenewal: writeUnits.chargeWorker <= TARGET.writeUnitsPerRenewal,
      writeUnitsPerRenewalWithLiveUpdates: writeUnits.total <= TARGET.writeUnitsPerRenewal,
      doubleCharges: doubleCharges === TARGET.doubleCharges,
    };
    console.log(
      `  targets: ${single.renewalsPerSecond} renewals/s (≥ ${TARGET.renewalsPerSecond}: ${met.renewalsPerSecond ? 'met' : 'NOT met'}); ` +
        `${writeUnits.chargeWorker} WCU/renewal by the charge worker, ${writeUnits.total} with the live updates (≤ ${TARGET.writeUnitsPerRenewal}: ` +
        `${met.writeUnitsPerRenewal ? 'met' : 'NOT met'}, ${met.writeUnitsPerRenewalWithLiveUpdates ? 'met' : 'NOT met'}); ` +
        `double charges ${doubleCharges} (${met.doubleCharges ? 'met' : 'NOT met'})`,
    );
    const durationMinutes = round1((performance.now() - benchStarted) / 60_000);
    const file = writeResult('renewal-storm', {
      ...tree,
      durationMinutes,
      subscriptions: N,
      spreadSeconds: SPREAD_SECONDS,
      target: TARGET,
      met,
      renewalsPerSecond: Object.fromEntries(rounds.map((r) => [r.name, r.renewalsPerSecond])),
      writeUnitsPerRenewal: writeUnits,
      schedulerCallsPerRenewal: {
        counted: { single: counted.single.schedulerCallsPerRenewal, duplicate: counted.duplicate.schedulerCallsPerRenewal },
        platform: Object.fromEntries(rounds.map((r) => [r.name, r.schedulerCallsPerRenewal])),
      },
      doubleCharges,
      settleFloorSeconds: floorSeconds,
      subscribeLatencyMs: subscribe ? { p50: subscribe.latencyMs.p50, p99: subscribe.latencyMs.p99 } : undefined,
      rounds,
      counted,
      subscribe,
    });
    console.log(`renewal-storm: ${durationMinutes} minutes; written to ${file}`);
  } finally {
    platform.db.destroy();
    platform.sqs.destroy();
    platform.scheduler.destroy();
    await cloud.stop();
  }
}
