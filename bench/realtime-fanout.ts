/**
 * Real-time fan-out through the local cloud on this machine, side by side with the baseline of
 * AWS's `simple-websockets-chat-app` sample (baseline-chat-app.ts), over the same WebSocket
 * connections in the same run:
 *
 *  1. write → client latency, p50 and p99, with 100 and 1,000 subscribers of one topic, three
 *     ways, 50 events each: `sequential` (the next event once the previous one reached every
 *     subscriber: the path's own latency, nothing queued), `spaced` (30 ms apart, open loop: each
 *     on its schedule whatever the answers do; offered load = subscribers × 33 events/s, and
 *     above capacity the latency is mostly queueing) and `burst` (all 50 at once). Latency runs
 *     from just before the producer's `POST /api/v1/topics/{topic}/events` (the payload carries
 *     that `sentAt`) to each subscriber's receipt of the data frame, over every (event,
 *     subscriber) pair; also from the 202 answer. Target at 100 subscribers: p50 < 100 ms,
 *     p99 < 300 ms.
 *  2. deliveries per second to 10,000 subscribers of one topic (a hot topic: 32 shards, one FIFO
 *     job per shard, parallel workers): 5 events published at once, frames received divided by
 *     the time from the first publish to the last receipt; plus how long opening and subscribing
 *     10,000 connections took.
 *  3. DynamoDB read capacity per delivered message: the `ReadCapacityUnits` and `Deliveries` EMF
 *     metrics the fan-out functions print (the stream consumer and the job worker), summed per
 *     run from the local cloud's output; for the baseline, its Scan's ConsumedCapacity.
 *  4. Every run checks that each subscriber got each event exactly once, in seq order, and
 *     reports violations (missing, duplicated, out of order: all must be 0 for ours).
 *
 * Method. `launchPlatform()` runs the app as `npm start` does, in its own process; the
 * subscribers (`ws`, realtime-clients.ts) and the producer live in this one, so every timestamp is
 * read from one clock (`performance.timeOrigin + performance.now()`). Connections are opened
 * with bounded concurrency (a fresh single-use ticket each), spread over several users, and
 * grown stage by stage (100, then 1,000, then 10,000), each stage subscribing all its
 * connections to a fresh topic; measurement starts once every edge of that topic is `live` in the
 * realtime table. Every run begins with unmeasured warm-up events (up to 8 at once, so cold
 * starts of the producer path and hot-topic workers are behind it). The baseline's connections table is filled, outside any measurement, with the
 * connection ids the realtime table's `meta` items list, i.e. exactly the bench's open
 * connections, and it is called once per event with a distinguishable frame.
 *
 * What differs, and is printed with the figures: the baseline runs in this process, called
 * directly (no Lambda worker, no DynamoDB stream hop), which favours it; the measuring process
 * also parses every frame, so its event-loop delay is reported per run. Two cores serve the
 * local cloud, DynamoDB Local's JVM and this process at once.
 *
 * Sizes come from environment variables (defaults are the issue's):
 *   BENCH_REALTIME_LATENCY_SUBSCRIBERS   100,1000  subscriber counts of the latency runs ("" = none)
 *   BENCH_REALTIME_LATENCY_EVENTS        50        events per latency run
 *   BENCH_REALTIME_SPACING_MS            30        between publishes of a spaced run (and after each
 *                                                  event of a sequential one)
 *   BENCH_REALTIME_SEQUENTIAL            1         also a sequential run per latency size (0 = no)
 *   BENCH_REALTIME_BURST                 1         also a burst run per latency size (0 = no)
 *   BENCH_REALTIME_THROUGHPUT_SUBSCRIBERS 10000    subscribers of the throughput run (0 = none)
 *   BENCH_REALTIME_THROUGHPUT_EVENTS     5         events of the throughput run, published at once
 *   BENCH_REALTIME_SETUP_CONCURRENCY     50        connects / subscribes in flight during setup
 *   BENCH_REALTIME_CONNECTIONS_PER_USER  20        connections per signed-up user (at most the
 *                                                  per-user cap, 20: docs/protocol.md, "Limits";
 *                                                  10,000 subscribers are 500 users)
 *   BENCH_REALTIME_BASELINE              1         run the baseline too (0 = no)
 *   BENCH_REALTIME_STALL_SECONDS         30        give up on a run when no frame came for this long
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { launchPlatform } from '../local/launch';
import type { LaunchedCloud } from '@realtime/local-cloud';
import { DynamoSubscriptionRegistry } from '../lambdas/shared/realtime/dynamo-subscription-registry';
import { DEFAULT_MAX_CONNECTIONS_PER_USER } from '../lambdas/shared/realtime/limits';
import { ChatAppConnectionsTable, createSendMessageHandler, type SendMessageOutcome } from './baseline-chat-app';
import { summarize, writeResult } from './harness';
import { openFileLimits, treeUsage } from './process-tree';
import type { Session } from '../test/support/realtime-client';
import { now, SubscriberPool, type Receipt } from './realtime-clients';

interface Config {
  readonly latencySubscribers: number[];
  readonly latencyEvents: number;
  readonly spacingMs: number;
  readonly burst: boolean;
  readonly sequential: boolean;
  readonly throughputSubscribers: number;
  readonly throughputEvents: number;
  readonly setupConcurrency: number;
  readonly connectionsPerUser: number;
  readonly baseline: boolean;
  readonly stallSeconds: number;
}

/** One measured series of events to one set of subscribers. */
interface RunSpec {
  /** e.g. `latency-100-spaced`, `throughput-10000` */
  readonly scenario: string;
  readonly kind: 'sequential' | 'spaced' | 'burst' | 'throughput';
  readonly subscribers: number;
  readonly events: number;
  readonly spacingMs: number;
}

