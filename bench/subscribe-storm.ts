/**
 * Subscribe storm (issue 11, finding 5): N connections subscribe to ONE topic at the same moment,
 * and the rate they complete at (subscribes per second, each one all the way to a live edge) is
 * compared with the code before the fix (`SUBSCRIBE_STORM_BASELINE`, a commit), in the same run.
 * Before, every subscribe also updated the topic's head (a subscriber count), one hot item per
 * topic whose updates conflicted with the other subscribes' go-live condition checks on that
 * same item. Two levels, chosen with `SUBSCRIBE_STORM_LEVELS` (default `registry,platform`):
 *
 * **registry**: the real `SubscriptionService` and `DynamoSubscriptionRegistry` on DynamoDB Local,
 * called directly in this process. The baseline is the `lambdas/shared` of the baseline commit,
 * extracted with `git archive` into bench/.baseline/<ref> and imported as it was. Posting frames is
 * a stub that answers `sent`; no API Gateway, Lambda or WebSocket (the local cloud's per-frame
 * overhead is measured by local-overhead). What is measured is the DynamoDB work of a subscribe
 * under contention, so it is capped by DynamoDB Local's per-request cost.
 *
 * **platform**: the whole platform as `npm start` runs it (`local/launch.ts` `launchPlatform`, on
 * free ports), once for the baseline commit and once for the current tree, one at a time (each is
 * stopped before the next starts), interleaved over `SUBSCRIBE_STORM_PLATFORM_ROUNDS` rounds. The
 * baseline is a git worktree of the commit in bench/.baseline/<ref>-tree with `node_modules`
 * symlinked to this repository's, so its own `local/launch.ts`, CDK app and handlers run, but on
 * the CURRENT local cloud (`@realtime/local-cloud` resolves through the symlink to this tree's
 * packages/local-cloud). Untimed: N WebSocket connections are opened, spread over ceil(N/20) users
 * (the current per-user cap is 20 open connections and 60 tickets a minute; the baseline has no
 * caps but gets the same spread), users signed up 4 at a time; then every connection sends a
 * ping and then a subscribe to a topic that does not parse, and waits for their answers, so the
 * ping and subscribe functions' environments are warm. Timed: every connection sends
 * `{"type":"subscribe","id":"s","topic":"feed:storm-<run>"}` in the same tick; subscribes/s = N /
 * (time until the last `subscribed` frame), with the CPU milliseconds per subscribe of the
 * clients, the local cloud's process and DynamoDB Local's JVM (from /proc). Then, to prove every
 * edge went live, the admin publishes one event to the topic (POST /api/v1/topics/{topic}/events)
 * and the time until every subscribed connection has its data frame is measured too. Failures
 * (error frames by code, timeouts, closed connections) are counted by kind.
 *
 * The registry level also counts the DynamoDB requests each implementation makes per subscribe,
 * by shape, then measures DynamoDB Local's CPU per request of each shape (warm), and prints the
 * ratio the two request mixes allow: how far fewer requests alone can take the rate.
 *
 * Environment: SUBSCRIBE_STORM_BASELINE (default c202fba, the commit before the fix);
 * SUBSCRIBE_STORM_LEVELS (default `registry,platform`). Registry level: SUBSCRIBE_STORM_N (default
 * 1000) subscribes per round, SUBSCRIBE_STORM_ROUNDS (default 3) rounds of each implementation,
 * interleaved. Platform level: SUBSCRIBE_STORM_PLATFORM_N (default 1000) connections,
 * SUBSCRIBE_STORM_PLATFORM_ROUNDS (default 1) launches of each implementation, interleaved,
 * SUBSCRIBE_STORM_PLATFORM_TIMEOUT_MS (default 180000) for each subscribe answer and for the event.
 *
 * Results go to bench/results/subscribe-storm.json: one object with a `registry` and a `platform`
 * section; a level not run this time keeps the section the file already had.
 */
import { execFileSync } from 'node:child_process';
import { Agent } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DynamoDbServer } from '@realtime/local-cloud';
import { ROOT, summarize, writeResult } from './harness';
import { type BenchSubscriber, now, SubscriberPool } from './realtime-clients';
import { PlatformClient } from '../test/support/realtime-client';
import type { LaunchedCloud } from '@realtime/local-cloud';

