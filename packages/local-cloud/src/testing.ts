/**
 * Test helpers: synthesize a fixture CDK app in-process and run it in the local cloud on free
 * ports, collecting function output so a test can assert on it.
 */
import { App } from 'aws-cdk-lib';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Endpoints, LocalCloud, type LocalCloudOptions } from './cloud';

export type FixtureApp = (app: App) => void;

/** Synthesizes `define` into a fresh cloud assembly directory and returns its path. */
export function synthFixture(define: FixtureApp): string {
  const outdir = mkdtempSync(join(tmpdir(), 'fixture-cdk-out-'));
  const app = new App({ outdir });
  define(app);
  app.synth();
  return outdir;
}

export interface TestCloud {
  readonly cloud: LocalCloud;
  /** Every line functions printed, as `[functionName] text`. */
  readonly output: string[];
  /** Diagnostics and start-up messages. */
  readonly messages: string[];
  stop(): Promise<void>;
}

/** Starts the local cloud for `assemblyDir` on free ports, with its state in a temp directory. */
export async function startCloud(assemblyDir: string, overrides: Partial<LocalCloudOptions> = {}): Promise<TestCloud> {
  const output: string[] = [];
  const messages: string[] = [];
  const cloud = await LocalCloud.start({
    assemblyDir,
    httpPort: 0,
    wsPort: 0,
    controlPort: 0,
    tlsPort: 0,
    stateDir: mkdtempSync(join(tmpdir(), 'local-cloud-state-')),
    log: (line) => messages.push(line),
    functionLog: (fn, _fd, text) => output.push(`[${fn}] ${text}`),
    ...overrides,
  });
  return { cloud, output, messages, stop: () => cloud.stop() };
}

/**
 * What an AWS SDK v3 client needs to call one service of a running local cloud, by its key in
 * `endpoints.services` ('lambda', 'sqs', 'dynamodb', ...): `new SQSClient(clientConfig(cloud, 'sqs'))`.
 * The region is the cloud's; any credentials do. Takes a `LocalCloud` or a launched one (`launchLocalCloud`).
 */
export function clientConfig(cloud: LocalCloud | { readonly endpoints: Endpoints }, service: string) {
  const endpoint = cloud.endpoints.services[service];
  if (!endpoint) throw new Error(`the local cloud has no ${service} endpoint (it has ${Object.keys(cloud.endpoints.services).join(', ')})`);
  // A cloud launched in another process is known by its endpoints only: its region is the default one.
  const region = 'model' in cloud ? cloud.model.region : 'us-east-1';
  return { endpoint, region, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(probe: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** The error a call fails with (name, HTTP status, message); fails the test when the call succeeds. */
export async function rejection(promise: Promise<unknown>): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}
