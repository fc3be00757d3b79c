/**
 * How the local Lambda service schedules invocations over execution environments: one at a time
 * per environment, more environments up to the limit, and past it the hand-over of a waiting
 * invocation to a busy environment (taken back when another frees up first, put back in line when
 * its environment ends), with the invocation's timeout counted from when it starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { synthFixture } from '../src/testing';
import { loadAssembly } from '../src/assembly';
import { CloudModel } from '../src/model';
import { LambdaService, type InvokeResult, type LocalFunction } from '../src/lambda/service';

/** Sleeps `ms`, then answers which environment ran it, when it started and how much time it had. */
const SLEEPER = `
const environment = Math.random().toString(36).slice(2);
let running = 0;
exports.handler = async (event, context) => {
  running++;
  const startedAt = Date.now();
  const remainingAtStart = context.getRemainingTimeInMillis();
  const overlapping = running > 1;
  await new Promise((r) => setTimeout(r, event.ms));
  running--;
  return { environment, startedAt, remainingAtStart, overlapping, tag: event.tag };
};`;

let lambda: LambdaService;
let sleeper: LocalFunction;
const output: string[] = [];

beforeAll(() => {
  const assembly = synthFixture((app) => {
    const stack = new Stack(app, 'EnvironmentsFixture');
    new LambdaFunction(stack, 'Sleeper', {
      runtime: Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: Code.fromInline(SLEEPER),
      timeout: Duration.seconds(2),
    });
  });
  const model = new CloudModel(loadAssembly(assembly));
  lambda = new LambdaService(model, {
    baseEnvironment: () => ({}),
    maxWorkersPerFunction: 2,
    log: (_fn, _fd, text) => output.push(text),
  });
  sleeper = [...lambda.functions.values()][0]!;
});

afterAll(async () => {
  await lambda?.stop();
});

interface Answer {
  environment: string;
  startedAt: number;
  remainingAtStart: number;
  overlapping: boolean;
  tag: string;
}

async function call(ms: number, tag: string): Promise<{ answer: Answer; finishedAt: number }> {
  const result: InvokeResult = await sleeper.invoke({ ms, tag });
  if (!result.ok) throw new Error(`${tag}: ${result.error.errorType} ${result.error.errorMessage}`);
  return { answer: JSON.parse(result.payload) as Answer, finishedAt: Date.now() };
}

describe('execution environments past the limit', () => {
  it('runs one invocation at a time per environment, each environment in order of arrival', async () => {
    await Promise.all([call(10, 'warm-1'), call(10, 'warm-2')]);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => call(30, `r${i}`)));
    expect(results.some((r) => r.answer.overlapping)).toBe(false);
    for (const environment of new Set(results.map((r) => r.answer.environment))) {
      const ran = results.filter((r) => r.answer.environment === environment);
      const byStart = [...ran].sort((a, b) => a.answer.startedAt - b.answer.startedAt);
      expect(byStart.map((r) => r.answer.tag)).toEqual(ran.map((r) => r.answer.tag));
    }
    expect(new Set(results.map((r) => r.answer.environment)).size).toBe(2);
    expect(sleeper.environmentCount).toBe(2);
  });

  it('takes a waiting invocation back from a busy environment when another one frees up first', async () => {
    const slow = call(1_500, 'slow');
    const fast = call(50, 'fast');
    // Both environments are busy: `waiting` may be handed to either, the slow one included.
    const waiting = call(50, 'waiting');
    const [s, f, w] = await Promise.all([slow, fast, waiting]);
    // Had it stayed behind the slow invocation it would have finished after it.
    expect(w.finishedAt).toBeLessThan(s.finishedAt);
    expect(w.answer.environment).toBe(f.answer.environment);
  });

  it('does not leave a handed-over invocation behind a long one while later arrivals keep the other environment busy', async () => {
    const slow = call(1_500, 'slow');
    await new Promise((r) => setTimeout(r, 50)); // the slow one holds the first environment
    // 100 short invocations keep the queue non-empty for ~2 s. The second of them is handed to the
    // slow environment (the first busy one): it must be taken back long before the slow one ends.
    const started = Date.now();
    const shorts = Array.from({ length: 100 }, (_, i) => call(20, `short-${i}`));
    const [s, ...rest] = await Promise.all([slow, ...shorts]);
    const firstFive = rest.slice(0, 5).map((r) => r.finishedAt - started);
    expect(Math.max(...firstFive)).toBeLessThan(700);
    expect(s.finishedAt - started).toBeGreaterThan(1_300);
  });

  it("counts a handed-over invocation's timeout from when it starts, not from when it was handed over", async () => {
    const first = call(800, 'first');
    const second = call(800, 'second');
    const third = call(10, 'third'); // waits ~800 ms for an environment
    const [, , t] = await Promise.all([first, second, third]);
    expect(t.answer.remainingAtStart).toBeGreaterThan(1_800);
  });

  it('puts a handed-over invocation back in line when its environment times out, and runs it elsewhere', async () => {
    const doomed = sleeper.invoke({ ms: 5_000, tag: 'doomed' });
    const busy = call(600, 'busy');
    const next = [call(20, 'next-1'), call(20, 'next-2')];
    const timedOut = await doomed;
    expect(timedOut.ok).toBe(false);
    expect(!timedOut.ok && timedOut.error.errorType).toBe('Sandbox.Timedout');
    const done = await Promise.all([busy, ...next]);
    expect(done.map((d) => d.answer.tag)).toEqual(['busy', 'next-1', 'next-2']);
    expect(output.join('')).toMatch(/Task timed out after 2\.00 seconds/);
  });
});