/** One event as the producer sent it: ours a publish, the baseline a handler call. */
interface Sent {
  readonly sentAt: number;
  /** Ours: the 202 arrived. Baseline: the handler returned (every post acknowledged). */
  readonly answeredAt: number;
  readonly problem?: string;
  readonly baseline?: SendMessageOutcome;
}

/** Lines of the local cloud's output worth reporting: errors and warnings, from functions or the cloud itself. */
const PROBLEM_LINE =
  /"level":"(ERROR|WARN|CRITICAL)"|timed out|EMFILE|ENFILE|ECONNRESET|ECONNREFUSED|heap|unhandled|uncaught|throttl|Internal server error|\bfail(ed|ure|s)?\b|\berror\b/i;
const NOT_A_PROBLEM = /"_aws"|"level":"(INFO|DEBUG)"/;
const STAGE_TIMEOUT_MS = 60_000;

export async function realtimeFanout(): Promise<void> {
  const config = readConfig();
  const specs = runSpecs(config);
  const sizes = [...new Set(specs.map((s) => s.subscribers))].sort((a, b) => a - b);
  if (sizes.length === 0) {
    console.log('realtime-fanout: nothing to run (no latency or throughput sizes configured)');
    return;
  }
  const fileLimits = ensureFileDescriptors(sizes.at(-1)!);

  console.log(
    `realtime-fanout: stages of ${sizes.join(', ')} subscribers; ${specs.length} runs${config.baseline ? ', each also by the baseline' : ''}`,
  );
  const cloud = await launchPlatform();
  const runTag = Date.now().toString(36);
  const report = new Report(config, fileLimits, cloud.startupSeconds);
  const pool = new SubscriberPool({
    httpUrl: cloud.endpoints.httpUrl!,
    wsUrl: cloud.endpoints.wsUrl!,
    concurrency: config.setupConcurrency,
    connectionsPerUser: config.connectionsPerUser,
    stepTimeoutMs: 30_000,
  });
  const cleanup: (() => unknown)[] = [];
  let failure: unknown;
  try {
    const aws = awsResources(cloud);
    cleanup.push(() => aws.destroy());
    const tableName = `bench-chat-connections-${runTag}`;
    const baselineTable = new ChatAppConnectionsTable({ ...aws.baseline, tableName });
    const baseline = createSendMessageHandler({ ...aws.baseline, tableName });
    cleanup.push(
      () => baseline.destroy(),
      () => baselineTable.drop(),
    );
    const inBaselineTable = new Set<string>();
    const bench = { cloud, pool, stallMs: config.stallSeconds * 1000 };
    try {
      const admin = await pool.client.admin(cloud.stateDir);
      if (config.baseline) await baselineTable.create();

      for (const size of sizes) {
        // Setup of this stage: grow the pool, subscribe all of it to a fresh topic, wait until live.
        const topic = `feed:bench-${runTag}-${size}`;
        const setupFrom = cloud.output().length;
        const connectMs = await pool.grow(size);
        const subscribeMs = await pool.subscribeAll(size, `b${size}`, topic);
        const liveMs = await waitUntilLive(aws.registry, topic, size);
        if (config.baseline) {
          // The sample's table holds what its $connect stored: here, every connection now open.
          const ids = await openConnectionIds(aws.db, aws.realtimeTable);
          const fresh = ids.filter((id) => !inBaselineTable.has(id));
          await baselineTable.add(fresh);
          for (const id of fresh) inBaselineTable.add(id);
          if (inBaselineTable.size !== size)
            report.note(`stage ${size}: the realtime table lists ${inBaselineTable.size} connections for ${size} open subscribers`);
        }
        report.setup({
          subscribers: size,
          topic,
          connectSeconds: seconds(connectMs),
          subscribeSeconds: seconds(subscribeMs),
          untilLiveSeconds: seconds(liveMs),
          connectionsPerSecond: Math.round((size - (report.setupStages.at(-1)?.subscribers ?? 0)) / (connectMs / 1000)),
          cloudProblems: problems(cloud.output().slice(setupFrom)),
          cloudProcessTree: treeUsage(cloud.pid),
        });

        for (const spec of specs.filter((s) => s.subscribers === size)) {
          report.run(await measure(bench, spec, 'ours', (key, n) => publish(pool, admin, topic, key, n)));
          if (!config.baseline) continue;
          report.run(
            await measure(bench, spec, 'baseline', async (key, n) => {
              const sentAt = now();
              const data = JSON.stringify({ type: 'bench-baseline', run: key, n, sentAt });
              const outcome = await baseline.handler({ body: JSON.stringify({ action: 'sendmessage', data }) });
              const problem = outcome.statusCode === 200 ? undefined : `sendmessage answered ${outcome.statusCode}: ${outcome.body}`;
              return { sentAt, answeredAt: now(), baseline: outcome, problem };
            }),
          );
        }
      }
    } finally {
      report.end({
        subscriberSetupRetries: pool.connectRetries,
        subscriberSetupErrors: pool.setupErrors.slice(0, 20),
        closedSubscribers: closedSummary(pool),
        errorFrames: pool.subscribers.flatMap((s) => s.errorFrames).slice(0, 10),
        unexpectedFrames: pool.subscribers.reduce((sum, s) => sum + s.unexpectedFrames, 0),
        queues: await queueDepths(aws.sqs, aws.queues).catch((error: unknown) => ({ error: String(error) })),
        localCloudFailures: await fetch(`${cloud.endpoints.controlUrl}/failures`)
          .then(async (r) => ((await r.json()) as { failures: unknown[] }).failures.length)
          .catch(() => undefined),
        cloudProcessTree: treeUsage(cloud.pid),
        cloudOutputMiB: round(cloud.output().length / 2 ** 20, 1),
        benchRssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      });
    }
  } catch (error) {
    failure = error;
    report.fail(error);
  } finally {
    // Sockets first, then the clients, then the local cloud, whatever failed before.
    pool.closeAll();
    for (const step of cleanup.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    await cloud.stop();
  }
  report.print();
  if (failure) throw failure;
}

/** Runs one series: warm-up, the measured events, waiting for every frame, then the figures. */
async function measure(
  { cloud, pool, stallMs }: { cloud: LaunchedCloud; pool: SubscriberPool; stallMs: number },
  spec: RunSpec,
  system: 'ours' | 'baseline',
  send: (key: string, n: number) => Promise<Sent>,
): Promise<RunResult> {
  const key = system === 'ours' ? spec.scenario : `${spec.scenario}:baseline`;

  // Unmeasured events first: cold starts are not what is measured. Latency runs send up to 8 at
  // once, so the producer path has as many warm execution environments as the spaced series
  // keeps busy (8 per function is the local cloud's limit); a throughput run sends one, whose
  // one job per shard already warms the hot-topic workers.
  const warmup = `${key}:warmup`;
  const warmups = spec.kind === 'throughput' ? 1 : Math.min(8, spec.events);
  const warmupSent = await Promise.all(Array.from({ length: warmups }, (_, n) => send(warmup, n)));
  const warmupComplete = await waitForReceipts(pool, warmup, warmups * spec.subscribers, stallMs);
  const warmupFigures = {
    events: warmups,
    received: pool.received(warmup),
    expected: warmups * spec.subscribers,
    problems: warmupSent.flatMap((s) => (s.problem ? [s.problem] : [])),
  };
  if (system === 'ours') await waitForFanoutMetrics(cloud, cloud.output().length, 0, 1_000); // let the warm-up's metrics land
  const outputFrom = cloud.output().length;

  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpuBefore = { bench: process.cpuUsage(), cloud: treeUsage(cloud.pid) };
  const loadAverage = loadavg()[0]!;
  const sent: Sent[] = [];
  const sendOne = (n: number) =>
    send(key, n).then(
      (s) => {
        sent[n] = s;
      },
      (error: unknown) => {
        sent[n] = { sentAt: NaN, answeredAt: NaN, problem: String(error) };
      },
    );
  const expected = spec.events * spec.subscribers;
  let complete = true;
  if (spec.kind === 'sequential') {
    // Closed loop: the next event only once the previous one reached every subscriber, so no
    // event waits behind another: the latency of the path itself.
    for (let n = 0; n < spec.events && complete; n++) {
      await sendOne(n);
      complete = await waitForReceipts(pool, key, (n + 1) * spec.subscribers, stallMs);
      await sleep(spec.spacingMs);
    }
  } else {
    // Open loop: each event on its schedule (all at once for a burst), whatever the answers do.
    const start = now();
    const calls: Promise<void>[] = [];
    for (let n = 0; n < spec.events; n++) {
      const wait = start + n * spec.spacingMs - now();
      if (wait > 0) await sleep(wait);
      calls.push(sendOne(n));
    }
    await Promise.all(calls);
    complete = await waitForReceipts(pool, key, expected, stallMs);
  }
  await sleep(500); // late duplicates still count
  loopDelay.disable();

  const fanout = system === 'ours' ? await waitForFanoutMetrics(cloud, outputFrom, pool.received(key), 10_000) : undefined;
  const cloudAfter = treeUsage(cloud.pid);
  const benchCpu = process.cpuUsage(cpuBefore.bench);
  const result = analyze(pool, spec, system, key, sent);
  const readCapacityUnits = fanout ? fanout.readCapacityUnits : sent.reduce((sum, s) => sum + (s.baseline?.readCapacityUnits ?? 0), 0);
  const deliveriesReported = fanout ? fanout.deliveries : sent.reduce((sum, s) => sum + (s.baseline?.posted ?? 0), 0);
  return {
    ...result,
    complete,
    // A warm-up that lost frames or failed is a finding too; the measured run goes on regardless.
    ...(warmupComplete && warmupFigures.problems.length === 0 ? {} : { warmupIncomplete: warmupFigures }),
    loadAverage1m: round(loadAverage),
    readCapacityUnits: round(readCapacityUnits),
    deliveriesReported,
    rcuPerDelivery: deliveriesReported > 0 ? round(readCapacityUnits / deliveriesReported, 4) : null,
    ...(fanout
      ? { fanoutInvocations: fanout.invocations, jobsEnqueued: fanout.jobsEnqueued, goneConnections: fanout.goneConnections }
      : {}),
    ...(system === 'baseline' ? baselineFailures(sent) : {}),
    producerProblems: sent
      .filter((s) => s?.problem)
      .map((s) => s.problem!)
      .slice(0, 5),
    benchEventLoopDelayMs: {
      p50: round(loopDelay.percentile(50) / 1e6),
      p99: round(loopDelay.percentile(99) / 1e6),
      max: round(loopDelay.max / 1e6),
    },
    cpuSeconds: {
      bench: round((benchCpu.user + benchCpu.system) / 1e6, 1),
      cloud: cpuBefore.cloud && cloudAfter ? round(cloudAfter.cpuSeconds - cpuBefore.cloud.cpuSeconds, 1) : null,
    },
    cloudProblems: problems(cloud.output().slice(outputFrom)),
  };
}

interface RunResult {
  readonly system: 'ours' | 'baseline';
  readonly scenario: string;
  readonly kind: RunSpec['kind'];
  readonly subscribers: number;
  readonly events: number;
  readonly spacingMs: number;
  readonly delivered: {
    expected: number;
    received: number;
    missing: number;
    duplicates: number;
    outOfOrder: number;
    subscribersIncomplete: number;
  };
  readonly latencyMs: {
    writeToClient: ReturnType<typeof summarize>;
    answerToClient: ReturnType<typeof summarize>;
    eventToLastSubscriber: ReturnType<typeof summarize>;
    producerCall: ReturnType<typeof summarize>;
  };
  readonly elapsedMs: number;
  readonly offeredDeliveriesPerSecond: number | null;
  readonly deliveriesPerSecond: number;
  readonly complete?: boolean;
  readonly readCapacityUnits?: number;
  readonly deliveriesReported?: number;
  readonly rcuPerDelivery?: number | null;
  readonly [more: string]: unknown;
}

/** Latencies over every first arrival of (subscriber, event), and the exactly-once-in-order check. */
function analyze(pool: SubscriberPool, spec: RunSpec, system: 'ours' | 'baseline', key: string, sent: Sent[]): RunResult {
  const writeToClient: number[] = [];
  const answerToClient: number[] = [];
  const lastArrival = new Array<number>(spec.events).fill(-Infinity);
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  let subscribersIncomplete = 0;
  let lastReceiptAt = -Infinity;
  for (const subscriber of pool.subscribers.slice(0, spec.subscribers)) {
    const receipts: Receipt[] = subscriber.receipts.get(key) ?? [];
    const seen = new Set<number>();
    let previous = -Infinity;
    for (const r of receipts) {
      if (seen.has(r.n)) {
        duplicates++;
        continue;
      }
      seen.add(r.n);
      // Ours must arrive in seq order; the baseline has no seq, so its order is by event number.
      const order = system === 'ours' ? (r.seq ?? NaN) : r.n;
      if (!(order > previous)) outOfOrder++;
      previous = Math.max(previous, order);
      received++;
      writeToClient.push(r.at - r.sentAt);
      const answeredAt = sent[r.n]?.answeredAt;
      // The baseline answers only once every post is acknowledged: after its frames arrive.
      if (system === 'ours' && answeredAt !== undefined && Number.isFinite(answeredAt)) answerToClient.push(r.at - answeredAt);
      lastArrival[r.n] = Math.max(lastArrival[r.n]!, r.at);
      lastReceiptAt = Math.max(lastReceiptAt, r.at);
    }
    if (seen.size < spec.events) subscribersIncomplete++;
  }
  const firstSentAt = Math.min(...sent.map((s) => (s && Number.isFinite(s.sentAt) ? s.sentAt : Infinity)));
  const elapsedMs = lastReceiptAt - firstSentAt;
  const expected = spec.events * spec.subscribers;
  return {
    system,
    scenario: spec.scenario,
    kind: spec.kind,
    subscribers: spec.subscribers,
    events: spec.events,
    spacingMs: spec.spacingMs,
    delivered: { expected, received, missing: expected - received, duplicates, outOfOrder, subscribersIncomplete },
    latencyMs: {
      writeToClient: summarize(writeToClient),
      answerToClient: summarize(answerToClient),
      eventToLastSubscriber: summarize(lastArrival.flatMap((at, n) => (Number.isFinite(at) && sent[n] ? [at - sent[n]!.sentAt] : []))),
      producerCall: summarize(sent.flatMap((s) => (s && Number.isFinite(s.answeredAt) ? [s.answeredAt - s.sentAt] : []))),
    },
    elapsedMs: round(elapsedMs),
    // What a spaced run asks for: subscribers × events per second. Above capacity, events queue.
    offeredDeliveriesPerSecond:
      spec.kind === 'spaced' && spec.spacingMs > 0 ? Math.round((spec.subscribers * 1000) / spec.spacingMs) : null,
    deliveriesPerSecond: elapsedMs > 0 ? Math.round(received / (elapsedMs / 1000)) : 0,
  };
}

/** Waits until `run` has `expected` distinct receipts; false when frames stopped coming first. */
async function waitForReceipts(pool: SubscriberPool, run: string, expected: number, stallMs: number): Promise<boolean> {
  let last = pool.received(run);
  let progressAt = now();
  while (pool.received(run) < expected) {
    await sleep(20);
    const count = pool.received(run);
    if (count !== last) {
      last = count;
      progressAt = now();
    } else if (now() - progressAt > stallMs) {
      return false;
    }
  }
  return true;
}

/**
 * The fan-out functions' EMF metrics printed since `from`, once their `Deliveries` reach
 * `expected` (metrics are flushed when an invocation ends, a moment after its last post) and the
 * output has been quiet for 300 ms, or after `timeoutMs`.
 */
async function waitForFanoutMetrics(cloud: LaunchedCloud, from: number, expected: number, timeoutMs: number) {
  const deadline = now() + timeoutMs;
  let length = cloud.output().length;
  let quietSince = now();
  for (;;) {
    const metrics = fanoutMetrics(cloud.output(), from);
    if (cloud.output().length !== length) {
      length = cloud.output().length;
      quietSince = now();
    }
    if ((metrics.deliveries >= expected && now() - quietSince > 300) || now() > deadline) return metrics;
    await sleep(100);
  }
}

/** Sums the fan-out functions' (`service: fanout`) EMF lines of `output` from offset `from`. */
function fanoutMetrics(output: string, from = 0) {
  const sums = { invocations: 0, deliveries: 0, readCapacityUnits: 0, jobsEnqueued: 0, goneConnections: 0, topicEvents: 0 };
  // Whole lines only: skip a line the offset cut into.
  const start = from === 0 || output[from - 1] === '\n' ? from : output.indexOf('\n', from) + 1;
  for (const line of output.slice(start).split('\n')) {
    if (!line.includes('"_aws"') || !line.includes('"Deliveries"')) continue;
    let emf: Record<string, unknown>;
    try {
      emf = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    } catch {
      continue; // an unfinished last line
    }
    if (emf.service !== 'fanout') continue;
    const n = (name: string) => (typeof emf[name] === 'number' ? (emf[name] as number) : 0);
    sums.invocations++;
    sums.deliveries += n('Deliveries');
    sums.readCapacityUnits += n('ReadCapacityUnits');
    sums.jobsEnqueued += n('JobsEnqueued');
    sums.goneConnections += n('GoneConnections');
    sums.topicEvents += n('TopicEvents');
  }
  return sums;
}

/** Error and warning lines of the local cloud's output, grouped by function and message. */
function problems(output: string): { count: number; kinds: { line: string; count: number }[] } {
  const kinds = new Map<string, number>();
  let count = 0;
  for (const line of output.split('\n')) {
    if (!PROBLEM_LINE.test(line) || NOT_A_PROBLEM.test(line)) continue;
    count++;
    const tag = /^\[[^\]]+\]/.exec(line)?.[0] ?? '';
    const message = /"message":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
    const errorText = /"(?:errorMessage|name)":"((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
    const kind = `${tag} ${message ?? line.slice(tag.length, tag.length + 160).trim()}${errorText ? ` (${errorText})` : ''}`.slice(0, 240);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return {
    count,
    kinds: [...kinds]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([line, n]) => ({ line, count: n })),
  };
}

