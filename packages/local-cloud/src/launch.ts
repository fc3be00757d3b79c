/**
 * Starts the local cloud in a child process through a real entry point (the `local-cloud` command,
 * or a project's own start script built on `runCli`) and waits until it is ready: for end-to-end
 * tests, benchmarks and scripts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Endpoints } from './cloud';

/** tsx's loader, resolved from here: the app's directory need not have tsx installed. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** The `local-cloud` command's own entry point. */
const CLI_ENTRY = fileURLToPath(new URL('../bin/local-cloud.mjs', import.meta.url));

export interface LaunchOptions {
  /** The script to run (TypeScript is run with tsx). @default the `local-cloud` command */
  readonly entry?: string;
  /** Working directory of the process (where cdk.json is). @default process.cwd() */
  readonly cwd?: string;
  /** @default 120 s */
  readonly timeoutMs?: number;
}

export interface LaunchedCloud {
  readonly endpoints: Endpoints;
  /** Seconds from spawning the entry point to "ready". */
  readonly startupSeconds: number;
  /** The state directory (certificates, endpoints.json, admin.json). */
  readonly stateDir: string;
  /** PID of the local cloud process. */
  readonly pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  stop(): Promise<void>;
}

/** Launches the entry point on free ports (unless `args` say otherwise), state in a temp directory. */
export async function launchLocalCloud(args: string[] = [], options: LaunchOptions = {}): Promise<LaunchedCloud> {
  const { entry = CLI_ENTRY, timeoutMs = 120_000 } = options;
  const cwd = resolve(options.cwd ?? process.cwd());
  const stateDir = mkdtempSync(join(tmpdir(), 'local-cloud-'));
  const started = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      TSX,
      resolve(cwd, entry),
      '--http-port',
      '0',
      '--ws-port',
      '0',
      '--control-port',
      '0',
      '--tls-port',
      '0',
      '--state-dir',
      stateDir,
      ...args,
    ],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDB_LOCAL_TELEMETRY: '0', INIT_CWD: cwd } },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((r) => child.once('exit', (code, signal) => r(code ?? signal)));
  while (!/Local cloud ready/.test(output)) {
    if (child.exitCode !== null) throw new Error(`the local cloud exited with code ${child.exitCode}:\n${output}`);
    if (performance.now() - started > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`the local cloud was not ready after ${timeoutMs / 1000} s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const startupSeconds = (performance.now() - started) / 1000;
  const endpoints = JSON.parse(readFileSync(join(stateDir, 'endpoints.json'), 'utf8')) as Endpoints;
  return {
    endpoints,
    startupSeconds,
    stateDir,
    pid: child.pid!,
    exited,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}
