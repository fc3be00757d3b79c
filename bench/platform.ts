/**
 * What the platform benchmarks share (renewal-storm.ts, dunning-storm.ts): the platform as
 * `launchPlatform` runs it (its resources by logical id, SDK clients on the local cloud), the
 * control API (clock, settling), the virtual clock read from here, table scans, a concurrency pool,
 * and the CPU seconds of the processes involved.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { LaunchedCloud, ResourceEndpoint } from '@realtime/local-cloud';
import { clientConfig } from '@realtime/local-cloud/testing';
import type { DueJobsConfig } from '../lambdas/shared/billing/scheduler-due-jobs';
import type { Clock } from '../lambdas/shared/clock';

export const round1 = (n: number) => Math.round(n * 10) / 10;
export const round2 = (n: number) => Math.round(n * 100) / 100;
export const round3 = (n: number) => Math.round(n * 1000) / 1000;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function pool<T>(items: readonly T[], concurrency: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await run(items[i]!, i);
      }
    }),
  );
}

export function increment(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

// ---------------------------------------------------------------------------------------------
// The platform: resources, clients, the control API
// ---------------------------------------------------------------------------------------------

export interface Platform {
  readonly cloud: LaunchedCloud;
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly scheduler: SchedulerClient;
  readonly domainTable: string;
  readonly realtimeTable: string;
  readonly dueJobs: DueJobsConfig;
  /** Every queue of `BillingQueues` (the charge queue and the dead-letter queues), by logical id. */
  readonly billingQueues: ReadonlyArray<{ readonly id: string; readonly url: string }>;
}

/** Messages in each queue (visible, in flight and delayed), by logical id without CDK's hash: all should be 0 after a round. */
export async function queueDepths(
  sqs: SQSClient,
  queues: ReadonlyArray<{ readonly id: string; readonly url: string }>,
): Promise<Record<string, number>> {
  const depths: Record<string, number> = {};
  for (const { id, url } of queues) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    depths[id.replace(/[0-9A-F]{8}$/, '')] =
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0);
  }
  return depths;
}

export function resources(cloud: LaunchedCloud, type: string, prefix: string): Array<[string, ResourceEndpoint]> {
  return Object.values(cloud.endpoints.resources)
    .flatMap((stack) => Object.entries(stack))
    .filter(([logicalId, r]) => r.type === type && logicalId.startsWith(prefix));
}

/** The one resource of `type` whose logical id is `prefix` and CDK's hash. */
export function resource(cloud: LaunchedCloud, type: string, prefix: string): ResourceEndpoint {
  const found = resources(cloud, type, prefix).filter(([logicalId]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(logicalId));
  if (found.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  return found[0]![1];
}

export function platformOf(cloud: LaunchedCloud): Platform {
  const queue = resource(cloud, 'AWS::SQS::Queue', 'BillingQueuesCharges');
  return {
    cloud,
    db: DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud, 'dynamodb')), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sqs: new SQSClient(clientConfig(cloud, 'sqs')),
    scheduler: new SchedulerClient(clientConfig(cloud, 'scheduler')),
    domainTable: resource(cloud, 'AWS::DynamoDB::Table', 'StorageDomainTable').physicalId,
    realtimeTable: resource(cloud, 'AWS::DynamoDB::Table', 'StorageRealtimeTable').physicalId,
    dueJobs: {
      scheduleGroup: resource(cloud, 'AWS::Scheduler::ScheduleGroup', 'BillingDueJobs').physicalId,
      chargeQueueArn: queue.arn!,
      chargeQueueUrl: queue.url!,
      schedulerRoleArn: resource(cloud, 'AWS::IAM::Role', 'BillingSchedulerRole').arn!,
      deadLetterQueueArn: resource(cloud, 'AWS::SQS::Queue', 'BillingQueuesSchedulerDeadLetterQueue').arn!,
    },
    billingQueues: resources(cloud, 'AWS::SQS::Queue', 'BillingQueues').map(([id, r]) => ({ id, url: r.url! })),
  };
}

export interface ClockState {
  readonly now: string;
  readonly factor: number;
}

/** A control API call. Not `fetch`: an advance over a storm can take longer than its 300-second wait for headers. */
export function control<T>(platform: Platform, path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${platform.cloud.endpoints.controlUrl}${path}`,
      { method, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`control ${path}: ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as T);
        });
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Waits until nothing is in flight; the control API gives up after 120 s, so a long drain is waited for again. */
export async function settled(platform: Platform): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await control(platform, '/settled');
      return;
    } catch (error) {
      if (attempt >= 5 || !/did not settle/.test((error as Error).message)) throw error;
    }
  }
}