/** What the baseline's posts failed with (not 410), over the run's calls. */
function baselineFailures(sent: Sent[]): { failedPosts: number; failures: Record<string, number>; gone: number } {
  const failures: Record<string, number> = {};
  let failedPosts = 0;
  let gone = 0;
  for (const s of sent) {
    if (!s?.baseline) continue;
    failedPosts += s.baseline.failedPosts;
    gone += s.baseline.gone;
    for (const [line, count] of Object.entries(s.baseline.failures)) failures[line] = (failures[line] ?? 0) + count;
  }
  return { failedPosts, failures, gone };
}

async function publish(pool: SubscriberPool, admin: Session, topic: string, run: string, n: number): Promise<Sent> {
  const sentAt = now();
  try {
    const res = await pool.client.publish(admin, topic, 'bench', { run, n, sentAt });
    return {
      sentAt,
      answeredAt: now(),
      problem: res.status === 202 ? undefined : `publish answered ${res.status} ${JSON.stringify(res.body)}`,
    };
  } catch (error) {
    return { sentAt, answeredAt: NaN, problem: `publish failed: ${(error as Error).message}` };
  }
}

/** Waits until all `count` edges of `topic` (over all its shards) are `live`; returns how long it took. */
async function waitUntilLive(registry: DynamoSubscriptionRegistry, topic: string, count: number): Promise<number> {
  const started = now();
  for (;;) {
    const shards = (await registry.head(topic))?.shards ?? 1;
    let live = 0;
    let pending = 0;
    for (let shard = 0; shard < shards; shard++) {
      for await (const page of registry.edges(topic, shard)) {
        for (const edge of page) {
          if (edge.mode === 'live') live++;
          else pending++;
        }
      }
    }
    if (live >= count) return now() - started;
    if (now() - started > STAGE_TIMEOUT_MS)
      throw new Error(`${topic}: ${live}/${count} edges live (${pending} pending) after ${STAGE_TIMEOUT_MS / 1000} s`);
    await sleep(250);
  }
}

