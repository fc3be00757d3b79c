/**
 * The local cloud's own overhead, measured against this project's app started as `npm start`
 * starts it (separate process, so client and server do not share an event loop):
 *  - start-up time to ready;
 *  - GET /api/v1/health with 32 concurrent keep-alive clients: p50/p99 and requests per second,
 *    three measured runs, each followed by the same load on a bare Node.js server (the machine's
 *    floor at that moment); the run with the median p50 is the result, all three are recorded;
 *  - a WebSocket frame → `$default` Lambda → error frame round trip, one at a time: p50/p99. A
 *    connection may send 240 frames a minute (docs/protocol.md, "Limits"), so the round trips
 *    run on a fresh connection every 200; each frame also pays the limit's counter write.
 * Targets on a 2-core machine: HTTP p50 ≤ 5 ms and ≥ 1,000 req/s; WebSocket p50 ≤ 10 ms.
 *
 * The HTTP load comes from `wrk` when it is installed (`apt-get install wrk`): a Node.js load
 * generator spends about half of a 2-core machine on itself, which the server then lacks. Without
 * wrk, a Node.js keep-alive client is used and the result says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { launchPlatform } from '../local/launch';
import { summarize, writeResult } from './harness';

const HTTP_CONCURRENCY = 32;
const HTTP_SECONDS = 10;
/**
 * Load before the measured run: every execution environment's cold start, V8's and DynamoDB
 * Local's JIT compilers and the start-up's own stream traffic settle in it. Steady state is what
 * is measured.
 */
const WARM_UP_SECONDS = 5;
/** Measured runs; this VM's speed drifts within minutes, so one run can mislead either way. */
const HTTP_RUNS = 3;
const FLOOR_SECONDS = 5;
const WS_ROUND_TRIPS = 2_000;
/** Round trips per connection: under the per-connection frame limit (240 a minute). */
const WS_ROUND_TRIPS_PER_CONNECTION = 200;

export async function localOverhead(): Promise<void> {
  const cloud = await launchPlatform();
  try {
    const httpUrl = new URL('/api/v1/health', cloud.endpoints.httpUrl);
    // Each measured run is followed by the same load on a bare Node.js server answering the same
    // JSON: the floor of this machine at that moment, against which the run is compared.
    const runs = await withBareServer(async (floorUrl) => {
      await measureHttp(httpUrl, WARM_UP_SECONDS); // cold starts and JITs are not what is measured
      await measureHttp(floorUrl, 2);
      const measured: Array<{ ours: HttpFigures; floor: HttpFigures; share: number }> = [];
      for (let i = 0; i < HTTP_RUNS; i++) {
        const ours = await measureHttp(httpUrl, HTTP_SECONDS);
        const floor = await measureHttp(floorUrl, FLOOR_SECONDS);
        measured.push({ ours, floor, share: Math.round((ours.requestsPerSecond / floor.requestsPerSecond) * 100) / 100 });
      }
      return measured;
    });
    const median = [...runs].sort((x, y) => x.ours.latencyMs.p50 - y.ours.latencyMs.p50)[Math.floor(runs.length / 2)]!;
    const http = median.ours;
    const floor = median.floor;

    const ws: number[] = [];
    for (let first = true; ws.length < WS_ROUND_TRIPS; first = false) {
      const ticket = await ticketFor(cloud.endpoints.httpUrl!, cloud.stateDir);
      const count = Math.min(WS_ROUND_TRIPS_PER_CONNECTION, WS_ROUND_TRIPS - ws.length);
      ws.push(...(await runWebSocketRoundTrips(`${cloud.endpoints.wsUrl!}?ticket=${encodeURIComponent(ticket)}`, count, first ? 100 : 0)));
    }

    const figures = {
      startupSeconds: Math.round(cloud.startupSeconds * 10) / 10,
      httpHealth: { concurrency: HTTP_CONCURRENCY, seconds: HTTP_SECONDS, warmUpSeconds: WARM_UP_SECONDS, runs: HTTP_RUNS, ...http },
      bareNodeServerReference: floor,
      // This VM's speed varies by a factor of two from hour to hour (the bare server's throughput
      // with it); the share of the floor's throughput is what stays comparable between runs.
      httpShareOfFloor: median.share,
      httpRuns: runs.map((r) => ({
        p50: r.ours.latencyMs.p50,
        requestsPerSecond: r.ours.requestsPerSecond,
        floorRequestsPerSecond: r.floor.requestsPerSecond,
        shareOfFloor: r.share,
      })),
      webSocketDefaultRoundTrip: { roundTrips: WS_ROUND_TRIPS, latencyMs: summarize(ws) },
      targets: { httpP50Ms: 5, httpRequestsPerSecond: 1000, webSocketP50Ms: 10 },
    };
    const file = writeResult('local-overhead', figures);
    const h = figures.httpHealth;
    const w = figures.webSocketDefaultRoundTrip.latencyMs;
    console.log(
      [
        'local-overhead (this machine)',
        `  start-up to ready             ${figures.startupSeconds} s`,
        `  GET /api/v1/health x${HTTP_CONCURRENCY}      (median of ${HTTP_RUNS} runs; p50s ${runs.map((r) => r.ours.latencyMs.p50).join(', ')} ms)`,
        `                                p50 ${h.latencyMs.p50} ms  p99 ${h.latencyMs.p99} ms  ${h.requestsPerSecond} req/s  (${h.errors} errors, ${h.loadGenerator})   target p50 ≤ 5 ms, ≥ 1000 req/s`,
        `  (bare Node.js server, same load  p50 ${floor.latencyMs.p50} ms  ${floor.requestsPerSecond} req/s: the machine's floor; ours is ${figures.httpShareOfFloor} of it)`,
        `  WS frame → $default → error   p50 ${w.p50} ms  p99 ${w.p99} ms   target p50 ≤ 10 ms`,
        `  written to ${file}`,
      ].join('\n'),
    );
  } finally {
    await cloud.stop();
  }
}