/** The platform's virtual clock, read here: its time at one moment, moved on at its speed. */
export async function virtualClock(platform: Platform): Promise<Clock> {
  const state = await control<ClockState>(platform, '/clock');
  const base = Date.parse(state.now);
  const realBase = performance.now();
  return () => new Date(base + (performance.now() - realBase) * state.factor);
}

// ---------------------------------------------------------------------------------------------
// Tables and logs
// ---------------------------------------------------------------------------------------------

export async function scanAll(db: DynamoDBDocumentClient, input: ScanCommandInput): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await db.send(new ScanCommand({ ...input, ExclusiveStartKey: start }));
    items.push(...((out.Items as Record<string, unknown>[] | undefined) ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The charge worker's outcomes in a slice of the local cloud's output. */
export function workerOutcomes(output: string): Record<string, number> {
  const outcomes: Record<string, number> = {};
  for (const line of output.split('\n')) {
    if (!line.includes('"message":"Due job')) continue;
    const outcome = /"outcome":"([a-z_]+)"/.exec(line)?.[1];
    const code = /"code":"([a-z_]+)"/.exec(line)?.[1];
    if (outcome) increment(outcomes, outcome);
    else if (code) increment(outcomes, `retried: ${code}`);
    else if (line.includes('Due job failed')) increment(outcomes, 'failed');
    else if (line.includes('Due job dropped')) increment(outcomes, 'dropped');
  }
  return outcomes;
}

// ---------------------------------------------------------------------------------------------
// CPU, and what was measured
// ---------------------------------------------------------------------------------------------

export interface CpuSample {
  readonly bench: number;
  readonly cloud: number;
  /** The local cloud's main thread: gateways, SQS, Scheduler, EventBridge, stream polling (the Lambda handlers run on worker threads). */
  readonly cloudMainThread: number;
  readonly dynamodbLocal: number;
  readonly machine: number;
}

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds so far: this process, the local cloud's process tree (DynamoDB Local's JVM apart), and the machine's busy time. */
export function cpuSample(cloudPid: number): CpuSample {
  const usage = process.cpuUsage();
  const sample = { bench: (usage.user + usage.system) / 1e6, cloud: 0, cloudMainThread: 0, dynamodbLocal: 0, machine: 0 };
  try {
    const stats = new Map<number, { name: string; ppid: number; seconds: number }>();
    for (const d of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        stats.set(Number(d), { name, ppid: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS });
      } catch {
        // ended while listing
      }
    }
    const inTree = (pid: number): boolean => {
      for (let p: number | undefined = pid; p && p > 1; p = stats.get(p)?.ppid) if (p === cloudPid) return true;
      return false;
    };
    for (const [pid, s] of stats) {
      if (!inTree(pid)) continue;
      if (s.name === 'java') sample.dynamodbLocal += s.seconds;
      else sample.cloud += s.seconds;
    }
    const main = readFileSync(`/proc/${cloudPid}/task/${cloudPid}/stat`, 'utf8');
    const mainFields = main.slice(main.lastIndexOf(')') + 2).split(' ');
    sample.cloudMainThread = (Number(mainFields[11]) + Number(mainFields[12])) / TICKS;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    sample.machine = (cpu[0]! + cpu[1]! + cpu[2]! + cpu[5]! + cpu[6]! + cpu[7]!) / TICKS;
  } catch {
    // not Linux: zeros
  }
  return sample;
}

export function cpuBetween(a: CpuSample, b: CpuSample) {
  const bench = b.bench - a.bench;
  const cloud = b.cloud - a.cloud;
  const dynamodbLocal = b.dynamodbLocal - a.dynamodbLocal;
  return {
    bench: round1(bench),
    cloud: round1(cloud),
    cloudMainThread: round1(b.cloudMainThread - a.cloudMainThread),
    dynamodbLocal: round1(dynamodbLocal),
    other: round1(Math.max(0, b.machine - a.machine - bench - cloud - dynamodbLocal)),
  };
}

/** The commit measured, and whether the product's code differed from it (others may be editing it). */
export function measuredTree(): { commit: string; uncommittedProductChanges: string[] } {
  const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
  try {
    const changed = git('status', '--porcelain', '--', 'lambdas', 'lib', 'bin', 'packages/local-cloud/src');
    return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedProductChanges: changed ? changed.split('\n') : [] };
  } catch {
    return { commit: 'unknown', uncommittedProductChanges: [] };
  }
}