/** The connection ids of the realtime table's connection records (`conn#<id>` / `meta`). */
async function openConnectionIds(db: DynamoDBDocumentClient, table: string): Promise<string[]> {
  const ids: string[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'begins_with(pk, :conn) AND sk = :meta',
        ExpressionAttributeValues: { ':conn': 'conn#', ':meta': 'meta' },
        ProjectionExpression: 'connectionId',
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) if (typeof item.connectionId === 'string') ids.push(item.connectionId);
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return ids;
}

/** The AWS pieces of the local cloud the bench talks to directly (never during a measurement, except the baseline). */
function awsResources(cloud: LaunchedCloud) {
  const { services, resources } = cloud.endpoints;
  const all = Object.values(resources).flatMap((stack) => Object.entries(stack));
  const realtime = all.find(([logicalId, r]) => r.type === 'AWS::DynamoDB::Table' && /RealtimeTable/.test(logicalId));
  if (!realtime) throw new Error('the realtime table is not among the local cloud resources');
  const region = /^arn:aws:[^:]+:([^:]+):/.exec(realtime[1].arn ?? '')?.[1] ?? 'us-east-1';
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const dynamodb = new DynamoDBClient({ endpoint: services.dynamodb, region, credentials });
  const db = DynamoDBDocumentClient.from(dynamodb);
  // The WebSocket stage's @connections callback URL, as the local cloud publishes it.
  const callbackUrl = services.apigatewaymanagementapi;
  if (!callbackUrl || !services.dynamodb) throw new Error('the local cloud publishes no @connections or DynamoDB endpoint');
  const sqs = new SQSClient({ endpoint: services.sqs, region, credentials });
  return {
    db,
    realtimeTable: realtime[1].physicalId,
    registry: new DynamoSubscriptionRegistry(db, realtime[1].physicalId),
    baseline: { dynamodbEndpoint: services.dynamodb, callbackUrl, region },
    sqs,
    queues: all.filter(([, r]) => r.type === 'AWS::SQS::Queue' && r.url).map(([logicalId, r]) => ({ logicalId, url: r.url! })),
    destroy: () => {
      dynamodb.destroy();
      sqs.destroy();
    },
  };
}

