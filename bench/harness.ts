/** Shared pieces of the benchmarks: start the local cloud as `npm start` does, percentiles, results. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Endpoints } from '../local/cloud';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export interface RunningCloud {
  readonly endpoints: Endpoints;
  /** Seconds from spawning `npm start`'s entry point to "ready", as it printed them. */
  readonly startupSeconds: number;
  stop(): Promise<void>;
}

/** Starts the local cloud in its own process (as `npm start` does) on free ports. */
export async function startLocalCloud(extraArgs: string[] = []): Promise<RunningCloud> {
  const stateDir = mkdtempSync(join(tmpdir(), 'bench-local-cloud-'));
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'local/cli.ts'), '--http-port', '0', '--ws-port', '0', '--control-port', '0', '--tls-port', '0', '--state-dir', stateDir, ...extraArgs],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' } },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const endpointsFile = join(stateDir, 'endpoints.json');
  while (!/Local cloud ready/.test(output)) {
    if (child.exitCode !== null) throw new Error(`local cloud exited (${child.exitCode}):\n${output}`);
    if (performance.now() - started > 120_000) throw new Error(`local cloud not ready after 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const startupSeconds = (performance.now() - started) / 1000;
  if (!existsSync(endpointsFile)) throw new Error('endpoints.json missing');
  const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as Endpoints;
  return {
    endpoints,
    startupSeconds,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(latenciesMs: number[]): { count: number; p50: number; p90: number; p99: number; max: number } {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

/** Writes the figures with the machine they were measured on. */
export function writeResult(name: string, figures: Record<string, unknown>): string {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.json`);
  const result = {
    benchmark: name,
    measuredAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    ...figures,
  };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
