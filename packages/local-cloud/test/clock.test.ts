/**
 * The virtual clock: timers in virtual time, advancing that fires them in order and settles in
 * between, and Lambda handlers that see it as `Date`; plus the Lambda Invoke API through the real
 * SDK client (synchronous, and asynchronous with retries on the virtual clock).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { VirtualClock } from '../src/clock';
import { clientConfig, startCloud, synthFixture, type TestCloud } from '../src/testing';

describe('VirtualClock', () => {
  it('fires timers in due order while advancing, and settles between them', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const clock = new VirtualClock({ start, factor: 0 });
    const fired: string[] = [];
    let work = 0;
    clock.register({ name: 'work', isIdle: () => work === 0 });
    clock.setTimer(start + 3_000, () => fired.push('c'));
    clock.setTimer(start + 1_000, () => {
      fired.push('a');
      // Work started by a timer finishes before the next timer fires.
      work++;
      setTimeout(() => {
        fired.push('a-done');
        work--;
      }, 50);
    });
    clock.setTimer(start + 2_000, () => fired.push(`b@${new Date(clock.now()).toISOString()}`));
    await clock.advance(2.5);
    expect(fired).toEqual(['a', 'a-done', 'b@2026-01-01T00:00:02.000Z']);
    expect(clock.now()).toBe(start + 2_500);
    await clock.advanceTo(start + 10_000);
    expect(fired.at(-1)).toBe('c');
    clock.stop();
  });

  it('stays still when frozen, runs at the given factor otherwise, and never goes back', async () => {
    const clock = new VirtualClock({ start: 0, factor: 0 });
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now()).toBe(0);
    clock.scale(1000);
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now()).toBeGreaterThanOrEqual(15_000);
    await expect(clock.advanceTo(0)).rejects.toThrow(/cannot move the clock back/);
    expect(() => clock.scale(-1)).toThrow(RangeError);
    clock.stop();
  });

  it('fires a timer in real time when the clock runs', async () => {
    const clock = new VirtualClock({ factor: 1000 });
    const fired = new Promise<number>((resolve) => clock.setTimeout(10_000, () => resolve(clock.now())));
    const before = Date.now();
    await fired;
    expect(Date.now() - before).toBeLessThan(1_000); // 10 virtual seconds at ×1000 ≈ 10 ms
    clock.stop();
  });
});

describe('virtual time in the local cloud', () => {
  const start = Date.parse('2030-06-01T12:00:00Z');
  let t: TestCloud;
  let client: LambdaClient;

  beforeAll(async () => {
    const dir = synthFixture((app) => {
      const stack = new Stack(app, 'ClockFixture');
      new lambda.Function(stack, 'Now', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline(
          `exports.handler = async () => ({ now: Date.now(), iso: new Date().toISOString(), str: typeof Date() });`,
        ),
      });
      new lambda.Function(stack, 'Flaky', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline(
          `exports.handler = async (e) => { console.log('attempt at ' + new Date().toISOString()); throw new Error('always fails'); };`,
        ),
      });
    });
    t = await startCloud(dir, { clockFactor: 0, clockStart: start });
    client = new LambdaClient(clientConfig(t.cloud, 'lambda'));
  });
  afterAll(async () => {
    client?.destroy();
    await t?.stop();
  });

  const fnName = (logicalPrefix: string) =>
    [...t.cloud.lambda.functions.values()].find((f) => f.spec.resource.logicalId.startsWith(logicalPrefix))!.spec.name;

  it('gives handlers the virtual time as Date, through the Lambda Invoke API', async () => {
    const res = await client.send(new InvokeCommand({ FunctionName: fnName('Now') }));
    expect(res.StatusCode).toBe(200);
    const body = JSON.parse(Buffer.from(res.Payload!).toString()) as { now: number; iso: string; str: string };
    expect(body.now).toBe(start);
    expect(body.iso).toBe('2030-06-01T12:00:00.000Z');
    expect(body.str).toBe('string');
  });

  it('moves handlers’ time with POST /clock/advance and reports it on GET /clock', async () => {
    const advanced = await fetch(`${t.cloud.endpoints.controlUrl}/clock/advance`, {
      method: 'POST',
      body: JSON.stringify({ seconds: 86_400 }),
    });
    expect(advanced.status).toBe(200);
    expect(await advanced.json()).toMatchObject({ now: '2030-06-02T12:00:00.000Z', factor: 0 });
    const res = await client.send(new InvokeCommand({ FunctionName: fnName('Now') }));
    expect(JSON.parse(Buffer.from(res.Payload!).toString()).iso).toBe('2030-06-02T12:00:00.000Z');
    const bad = await fetch(`${t.cloud.endpoints.controlUrl}/clock/advance`, { method: 'POST', body: JSON.stringify({ seconds: 'soon' }) });
    expect(bad.status).toBe(400);
  });

  it('reports function errors like Lambda and answers unknown functions with ResourceNotFoundException', async () => {
    const res = await client.send(new InvokeCommand({ FunctionName: fnName('Flaky') }));
    expect(res.FunctionError).toBe('Handled');
    expect(JSON.parse(Buffer.from(res.Payload!).toString())).toMatchObject({ errorType: 'Error', errorMessage: 'always fails' });
    await expect(client.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('retries a failed asynchronous invocation twice, 1 and 2 minutes apart on the virtual clock', async () => {
    const before = t.output.filter((l) => l.includes('attempt at')).length;
    const res = await client.send(
      new InvokeCommand({ FunctionName: fnName('Flaky'), InvocationType: 'Event', Payload: Buffer.from('{}') }),
    );
    expect(res.StatusCode).toBe(202);
    await t.cloud.clock.settle();
    const attempts = () =>
      t.output
        .filter((l) => l.includes('attempt at'))
        .slice(before)
        .map((l) => /attempt at (\S+)/.exec(l)![1]);
    expect(attempts()).toHaveLength(1);
    await t.cloud.clock.advance(10 * 60);
    const times = attempts().map((iso) => Date.parse(iso!));
    expect(times).toHaveLength(3);
    expect(times[1]! - times[0]!).toBe(60_000);
    expect(times[2]! - times[1]!).toBe(120_000);
  });
});