async function queueDepths(sqs: SQSClient, queues: { logicalId: string; url: string }[]) {
  const depths: Record<string, { visible: number; inFlight: number }> = {};
  for (const { logicalId, url } of queues) {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    depths[logicalId] = {
      visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    };
  }
  return depths;
}

function closedSummary(pool: SubscriberPool): Record<string, number> {
  const byCode: Record<string, number> = {};
  for (const s of pool.subscribers)
    if (s.closed) byCode[`${s.closed.code} ${s.closed.reason}`.trim()] = (byCode[`${s.closed.code} ${s.closed.reason}`.trim()] ?? 0) + 1;
  return byCode;
}

/**
 * Every subscriber is a socket here and another in the local cloud (which inherits this
 * process's limits). Raises the soft limit to the hard one when that is needed and allowed
 * (`prlimit` on this process, before the local cloud starts); otherwise fails, saying what to do.
 */
function ensureFileDescriptors(subscribers: number): { soft: number; hard: number; needed: number; raised: boolean } | undefined {
  const needed = subscribers + 1_000; // sockets, plus HTTP pools, DynamoDB Local, workers, files
  const limits = openFileLimits();
  if (!limits) return undefined;
  if (limits.soft >= needed) return { ...limits, needed, raised: false };
  if (limits.hard >= needed) {
    const target = Number.isFinite(limits.hard) ? limits.hard : needed * 2;
    spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${target}:${Number.isFinite(limits.hard) ? limits.hard : 'unlimited'}`]);
    const after = openFileLimits();
    if (after && after.soft >= needed) return { ...after, needed, raised: true };
  }
  throw new Error(
    `realtime-fanout: ${subscribers} subscribers need about ${needed} open files in this process and as many in the local cloud; ` +
      `the limit is ${limits.soft} (hard ${limits.hard}) and could not be raised. Run \`ulimit -n ${needed}\` (as root, or raise the hard limit: ` +
      `/etc/security/limits.conf, docker --ulimit nofile=${needed}) or set BENCH_REALTIME_THROUGHPUT_SUBSCRIBERS lower.`,
  );
}

