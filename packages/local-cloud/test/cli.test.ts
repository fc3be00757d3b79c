/**
 * The `local-cloud` command: it runs any synthesized cloud assembly (`--assembly`),
 * stops cleanly on Ctrl-C, and leaves no DynamoDB Local JVM behind even when it is killed.
 */
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { launchLocalCloud, type LaunchedCloud } from '../src/launch';
import { eventually, synthFixture } from '../src/testing';

const assembly = synthFixture((app) => {
  const stack = new Stack(app, 'Foreign');
  const fn = new lambda.Function(stack, 'Hello', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(`exports.handler = async () => ({ statusCode: 200, body: 'hello from a foreign app' });`),
  });
  new HttpApi(stack, 'Api').addRoutes({ path: '/hello', methods: [HttpMethod.GET], integration: new HttpLambdaIntegration('Hello', fn) });
});

const launched: LaunchedCloud[] = [];
afterAll(async () => {
  for (const c of launched) await c.stop().catch(() => {});
});

/** PIDs of the JVM serving DynamoDB Local on the port of `endpoint`. */
function javaPids(endpoint: string): number[] {
  const port = new URL(endpoint).port;
  try {
    return execFileSync('pgrep', ['-f', `^java .*DynamoDBLocal.jar .*-port ${port}( |$)`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('local-cloud --assembly DIR', () => {
  it('runs an app other than this project, stops on SIGINT with exit code 0 and takes Java with it', async () => {
    const cloud = await launchLocalCloud(['--assembly', assembly]);
    launched.push(cloud);
    const res = await fetch(`${cloud.endpoints.httpUrl}/hello`);
    expect(await res.text()).toBe('hello from a foreign app');
    expect(Object.keys(cloud.endpoints.resources)).toEqual(['Foreign']);
    const pids = javaPids(cloud.endpoints.services.dynamodb!);
    expect(pids).toHaveLength(1);

    process.kill(cloud.pid, 'SIGINT');
    expect(await cloud.exited).toBe(0);
    expect(javaPids(cloud.endpoints.services.dynamodb!)).toEqual([]);
  });

  it('leaves no orphaned Java process when it is killed with SIGKILL', async () => {
    const cloud = await launchLocalCloud(['--assembly', assembly]);
    launched.push(cloud);
    expect(javaPids(cloud.endpoints.services.dynamodb!)).toHaveLength(1);
    process.kill(cloud.pid, 'SIGKILL');
    expect(await cloud.exited).toBe('SIGKILL');
    await eventually(() => javaPids(cloud.endpoints.services.dynamodb!).length === 0, 10_000);
  });
});

describe('local-cloud in a CDK app folder', () => {
  const example = fileURLToPath(new URL('../examples/hello', import.meta.url));

  it("synthesizes cdk.json's app with its context and runs it: HTTP API, Lambda, DynamoDB and its stream", async () => {
    const cloud = await launchLocalCloud([], { cwd: example });
    launched.push(cloud);
    for (const id of ['a', 'b']) {
      const res = await fetch(`${cloud.endpoints.httpUrl}/notes/${id}`, { method: 'POST', body: 'text' });
      expect(res.status).toBe(201);
    }
    // The counter follows the table's stream: both writes are counted, once each.
    const stats = await eventually(async () => {
      const body = (await (await fetch(`${cloud.endpoints.httpUrl}/stats`)).json()) as { greeting: string; writes: number };
      return body.writes === 2 && body;
    }, 20_000);
    expect(stats).toEqual({ greeting: 'hello', writes: 2 });
    expect(Object.keys(cloud.endpoints.resources)).toEqual(['HelloLocalCloud']);
  });

  it('takes --app and -c instead of cdk.json', async () => {
    const cloud = await launchLocalCloud(['--app', 'node app.mjs', '-c', 'greeting=bonjour'], { cwd: example });
    launched.push(cloud);
    const body = (await (await fetch(`${cloud.endpoints.httpUrl}/stats`)).json()) as { greeting: string };
    expect(body.greeting).toBe('bonjour');
  });

  it('says what to do when there is no app', async () => {
    await expect(launchLocalCloud([], { cwd: tmpdir(), timeoutMs: 30_000 })).rejects.toThrow(
      /no CDK app: give --app CMD or --assembly DIR/,
    );
  });
});
