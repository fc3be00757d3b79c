/**
 * The local cloud's Lambda runtime and HTTP API, through a fixture CDK app: routing, payload
 * format 2.0, authorizers, CORS, timeouts, crashes, concurrency, the runtime-provided AWS SDK,
 * cross-stack references, and the start-up report of what the template uses but is not emulated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, CfnResource, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { CorsHttpMethod, HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { startCloud, synthFixture, type TestCloud } from '../src/testing';

const inline = (code: string, extra: Partial<lambda.FunctionProps> = {}) => ({
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline(code),
  ...extra,
});

function fixture(app: App): void {
  const data = new Stack(app, 'FixtureData');
  const table = new dynamodb.Table(data, 'Items', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });

  const stack = new Stack(app, 'FixtureApi');
  const echo = new lambda.Function(
    stack,
    'Echo',
    inline(
      `exports.handler = async (event, context) => ({
      statusCode: 200,
      headers: { 'content-type': 'application/json', 'x-fn': context.functionName },
      body: JSON.stringify({ event, remaining: context.getRemainingTimeInMillis(), env: { TABLE: process.env.TABLE, REGION: process.env.AWS_REGION } }),
    });`,
      { environment: { TABLE: table.tableName } },
    ),
  );
  const plain = new lambda.Function(stack, 'Plain', inline(`exports.handler = async () => ({ hello: 'world' });`));
  const slow = new lambda.Function(
    stack,
    'Slow',
    inline(
      `exports.handler = async (e) => { await new Promise(r => setTimeout(r, Number(e.queryStringParameters?.ms ?? 2500))); return { statusCode: 200, body: 'late' }; };`,
      { timeout: Duration.seconds(1) },
    ),
  );
  const crash = new lambda.Function(stack, 'Crash', inline(`exports.handler = async () => { throw new TypeError('boom'); };`));
  const sleepy = new lambda.Function(
    stack,
    'Sleepy',
    inline(
      `exports.handler = async () => { await new Promise(r => setTimeout(r, 400)); return { statusCode: 200, body: String(process.pid) + ':' + require('worker_threads').threadId }; };`,
    ),
  );
  const sdk = new lambda.Function(
    stack,
    'Sdk',
    inline(`const { DynamoDBClient, ListTablesCommand } = require('@aws-sdk/client-dynamodb');
    const client = new DynamoDBClient({});
    exports.handler = async () => ({ statusCode: 200, body: JSON.stringify((await client.send(new ListTablesCommand({}))).TableNames) });`),
  );
  const authFn = new lambda.Function(
    stack,
    'Auth',
    inline(`let calls = 0;
    exports.handler = async (event) => { calls++; const token = event.headers.authorization;
      return { isAuthorized: token === 'Bearer good', context: { userId: 'u-1', calls } }; };`),
  );

  const api = new HttpApi(stack, 'Api', {
    corsPreflight: {
      allowOrigins: ['https://app.example.com'],
      allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
      allowHeaders: ['authorization', 'content-type'],
      maxAge: Duration.minutes(10),
    },
  });
  const authorizer = new HttpLambdaAuthorizer('Authorizer', authFn, {
    responseTypes: [HttpLambdaResponseType.SIMPLE],
    resultsCacheTtl: Duration.minutes(5),
  });
  const route = (path: string, fn: lambda.IFunction, methods = [HttpMethod.GET], auth?: HttpLambdaAuthorizer) =>
    api.addRoutes({
      path,
      methods,
      integration: new HttpLambdaIntegration(`${fn.node.id}${path.replace(/\W/g, '')}${methods.join('')}`, fn),
      authorizer: auth,
    });
  route('/items/{id}', echo, [HttpMethod.GET, HttpMethod.POST]);
  route('/items/special', plain);
  route('/files/{proxy+}', echo, [HttpMethod.ANY]);
  route('/slow', slow);
  route('/crash', crash);
  route('/sleepy', sleepy);
  route('/sdk', sdk);
  route('/private', echo, [HttpMethod.GET], authorizer);

  // Pieces the local cloud cannot run must be named at start-up.
  new CfnResource(stack, 'SomeTopic', { type: 'AWS::SNS::Topic' });
  new lambda.Function(stack, 'PythonFn', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(e, c): return 1'),
  });
}

let t: TestCloud;
let base: string;

beforeAll(async () => {
  t = await startCloud(synthFixture(fixture));
  base = t.cloud.endpoints.httpUrl!;
});
afterAll(async () => t?.stop());

const get = (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);

/** The payload 2.0 event as the Echo function sends it back: the fields the tests read. */
interface EchoedEvent {
  readonly version: string;
  readonly routeKey: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly queryStringParameters?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly cookies?: string[];
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
  /** `authorizer` only on routes with an authorizer (the tests read it only there). */
  readonly requestContext: { readonly authorizer: { readonly lambda: { readonly userId: string; readonly calls: number } } };
}