function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const int = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
  const rawSizes = env.BENCH_REALTIME_LATENCY_SUBSCRIBERS;
  const latencySubscribers = (rawSizes === undefined ? '100,1000' : rawSizes)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const value = Number(s);
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`BENCH_REALTIME_LATENCY_SUBSCRIBERS: "${s}" is not a positive whole number`);
      return value;
    });
  return {
    latencySubscribers,
    latencyEvents: int('BENCH_REALTIME_LATENCY_EVENTS', 50, 1),
    spacingMs: int('BENCH_REALTIME_SPACING_MS', 30),
    burst: env.BENCH_REALTIME_BURST !== '0',
    sequential: env.BENCH_REALTIME_SEQUENTIAL !== '0',
    throughputSubscribers: int('BENCH_REALTIME_THROUGHPUT_SUBSCRIBERS', 10_000),
    throughputEvents: int('BENCH_REALTIME_THROUGHPUT_EVENTS', 5, 1),
    setupConcurrency: int('BENCH_REALTIME_SETUP_CONCURRENCY', 50, 1),
    // Each connection is also a ticket: a user at the cap needs 20 tickets, a third of a minute's budget.
    connectionsPerUser: int('BENCH_REALTIME_CONNECTIONS_PER_USER', DEFAULT_MAX_CONNECTIONS_PER_USER, 1, DEFAULT_MAX_CONNECTIONS_PER_USER),
    baseline: env.BENCH_REALTIME_BASELINE !== '0',
    stallSeconds: int('BENCH_REALTIME_STALL_SECONDS', 30, 1),
  };
}