const N = Number(process.env.SUBSCRIBE_STORM_N ?? 1000);
const ROUNDS = Number(process.env.SUBSCRIBE_STORM_ROUNDS ?? 3);
const BASELINE = process.env.SUBSCRIBE_STORM_BASELINE ?? 'c202fba';
const LEVELS = (process.env.SUBSCRIBE_STORM_LEVELS ?? 'registry,platform').split(',').map((l) => l.trim());
const PLATFORM_N = Number(process.env.SUBSCRIBE_STORM_PLATFORM_N ?? 1000);
const PLATFORM_ROUNDS = Number(process.env.SUBSCRIBE_STORM_PLATFORM_ROUNDS ?? 1);
const PLATFORM_TIMEOUT_MS = Number(process.env.SUBSCRIBE_STORM_PLATFORM_TIMEOUT_MS ?? 180_000);
/** The current per-user cap on open connections (lambdas/shared/realtime/limits.ts). */
const CONNECTIONS_PER_USER = 20;
const TOPIC = 'feed:storm';
const WHO = { userId: 'bench', role: 'user' };

/** The two things a round needs from an implementation, whatever its version's signatures. */
interface Implementation {
  readonly name: string;
  subscribe(db: DynamoDBDocumentClient, table: string, connectionId: string, receivedAt: number): Promise<string>;
  publishOne(db: DynamoDBDocumentClient, table: string): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: modules of another commit, loaded by path; their types are that commit's
type AnyModule = any;

async function load(name: string, shared: string): Promise<Implementation> {
  const registryModule: AnyModule = await import(join(shared, 'realtime/dynamo-subscription-registry.ts'));
  const logModule: AnyModule = await import(join(shared, 'realtime/dynamo-topic-log.ts'));
  const serviceModule: AnyModule = await import(join(shared, 'realtime/subscriptions.ts'));
  const poster = { post: async () => 'sent' as const };
  return {
    name,
    async subscribe(db, table, connectionId, receivedAt) {
      const service = new serviceModule.SubscriptionService(
        new registryModule.DynamoSubscriptionRegistry(db, table),
        new logModule.DynamoTopicLog(db, table),
        poster,
      );
      // The baseline's request has no `receivedAt`; an extra field changes nothing there.
      return service.subscribe({ connectionId, who: WHO, id: 's', topic: TOPIC, receivedAt });
    },
    async publishOne(db, table) {
      const log = new logModule.DynamoTopicLog(db, table);
      const { entries } = await log.assign(TOPIC, [{ src: 'bench-1', event: 'tick', payload: {}, ts: new Date().toISOString() }]);
      await log.append(entries);
    },
  };
}

/** The baseline's `lambdas/shared`, extracted once into bench/.baseline/<ref> (node_modules resolve from the repository). */
function baselineShared(): string {
  const dir = join(ROOT, 'bench/.baseline', BASELINE);
  if (!existsSync(join(dir, 'lambdas/shared'))) {
    mkdirSync(dir, { recursive: true });
    const archive = execFileSync('git', ['archive', BASELINE, 'lambdas/shared'], { cwd: ROOT, maxBuffer: 64 * 2 ** 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  }
  return join(dir, 'lambdas/shared');
}

interface Round {
  readonly implementation: string;
  readonly seconds: number;
  readonly perSecond: number;
  readonly failed: number;
  readonly outcomes: Record<string, number>;
  /** DynamoDB requests per subscribe, by shape. */
  readonly requestsPerSubscribe: Record<string, number>;
  readonly latencyMs: ReturnType<typeof summarize>;
}

/** DynamoDB requests sent through the registry level's client, by shape (`TransactWriteItemsCommand(3)`: a transaction of 3 items). */
const requestCounts = new Map<string, number>();

function requestShape(commandName: string, input: unknown): string {
  const items = (input as { TransactItems?: unknown[] }).TransactItems;
  return items ? `${commandName}(${items.length})` : commandName;
}

function countRequests(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const shape = requestShape(String(context.commandName), args.input);
      requestCounts.set(shape, (requestCounts.get(shape) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchRequestCount' },
  );
}

async function round(impl: Implementation, raw: DynamoDBClient, db: DynamoDBDocumentClient, table: string): Promise<Round> {
  await raw.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  // N open connections (what $connect writes), and a topic that has had an event.
  const expiresAt = Math.floor(Date.now() / 1000) + 3 * 3600;
  const ids = Array.from({ length: N }, (_, i) => `conn-${i}`);
  for (let i = 0; i < ids.length; i += 25) {
    const items = ids
      .slice(i, i + 25)
      .map((id) => ({ PutRequest: { Item: { pk: `conn#${id}`, sk: 'meta', userId: `u${i}`, expiresAt } } }));
    await db.send(new BatchWriteCommand({ RequestItems: { [table]: items } }));
  }
  await impl.publishOne(db, table);

  const latencies: number[] = [];
  const outcomes: Record<string, number> = {};
  let failed = 0;
  requestCounts.clear();
  const started = performance.now();
  await Promise.all(
    ids.map(async (id, i) => {
      const t0 = performance.now();
      try {
        const outcome = await impl.subscribe(db, table, id, Date.now() + i);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      } catch (error) {
        failed++;
        const name = (error as Error).name;
        outcomes[`error:${name}`] = (outcomes[`error:${name}`] ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const requestsPerSubscribe = Object.fromEntries(
    [...requestCounts].sort(([a], [b]) => a.localeCompare(b)).map(([shape, count]) => [shape, Math.round((count / N) * 100) / 100]),
  );
  // Every subscribe that answered must have left a live edge (spot check of one).
  const edge = await db.send(new GetCommand({ TableName: table, Key: { pk: `edge#${TOPIC}#0`, sk: 'conn-0#s' }, ConsistentRead: true }));
  if (outcomes.subscribed && edge.Item && edge.Item.mode !== 'live') throw new Error(`${impl.name}: conn-0's edge is ${edge.Item.mode}`);
  return {
    implementation: impl.name,
    seconds: Math.round(seconds * 100) / 100,
    perSecond: Math.round((N - failed) / seconds),
    failed,
    outcomes,
    requestsPerSubscribe,
    latencyMs: summarize(latencies),
  };
}

export async function subscribeStorm(): Promise<void> {
  for (const level of LEVELS)
    if (level !== 'registry' && level !== 'platform') throw new Error(`SUBSCRIBE_STORM_LEVELS: unknown level "${level}"`);
  const previous = previousResult();
  const registry = LEVELS.includes('registry') ? await registryLevel() : previous.registry;
  const platform = LEVELS.includes('platform') ? await platformLevel() : previous.platform;
  const file = writeResult('subscribe-storm', { baseline: BASELINE, registry, platform });
  console.log(`subscribe-storm: written to ${file}`);
}

/** The sections the result file already has (an older file held the registry level's figures at its top). */
function previousResult(): { registry?: unknown; platform?: unknown } {
  try {
    const old = JSON.parse(readFileSync(join(ROOT, 'bench/results/subscribe-storm.json'), 'utf8')) as Record<string, unknown>;
    if (old.registry || old.platform) return { registry: old.registry, platform: old.platform };
    const { benchmark: _benchmark, ...registry } = old;
    return { registry };
  } catch {
    return {};
  }
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * DynamoDB Local's CPU (its JVM's, from /proc) per request of each shape, warm: 300 untimed, then
 * 2,000 in waves of 50, on items of the size a subscribe touches. Shapes (the client's command names): GetItemCommand,
 * UpdateItemCommand (conditional, on an existing item), PutItemCommand (new item), QueryCommand (a small
 * partition), TransactWriteItemsCommand(k) (an update of an existing item and k-1 new items).
 */
async function requestCosts(db: DynamoDBDocumentClient, shapes: readonly string[]): Promise<Record<string, number>> {
  const table = 'storm-request-costs';
  await db.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  const existing = (i: number) => ({ pk: `conn#c${i % 500}`, sk: 'meta' });
  for (let i = 0; i < 500; i += 25) {
    const items = Array.from({ length: 25 }, (_, k) => ({ PutRequest: { Item: { ...existing(i + k), userId: 'u', v: 1, n: 0 } } }));
    await db.send(new BatchWriteCommand({ RequestItems: { [table]: items } }));
  }
  let fresh = 0;
  const op = (shape: string): ((i: number) => Promise<unknown>) | undefined => {
    const tx = /^TransactWriteItemsCommand\((\d+)\)$/.exec(shape);
    if (tx) {
      const k = Number(tx[1]);
      return (i) =>
        db.send(
          new TransactWriteCommand({
            TransactItems: [
              { Update: { TableName: table, Key: existing(i), UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } } },
              ...Array.from({ length: k - 1 }, () => ({
                Put: {
                  TableName: table,
                  Item: { pk: `edge#${fresh++}`, sk: 'c#s', mode: 'pending', v: 1 },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              })),
            ],
          }),
        );
    }
    switch (shape) {
      case 'GetItemCommand':
        return (i) => db.send(new GetCommand({ TableName: table, Key: existing(i), ConsistentRead: true }));
      case 'UpdateItemCommand':
        return (i) =>
          db.send(
            new UpdateCommand({
              TableName: table,
              Key: existing(i),
              UpdateExpression: 'SET m = :m',
              ConditionExpression: 'v <= :v',
              ExpressionAttributeValues: { ':m': 'live', ':v': 5 },
            }),
          );
      case 'PutItemCommand':
        return () => db.send(new PutCommand({ TableName: table, Item: { pk: `sub#${fresh++}`, sk: 's', v: 1 } }));
      case 'QueryCommand':
        return (i) =>
          db.send(
            new QueryCommand({
              TableName: table,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': existing(i).pk },
            }),
          );
      default:
        return undefined;
    }
  };
  const costs: Record<string, number> = {};
  for (const shape of shapes) {
    const run = op(shape);
    if (!run) continue; // a shape this bench does not model: its cost is left out (NaN in the sum)
    for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => run(i + k)));
    const before = cpuSeconds().java;
    for (let i = 0; i < 2_000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => run(i + k)));
    costs[shape] = round2(((cpuSeconds().java - before) * 1000) / 2_000);
  }
  return costs;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function registryLevel(): Promise<Record<string, unknown>> {
  const baseline = await load(`baseline (${BASELINE})`, baselineShared());
  const current = await load('current', join(ROOT, 'lambdas/shared'));
  const server = await DynamoDbServer.start();
  // On AWS each subscribe is its own Lambda with its own sockets: do not queue them behind 50.
  const raw = new DynamoDBClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: N }) },
  });
  countRequests(raw);
  const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const rounds: Round[] = [];
  let costs: Record<string, number> = {};
  try {
    console.log(`subscribe-storm (registry): ${N} concurrent subscribes to one topic, ${ROUNDS} rounds each, interleaved`);
    for (let r = 0; r < ROUNDS; r++) {
      for (const impl of [baseline, current]) {
        const result = await round(impl, raw, db, `storm-${r}-${impl === current ? 'current' : 'baseline'}`);
        rounds.push(result);
        console.log(
          `  ${result.implementation.padEnd(20)} ${String(result.perSecond).padStart(6)}/s  ${result.seconds}s  failed ${result.failed}  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  ${JSON.stringify(result.outcomes)}  requests/subscribe ${JSON.stringify(result.requestsPerSubscribe)}`,
        );
      }
    }
    costs = await requestCosts(db, [...new Set(rounds.flatMap((r) => Object.keys(r.requestsPerSubscribe)))]);
  } finally {
    db.destroy();
    await server.stop();
  }
  const before = median(rounds.filter((r) => r.implementation !== 'current').map((r) => r.perSecond));
  const after = median(rounds.filter((r) => r.implementation === 'current').map((r) => r.perSecond));
  const speedup = Math.round((after / before) * 100) / 100;
  console.log(`  median: before ${before}/s, after ${after}/s: ${speedup}x (target >= 3x)`);
  // What the request mix alone allows: DynamoDB Local's CPU per subscribe, from each shape's cost.
  const jvmMs = (impl: string) => {
    const mix = rounds.find((r) => r.implementation.startsWith(impl))!.requestsPerSubscribe;
    return Object.entries(mix).reduce((sum, [shape, count]) => sum + count * (costs[shape] ?? Number.NaN), 0);
  };
  const ceiling = { before: round2(jvmMs('baseline')), after: round2(jvmMs('current')) };
  const ceilingRatio = round2(ceiling.before / ceiling.after);
  console.log(
    `  DynamoDB Local CPU per request (ms, warm): ${JSON.stringify(costs)}; per subscribe: before ${ceiling.before} ms, after ${ceiling.after} ms: the request mix allows at most ${ceilingRatio}x`,
  );
  return {
    measuredAt: new Date().toISOString(),
    requestCostMs: costs,
    jvmMsPerSubscribe: ceiling,
    requestMixCeiling: ceilingRatio,
    subscribes: N,
    rounds: ROUNDS,
    baseline: BASELINE,
    medianPerSecond: { before, after },
    speedup,
    target: 3,
    met: speedup >= 3,
    runs: rounds,
  };
}

/** A tree of the platform to launch, with its own `local/launch.ts`. */
interface PlatformTree {
  readonly name: string;
  launch(): Promise<LaunchedCloud>;
}

async function platformTree(name: string, root: string): Promise<PlatformTree> {
  const module: AnyModule = await import(join(root, 'local/launch.ts'));
  return { name, launch: () => module.launchPlatform([], 180_000) as Promise<LaunchedCloud> };
}

/**
 * A worktree of the baseline commit in bench/.baseline/<ref>-tree, created once, with
 * `node_modules` a symlink to this repository's (so `@realtime/local-cloud` is the current one).
 */
function baselineTree(): string {
  const dir = join(ROOT, 'bench/.baseline', `${BASELINE}-tree`);
  if (!existsSync(join(dir, 'local/launch.ts'))) {
    execFileSync('git', ['worktree', 'prune'], { cwd: ROOT });
    execFileSync('git', ['worktree', 'add', '--detach', dir, BASELINE], { cwd: ROOT, stdio: 'ignore' });
  }
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

interface PlatformRound {
  readonly implementation: string;
  readonly connections: number;
  readonly users: number;
  readonly startupSeconds: number;
  /** Untimed: sign-ups and N connections opened. */
  readonly setupSeconds: number;
  /** Untimed: a ping from every connection at once, every pong received. */
  readonly warmUpSeconds: number;
  /** From the subscribe frames' send to the last `subscribed` frame. */
  readonly subscribeSeconds: number;
  readonly perSecond: number;
  readonly subscribed: number;
  /** From the subscribe frames' send to the last connection's data frame. */
  readonly untilAllEventSeconds: number;
  /** From the publish request to the last connection's data frame. */
  readonly eventAfterPublishMs: number;
  readonly gotEvent: number;
  readonly failures: Record<string, number>;
  /** Frames of neither protocol during the warm-up (not counted as failures of the storm). */
  readonly unexpectedFramesInWarmUp: number;
  readonly subscribeLatencyMs: ReturnType<typeof summarize>;
  /** CPU milliseconds per subscribe during the storm: this process (local cloud, Lambda threads, clients) and DynamoDB Local's JVM. */
  readonly cpuMsPerSubscribe: { readonly clients: number; readonly cloud: number; readonly java: number };
  readonly errorSamples: string[];
}

/** The kind of a failed subscribe, from what BenchSubscriber rejected with. */
function failureKind(message: string): string {
  const refused = /^subscribe refused: (.*)$/s.exec(message);
  if (refused) {
    try {
      const frame = JSON.parse(refused[1]!) as { code?: unknown; error?: { code?: unknown } };
      return `error frame: ${String(frame.code ?? frame.error?.code ?? 'unknown')}`;
    } catch {
      return 'error frame: unparsed';
    }
  }
  if (/^no answer to subscribe/.test(message)) return 'timeout';
  const closed = /^connection closed \((\d+)\)/.exec(message);
  return closed ? `closed ${closed[1]}` : message.slice(0, 80);
}

/**
 * Untimed: every connection sends a ping at once and waits for its pong, then a subscribe to a
 * topic that does not parse and waits for its `bad_request`, so the environments of the ping and
 * the subscribe functions are started (the local cloud runs up to 8 per function) before the
 * storm, and the storm measures subscribes, not cold starts. The refused subscribe writes nothing.
 */
async function warmUp(subscribers: readonly BenchSubscriber[]): Promise<number> {
  const started = now();
  const each = (frame: unknown, answered: (text: string) => boolean) =>
    Promise.all(
      subscribers.map(
        (s) =>
          new Promise<void>((resolve) => {
            const onMessage = (data: unknown) => {
              if (answered(String(data))) done();
            };
            const done = () => {
              clearTimeout(timer);
              s.ws.off('message', onMessage);
              resolve();
            };
            const timer = setTimeout(done, 60_000);
            s.ws.on('message', onMessage);
            s.send(frame);
          }),
      ),
    );
  await each({ type: 'ping' }, (text) => text.includes('"type":"pong"'));
  await each({ type: 'subscribe', id: 'warm-up', topic: 'warm-up' }, (text) => text.includes('"type":"error"') && text.includes('warm-up'));
  return now() - started;
}

/**
 * CPU seconds used so far by this process (the clients), by the other Node.js processes (the
 * local cloud: its gateways and Lambda threads) and by DynamoDB Local's JVM. Linux only (zeros elsewhere).
 */
function cpuSeconds(): { clients: number; cloud: number; java: number } {
  const usage = process.cpuUsage();
  const totals = { clients: (usage.user + usage.system) / 1e6, cloud: 0, java: 0 };
  const tick = 100; // USER_HZ on Linux
  for (const pid of existsSync('/proc') ? readdirSync('/proc').filter((d) => /^\d+$/.test(d)) : []) {
    if (Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / tick;
      if (name === 'java') totals.java += seconds;
      else if (name === 'node' || name.startsWith('MainThread')) totals.cloud += seconds;
    } catch {
      // the process ended while listing
    }
  }
  return totals;
}

async function platformRound(tree: PlatformTree, r: number): Promise<PlatformRound> {
  const cloud = await tree.launch();
  let pool: SubscriberPool | undefined;
  try {
    const httpUrl = cloud.endpoints.httpUrl!;
    const wsUrl = cloud.endpoints.wsUrl!;
    const admin = await new PlatformClient(httpUrl, wsUrl).admin(cloud.stateDir);
    pool = new SubscriberPool({ httpUrl, wsUrl, concurrency: 20, connectionsPerUser: CONNECTIONS_PER_USER, stepTimeoutMs: 30_000 });
    const setupMs = await pool.grow(PLATFORM_N);
    const subscribers = pool.subscribers;
    const unexpected = () => subscribers.reduce((sum, s) => sum + s.unexpectedFrames, 0);
    const warmUpMs = await warmUp(subscribers);
    const unexpectedBeforeStorm = unexpected();
    const run = `${r}-${tree.name === 'current' ? 'current' : 'baseline'}-${Date.now().toString(36)}`;
    const topic = `feed:storm-${run}`;

    // Timed: every subscribe frame in one tick.
    const failures: Record<string, number> = {};
    const latencies: number[] = [];
    let lastSubscribed = Number.NaN;
    const cpuBefore = cpuSeconds();
    const started = now();
    const answers = subscribers.map((s) =>
      s.subscribe('s', topic, PLATFORM_TIMEOUT_MS).then(
        () => {
          const at = now();
          latencies.push(at - started);
          lastSubscribed = Number.isNaN(lastSubscribed) ? at : Math.max(lastSubscribed, at);
        },
        (error: Error) => {
          const kind = failureKind(error.message);
          failures[kind] = (failures[kind] ?? 0) + 1;
        },
      ),
    );
    await Promise.all(answers);
    const cpuAfter = cpuSeconds();
    const perSubscribe = (seconds: number) => Math.round((seconds * 1000 * 10) / subscribers.length) / 10;
    const subscribed = latencies.length;
    const subscribeSeconds = (lastSubscribed - started) / 1000;

    // Live: one event, and every subscribed connection must get it.
    const publishedAt = now();
    const res = await pool.client.publish(admin, topic, 'storm', { run, n: 0, sentAt: publishedAt });
    if (res.status !== 202) failures[`publish ${res.status}`] = 1;
    const deadline = publishedAt + PLATFORM_TIMEOUT_MS;
    while (res.status === 202 && pool.received(run) < subscribed && now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    // Frames of neither protocol, such as API Gateway's {"message": "Internal server error"} for a failed invocation.
    const unexpectedInStorm = unexpected() - unexpectedBeforeStorm;
    if (unexpectedInStorm > 0) failures['unexpected frame (e.g. "Internal server error")'] = unexpectedInStorm;
    const gotEvent = pool.received(run);
    if (gotEvent < subscribed) failures['no event (timeout)'] = subscribed - gotEvent;
    let lastEvent = Number.NaN;
    for (const s of subscribers) {
      const at = s.receipts.get(run)?.[0]?.at;
      if (at !== undefined) lastEvent = Number.isNaN(lastEvent) ? at : Math.max(lastEvent, at);
    }
    return {
      implementation: tree.name,
      connections: subscribers.length,
      users: Math.ceil(subscribers.length / CONNECTIONS_PER_USER),
      startupSeconds: Math.round(cloud.startupSeconds * 10) / 10,
      setupSeconds: Math.round(setupMs / 100) / 10,
      warmUpSeconds: Math.round(warmUpMs / 100) / 10,
      subscribeSeconds: Math.round(subscribeSeconds * 100) / 100,
      perSecond: Math.round(subscribed / subscribeSeconds),
      subscribed,
      untilAllEventSeconds: Math.round(((lastEvent - started) / 1000) * 100) / 100,
      eventAfterPublishMs: Math.round(lastEvent - publishedAt),
      gotEvent,
      failures,
      unexpectedFramesInWarmUp: unexpectedBeforeStorm,
      subscribeLatencyMs: summarize(latencies),
      cpuMsPerSubscribe: {
        clients: perSubscribe(cpuAfter.clients - cpuBefore.clients),
        cloud: perSubscribe(cpuAfter.cloud - cpuBefore.cloud),
        java: perSubscribe(cpuAfter.java - cpuBefore.java),
      },
      errorSamples: [...new Set(subscribers.flatMap((s) => s.errorFrames))].slice(0, 5),
    };
  } finally {
    pool?.closeAll();
    await cloud.stop();
  }
}

async function platformLevel(): Promise<Record<string, unknown>> {
  const baseline = await platformTree(`baseline (${BASELINE})`, baselineTree());
  const current = await platformTree('current', ROOT);
  console.log(
    `subscribe-storm (platform): ${PLATFORM_N} connections over ${Math.ceil(PLATFORM_N / CONNECTIONS_PER_USER)} users subscribe to one topic at once, ${PLATFORM_ROUNDS} launch(es) of each, interleaved`,
  );
  const rounds: PlatformRound[] = [];
  for (let r = 0; r < PLATFORM_ROUNDS; r++) {
    for (const tree of [baseline, current]) {
      const result = await platformRound(tree, r);
      rounds.push(result);
      console.log(
        `  ${result.implementation.padEnd(20)} ${String(result.perSecond).padStart(6)}/s  last subscribed ${result.subscribeSeconds} s  all got the event ${result.untilAllEventSeconds} s (${result.eventAfterPublishMs} ms after publish, ${result.gotEvent}/${result.subscribed})  p50 ${result.subscribeLatencyMs.p50} ms  p99 ${result.subscribeLatencyMs.p99} ms  CPU/subscribe: clients ${result.cpuMsPerSubscribe.clients} ms, local cloud ${result.cpuMsPerSubscribe.cloud} ms, DynamoDB Local ${result.cpuMsPerSubscribe.java} ms  failures ${JSON.stringify(result.failures)}  (unexpected frames in warm-up ${result.unexpectedFramesInWarmUp}, start-up ${result.startupSeconds} s, ${result.connections} sockets opened in ${result.setupSeconds} s, warm-up ${result.warmUpSeconds} s)`,
      );
    }
  }
  const before = median(rounds.filter((r) => r.implementation !== 'current').map((r) => r.perSecond));
  const after = median(rounds.filter((r) => r.implementation === 'current').map((r) => r.perSecond));
  const speedup = Math.round((after / before) * 100) / 100;
  console.log(`  median: before ${before}/s, after ${after}/s: ${speedup}x (target >= 3x)`);
  return {
    measuredAt: new Date().toISOString(),
    connections: PLATFORM_N,
    connectionsPerUser: CONNECTIONS_PER_USER,
    rounds: PLATFORM_ROUNDS,
    baseline: BASELINE,
    localCloud: 'both trees run on the current packages/local-cloud (node_modules symlinked)',
    medianPerSecond: { before, after },
    speedup,
    target: 3,
    met: speedup >= 3,
    runs: rounds,
  };
}