describe('HTTP API routing and payload format 2.0', () => {
  it('passes path parameters, query, headers, cookies and body to the integration', async () => {
    const res = await get('/items/42?a=1&a=2&b=x', {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: 'c1=v1; c2=v2', 'x-custom': 'yes' },
      body: JSON.stringify({ n: 1 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fn')).toMatch(/^FixtureApi-Echo/);
    expect(res.headers.get('apigw-requestid')).toBeTruthy();
    const { event } = (await res.json()) as { event: EchoedEvent };
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('POST /items/{id}');
    expect(event.rawPath).toBe('/items/42');
    expect(event.rawQueryString).toBe('a=1&a=2&b=x');
    expect(event.queryStringParameters).toEqual({ a: '1,2', b: 'x' });
    expect(event.pathParameters).toEqual({ id: '42' });
    expect(event.cookies).toEqual(['c1=v1', 'c2=v2']);
    expect(event.headers['x-custom']).toBe('yes');
    expect(event.body).toBe('{"n":1}');
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext).toMatchObject({
      http: { method: 'POST', path: '/items/42' },
      stage: '$default',
      routeKey: 'POST /items/{id}',
    });
  });

  it('prefers a literal route over a path variable, and matches greedy paths', async () => {
    expect(await (await get('/items/special')).json()).toEqual({ hello: 'world' });
    const greedy = (await (await get('/files/a/b/c.txt', { method: 'DELETE' })).json()) as { event: EchoedEvent };
    expect(greedy.event.pathParameters).toEqual({ proxy: 'a/b/c.txt' });
    expect(greedy.event.routeKey).toBe('ANY /files/{proxy+}');
  });

  it('answers 404 for unknown routes and methods', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/items/special', { method: 'DELETE' })).status).toBe(404);
    expect(await (await get('/nope')).json()).toEqual({ message: 'Not Found' });
  });

  it('encodes binary bodies in base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 255]);
    const res = await get('/items/1', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const { event } = (await res.json()) as { event: EchoedEvent };
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, 'base64')).toEqual(bytes);
  });
});

describe('Lambda runtime', () => {
  it('ends a handler past its timeout and reports it as an integration failure', async () => {
    const started = Date.now();
    const res = await get('/slow');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(t.output.join('')).toMatch(/Task timed out after 1\.00 seconds/);
    // The environment was replaced: a fast call afterwards works.
    expect((await get('/slow?ms=10')).status).toBe(200);
  });

  it('maps a thrown error to 500 without leaking it', async () => {
    const res = await get('/crash');
    expect(res.status).toBe(500);
    expect(await res.text()).not.toContain('boom');
  });

  it('serves concurrent invocations of one function from several environments', async () => {
    const round = () => Promise.all([1, 2, 3].map(() => get('/sleepy').then((r) => r.text())));
    await round(); // cold starts of the three environments are not what is measured
    const started = Date.now();
    const bodies = await round();
    // One environment would take 3 × 400 ms; three in parallel take one 400 ms sleep.
    expect(Date.now() - started).toBeLessThan(1150);
    expect(new Set(bodies).size).toBe(3); // three worker threads
  });

  it('gives code that leaves @aws-sdk out of its bundle the runtime SDK, pointed at local DynamoDB', async () => {
    const res = await get('/sdk');
    expect(res.status).toBe(200);
    const tables = (await res.json()) as string[];
    expect(tables.some((n) => n.startsWith('FixtureData-Items'))).toBe(true);
  });

  it('resolves cross-stack references (Fn::ImportValue) in function environments', async () => {
    const { event, env, remaining } = (await (await get('/items/1')).json()) as {
      event: unknown;
      env: Record<string, string>;
      remaining: number;
    };
    expect(event).toBeTruthy();
    expect(env.TABLE).toMatch(/^FixtureData-Items/);
    expect(env.REGION).toBe('us-east-1');
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(3000);
  });
});

describe('Lambda authorizer (simple responses, cached)', () => {
  it('refuses without the identity source (401) and with a bad token (403)', async () => {
    expect((await get('/private')).status).toBe(401);
    expect((await get('/private', { headers: { authorization: 'Bearer bad' } })).status).toBe(403);
  });

  it('passes the authorizer context to the route and caches the decision per token', async () => {
    const call = async () =>
      ((await (await get('/private', { headers: { authorization: 'Bearer good' } })).json()) as { event: EchoedEvent }).event;
    const first = await call();
    const second = await call();
    expect(first.requestContext.authorizer.lambda.userId).toBe('u-1');
    expect(second.requestContext.authorizer.lambda.calls).toBe(first.requestContext.authorizer.lambda.calls);
  });
});

describe('CORS', () => {
  it('answers preflight for allowed origins and decorates responses', async () => {
    const pre = await get('/items/1', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-max-age')).toBe('600');
    const res = await get('/items/special', { headers: { origin: 'https://app.example.com' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const other = await get('/items/special', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('start-up report', () => {
  it('names the template pieces the local cloud does not emulate', () => {
    const report = t.messages.join('\n');
    expect(report).toMatch(/unsupported\s+FixtureApi\/SomeTopic: AWS::SNS::Topic is not emulated/);
    expect(report).toMatch(/unsupported\s+FixtureApi\/PythonFn\w*\/Runtime: runtime "python3.12" cannot run locally/);
    expect(report).toMatch(/no local effect: .*AWS::IAM::Role/);
  });
});