function runSpecs(config: Config): RunSpec[] {
  const specs: RunSpec[] = [];
  for (const subscribers of config.latencySubscribers) {
    if (config.sequential) {
      specs.push({
        scenario: `latency-${subscribers}-sequential`,
        kind: 'sequential',
        subscribers,
        events: config.latencyEvents,
        spacingMs: config.spacingMs,
      });
    }
    specs.push({
      scenario: `latency-${subscribers}-spaced`,
      kind: 'spaced',
      subscribers,
      events: config.latencyEvents,
      spacingMs: config.spacingMs,
    });
    if (config.burst)
      specs.push({ scenario: `latency-${subscribers}-burst`, kind: 'burst', subscribers, events: config.latencyEvents, spacingMs: 0 });
  }
  if (config.throughputSubscribers > 0) {
    const subscribers = config.throughputSubscribers;
    specs.push({ scenario: `throughput-${subscribers}`, kind: 'throughput', subscribers, events: config.throughputEvents, spacingMs: 0 });
  }
  return specs;
}

/** One stage's setup figures, as `Report.setup` gets them. */
interface SetupStage {
  readonly subscribers: number;
  readonly topic: string;
  readonly connectSeconds: number;
  readonly subscribeSeconds: number;
  readonly untilLiveSeconds: number;
  readonly connectionsPerSecond: number;
  readonly cloudProblems: ReturnType<typeof problems>;
  readonly cloudProcessTree: ReturnType<typeof treeUsage>;
}

/** Collects the figures, prints the table and writes bench/results/realtime-fanout.json. */
class Report {
  readonly setupStages: SetupStage[] = [];
  readonly runs: RunResult[] = [];
  private readonly notes: string[] = [];
  private error?: string;
  private end_: Record<string, unknown> = {};

  constructor(
    private readonly config: Config,
    private readonly fileLimits: ReturnType<typeof ensureFileDescriptors>,
    private readonly startupSeconds: number,
  ) {}

  setup(stage: SetupStage): void {
    this.setupStages.push(stage);
    console.log(
      `  setup ${stage.subscribers} subscribers: connect ${stage.connectSeconds} s (${stage.connectionsPerSecond}/s), subscribe ${stage.subscribeSeconds} s, until live ${stage.untilLiveSeconds} s`,
    );
  }