/** Runs `measure` against a bare Node.js HTTP server in its own process. */
async function withBareServer<T>(measure: (url: URL) => Promise<T>): Promise<T> {
  const server = spawn(
    process.execPath,
    [
      '-e',
      `require('http').createServer((q, s) => { q.resume(); const b = JSON.stringify({ status: 'ok', time: new Date().toISOString() }); s.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) }); s.end(b); }).listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve) => server.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  try {
    return await measure(new URL(`http://127.0.0.1:${port}/`));
  } finally {
    server.kill();
  }
}

interface HttpFigures {
  readonly loadGenerator: string;
  readonly requestsPerSecond: number;
  readonly errors: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max?: number };
}

function hasWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

/** `seconds` of load with 32 concurrent keep-alive clients: wrk when installed, else Node.js. */
async function measureHttp(url: URL, seconds: number): Promise<HttpFigures> {
  return hasWrk() ? runWrk(url, seconds) : runNodeHttpLoad(url, seconds);
}

/** wrk with one thread (the other core serves); parses its latency distribution. */
function runWrk(url: URL, seconds: number): HttpFigures {
  const r = spawnSync('wrk', ['-t1', `-c${HTTP_CONCURRENCY}`, `-d${seconds}s`, '--latency', url.href], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const ms = (label: string) => {
    const m = new RegExp(`${label}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) throw new Error(`cannot read the ${label}th percentile from wrk:\n${out}`);
    const factor = m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1;
    return Math.round(Number(m[1]) * factor * 100) / 100;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(out)?.[1] ?? 0);
  return {
    loadGenerator: 'wrk -t1',
    requestsPerSecond: Math.round(rps),
    errors,
    latencyMs: { p50: ms('50'), p90: ms('90'), p99: ms('99') },
  };
}

async function runNodeHttpLoad(url: URL, seconds: number): Promise<HttpFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
  const http = await runHttpLoad(url, agent, HTTP_CONCURRENCY, seconds);
  agent.destroy();
  return {
    loadGenerator: 'node http client',
    requestsPerSecond: Math.round(http.count / seconds),
    errors: http.errors,
    latencyMs: summarize(http.latencies),
  };
}

async function runHttpLoad(url: URL, agent: Agent, concurrency: number, seconds: number) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - start);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  return { latencies, count: latencies.length, errors };
}

/** A WebSocket ticket for the local admin that npm start created (login, then POST /realtime/ticket). */
async function ticketFor(httpUrl: string, stateDir: string): Promise<string> {
  const admin = JSON.parse(readFileSync(join(stateDir, 'admin.json'), 'utf8')) as { email: string; password: string };
  const post = async (path: string, body: unknown, token?: string) => {
    const res = await fetch(`${httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, string>;
  };
  const { accessToken } = await post('/api/v1/auth/login', admin);
  return (await post('/api/v1/realtime/ticket', {}, accessToken)).ticket!;
}

async function runWebSocketRoundTrips(wsUrl: string, count: number, warmUp: number): Promise<number[]> {
  const socket = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket upgrade refused: ${res.statusCode}`)));
  });
  const latencies: number[] = [];
  const roundTrip = () =>
    new Promise<number>((resolve, reject) => {
      const start = performance.now();
      socket.once('message', (data) => {
        const frame = JSON.parse(data.toString()) as { type?: string; code?: string };
        if (frame.type !== 'error' || frame.code !== 'unknown_type') reject(new Error(`unexpected frame ${data.toString()}`));
        else resolve(performance.now() - start);
      });
      socket.send(JSON.stringify({ type: 'bench-unknown' }));
    });
  for (let i = 0; i < warmUp; i++) await roundTrip();
  for (let i = 0; i < count; i++) latencies.push(await roundTrip());
  socket.close();
  return latencies;
}
