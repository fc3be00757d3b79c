/**
 * The Lambda runtime's clocks: an init that overruns Lambda's 10 s init limit is retried by Lambda
 * within the first invocation, under the function's own timeout, so it does not fail the
 * invocation by itself; and time an invocation spends queued for an execution environment is not
 * its execution time. On a small, loaded machine (8 environments of one function initializing at
 * once on 2 cores) a cold start past 10 s was answered `Runtime.InitTimeout`, which the HTTP API
 * turned into 500s for every request that had started a new environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack, type App } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { startCloud, synthFixture, type TestCloud } from '../src/testing';
import { INIT_TIMEOUT_MS } from '../src/lambda/service';

/** Module scope that takes `ms` without using a CPU (and stays interruptible by terminate). */
const slowInit = (ms: number) => `const cell = new Int32Array(new SharedArrayBuffer(4));
const initStart = performance.now();
while (performance.now() - initStart < ${ms}) Atomics.wait(cell, 0, 0, 50);
exports.handler = async (event, context) => ({ remaining: context.getRemainingTimeInMillis() });`;

function fixture(app: App): void {
  const stack = new Stack(app, 'LambdaInit');
  const fn = (id: string, code: string, timeout: number, extra: Partial<lambda.FunctionProps> = {}) =>
    new lambda.Function(stack, id, {
      functionName: id,
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(code),
      timeout: Duration.seconds(timeout),
      ...extra,
    });
  // Init 11.5 s: past the init limit by 1.5 s, well within the function's 6 s timeout after it.
  fn('SlowInit', slowInit(INIT_TIMEOUT_MS + 1_500), 6);
  // Init 30 s: past the init limit and then past the function's 2 s timeout.
  fn('StuckInit', slowInit(30_000), 2);
  // One environment, 1.5 s per invocation, 2 s timeout: the third of three waits 3 s in the queue.
  fn('Serial', `exports.handler = async () => { await new Promise((r) => setTimeout(r, 1500)); return 'done'; };`, 2, {
    reservedConcurrentExecutions: 1,
  });
}

let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startCloud(synthFixture(fixture));
});

afterAll(async () => {
  await cloud?.stop();
});

describe('Lambda init and timeouts', () => {
  it('lets an init past 10 s go on within the invocation, under the function timeout, as Lambda retries it', async () => {
    const started = performance.now();
    const [slow, stuck] = await Promise.all([cloud.cloud.lambda.invoke('SlowInit', {}), cloud.cloud.lambda.invoke('StuckInit', {})]);
    const elapsed = performance.now() - started;

    // The init took 11.5 s: 1.5 s of it counted against the 6 s timeout, 4.5 s left for the handler.
    expect(slow.ok, JSON.stringify(slow)).toBe(true);
    const { remaining } = JSON.parse((slow as { payload: string }).payload) as { remaining: number };
    expect(remaining).toBeGreaterThan(2_500);
    expect(remaining).toBeLessThanOrEqual(4_600);

    // 10 s of init, then the 2 s timeout: a timeout, not an init failure at 10 s.
    expect(stuck.ok).toBe(false);
    if (!stuck.ok) {
      expect(stuck.error.errorType).toBe('Sandbox.Timedout');
      expect(stuck.error.errorMessage).toMatch(/Task timed out after 2\.00 seconds/);
      expect(stuck.timedOut).toBe(true);
    }
    expect(elapsed).toBeGreaterThanOrEqual(INIT_TIMEOUT_MS + 1_900);
    expect(elapsed).toBeLessThan(25_000);

    // The environment that finished its init is reused: no second cold start.
    expect(cloud.cloud.lambda.get('SlowInit')!.environmentCount).toBe(1);
    const again = await cloud.cloud.lambda.invoke('SlowInit', {});
    expect(again.ok).toBe(true);
  }, 40_000);

  it('starts an invocation’s timeout when it runs, not while it waits for a free environment', async () => {
    await cloud.cloud.lambda.invoke('Serial', {}); // warm: the init is not what is measured
    const results = await Promise.all([1, 2, 3].map(() => cloud.cloud.lambda.invoke('Serial', {})));
    expect(results.map((r) => (r.ok ? r.payload : r.error.errorType))).toEqual(['"done"', '"done"', '"done"']);
  }, 30_000);
});