  run(result: RunResult): void {
    if (this.runs.length === 0) console.log(`  ${HEADER}`);
    this.runs.push(result);
    console.log(`  ${row(result)}`);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  fail(error: unknown): void {
    this.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
  }

  end(figures: Record<string, unknown>): void {
    this.end_ = figures;
  }

  targets() {
    const targets: { name: string; target: string; value: string; met: boolean }[] = [];
    for (const r of this.runs.filter((r) => r.system === 'ours')) {
      if ((r.kind === 'spaced' || r.kind === 'sequential') && r.subscribers === 100) {
        const { p50, p99 } = r.latencyMs.writeToClient;
        targets.push({ name: `${r.scenario} write → client p50`, target: '< 100 ms', value: `${p50} ms`, met: p50 < 100 });
        targets.push({ name: `${r.scenario} write → client p99`, target: '< 300 ms', value: `${p99} ms`, met: p99 < 300 });
      }
      const d = r.delivered;
      const violations = d.missing + d.duplicates + d.outOfOrder;
      targets.push({
        name: `${r.scenario} exactly once, in seq order`,
        target: '0 violations',
        value: String(violations),
        met: violations === 0,
      });
    }
    return targets;
  }

  /** What went wrong under load, in one line each: errors in the cloud's output, lost frames, failed calls. */
  findings(): string[] {
    const out: string[] = [];
    for (const stage of this.setupStages) {
      for (const k of stage.cloudProblems?.kinds ?? []) out.push(`setup ${stage.subscribers}: ${k.count}× ${k.line}`);
    }
    for (const r of this.runs) {
      const name = `${r.system} ${r.scenario}`;
      const d = r.delivered;
      if (d.missing || d.duplicates)
        out.push(`${name}: ${d.missing} frames missing, ${d.duplicates} duplicated (${d.subscribersIncomplete} subscribers incomplete)`);
      if (r.system === 'ours' && d.outOfOrder) out.push(`${name}: ${d.outOfOrder} frames out of seq order`);
      for (const k of (r.cloudProblems as ReturnType<typeof problems>).kinds) out.push(`${name}: ${k.count}× ${k.line}`);
      for (const [line, count] of Object.entries((r.failures as Record<string, number> | undefined) ?? {}))
        out.push(`${name}: ${count} posts failed: ${line}`);
      for (const p of (r.producerProblems as string[]) ?? []) out.push(`${name}: ${p}`);
      if (r.warmupIncomplete) out.push(`${name}: warm-up incomplete ${JSON.stringify(r.warmupIncomplete)}`);
      const stall = (r.benchEventLoopDelayMs as { max: number }).max;
      if (stall > 1_000)
        out.push(
          `${name}: this process's event loop stalled up to ${Math.round(stall)} ms (receipt times late by as much${r.system === 'baseline' ? "; the baseline's own posts stalled with it" : ''})`,
        );
    }
    const end = this.end_ as {
      closedSubscribers?: Record<string, number>;
      queues?: Record<string, { visible: number; inFlight: number }>;
      localCloudFailures?: number;
      unexpectedFrames?: number;
      errorFrames?: string[];
    };
    for (const [how, count] of Object.entries(end.closedSubscribers ?? {}))
      out.push(`${count} subscriber connections closed by the server (${how})`);
    for (const [queue, depth] of Object.entries(end.queues ?? {}))
      if (depth.visible || depth.inFlight)
        out.push(`queue ${queue} holds ${depth.visible} messages (+${depth.inFlight} in flight) at the end`);
    if (end.localCloudFailures) out.push(`${end.localCloudFailures} records went to on-failure destinations (GET /failures)`);
    if (end.unexpectedFrames) out.push(`${end.unexpectedFrames} unexpected frames, e.g. ${end.errorFrames?.[0]}`);
    else if (end.errorFrames?.length) out.push(`error frames, e.g. ${end.errorFrames[0]}`);
    return out;
  }

  print(): void {
    const file = writeResult('realtime-fanout', {
      config: this.config,
      startupSeconds: round(this.startupSeconds, 1),
      fileDescriptors: this.fileLimits,
      setup: this.setupStages,
      runs: this.runs,
      targets: this.targets(),
      findings: this.findings(),
      ...this.end_,
      notes: [...NOTES, ...this.notes],
      ...(this.error ? { error: this.error } : {}),
    });
    const lines = [
      'realtime-fanout (this machine; latencies in ms: write = before the POST / baseline call, answer = its 202 / return)',
      `  ${HEADER}`,
      ...this.runs.map((r) => `  ${row(r)}`),
      '',
      ...this.setupStages.map(
        (s) =>
          `  setup ${String(s.subscribers).padStart(6)} subscribers: connect ${s.connectSeconds} s (${s.connectionsPerSecond}/s), subscribe ${s.subscribeSeconds} s, until live ${s.untilLiveSeconds} s`,
      ),
      '',
      ...this.targets().map(
        (t) => `  ${t.met ? 'met    ' : 'NOT MET'}  ${t.name.padEnd(48)} ${t.value.padStart(10)}  (target ${t.target})`,
      ),
      '',
      ...this.findings().map((f) => `  seen: ${f}`),
      ...NOTES.map((n) => `  note: ${n}`),
      ...this.notes.map((n) => `  note: ${n}`),
      ...(this.error ? [`  FAILED: ${this.error.split('\n')[0]}`] : []),
      `  written to ${file}`,
    ];
    console.log(lines.join('\n'));
  }
}

const NOTES = [
  'Runs: sequential = one event at a time, the next once the previous reached every subscriber (no queueing); spaced = open loop, one event every spacing ms (offered/s = subscribers × events per second: above capacity events queue and latency grows with the backlog); burst = all events at once; throughput = all events at once to the big topic. Each run starts with unmeasured warm-up events.',
  'The baseline (AWS simple-websockets-chat-app sendmessage: Scan + unbounded Promise.all of PostToConnection) runs in the benchmark process, called directly: no Lambda worker, no DynamoDB stream hop. That favours it. It has no topics, seq, replay or ordering: every connection gets every message.',
  'Ours: the producer writes the domain table (HTTP → authorizer → publish λ); the stream mapping polls every 50 ms; the fan-out λ numbers, logs and posts (hot topics: one FIFO job per shard, worker λs).',
  "RCU/msg: ours = the fan-out functions' ReadCapacityUnits / Deliveries EMF metrics (strongly consistent edge Queries); baseline = its Scan's ConsumedCapacity / posts (eventually consistent, ids only). DynamoDB Local computes the capacity.",
  'The baseline\'s "order" column counts frames arriving out of event-number order: it promises no order, so that is information, not a violation.',
  'Receipt times are taken in this process, which also parses every frame: its event-loop delay (loop p99) is part of every latency.',
];

const HEADER = [
  'system   scenario'.padEnd(38),
  'subs×events'.padStart(11),
  'offered/s'.padStart(9),
  'received'.padStart(13),
  'miss dup order',
  'write→client p50/p99'.padStart(21),
  'answer→client p50/p99'.padStart(21),
  'deliv/s'.padStart(7),
  'RCU/msg'.padStart(7),
  'loop p99',
].join('  ');

function row(r: RunResult): string {
  const d = r.delivered;
  const w = r.latencyMs.writeToClient;
  const a = r.latencyMs.answerToClient;
  return [
    `${r.system.padEnd(8)} ${r.scenario.padEnd(29)}`,
    `${r.subscribers}×${r.events}`.padStart(11),
    String(r.offeredDeliveriesPerSecond ?? '—').padStart(9),
    `${d.received}/${d.expected}`.padStart(13),
    `${String(d.missing).padStart(4)} ${String(d.duplicates).padStart(3)} ${String(d.outOfOrder).padStart(5)}`,
    `${w.p50} / ${w.p99}`.padStart(21),
    (a.count > 0 ? `${a.p50} / ${a.p99}` : '—').padStart(21),
    String(r.deliveriesPerSecond).padStart(7),
    String(r.rcuPerDelivery ?? '—').padStart(7),
    `${(r.benchEventLoopDelayMs as { p99: number } | undefined)?.p99 ?? '—'}`.padStart(8),
  ].join('  ');
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
