/**
 * The local cloud's API Gateway WebSocket API, end to end: a CDK app synthesized here, run by the
 * real local cloud (Lambda workers, TLS, @connections), driven with the `ws` client and the real
 * `ApiGatewayManagementApiClient`.
 *
 * Two clouds share one DynamoDB Local: `main` (authorizer, $connect/$disconnect/$default and
 * custom routes, default limits) and `short` (another API shape, 1.5 s idle timeout, 4 s maximum
 * connection duration).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, type App } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import WebSocket from 'ws';
import { DynamoDbServer } from '../src/dynamodb/server';
import { freePort } from '../src/net';
import { eventually, startCloud, synthFixture, type TestCloud } from '../src/testing';

// ------------------------------------------------------------------------------------------------
// Fixture handlers (inline code is CommonJS, as Lambda runs ZipFile code)

const AUTHORIZER = `
exports.handler = async (event) => {
  const ticket = (event.queryStringParameters || {}).ticket;
  console.log('AUTH ' + JSON.stringify({ ticket, type: event.type, methodArn: event.methodArn,
    routeKey: event.requestContext.routeKey, eventType: event.requestContext.eventType,
    connectionId: event.requestContext.connectionId, hasHeaders: !!event.headers }));
  if (ticket === 'nope') throw new Error('Unauthorized');
  if (ticket === 'boom') throw new Error('authorizer exploded');
  const effect = ticket === 'deny' ? 'Deny' : 'Allow';
  // A wildcard over the API's stages, as authorizers commonly return.
  const resource = event.methodArn.split('/')[0] + '/*';
  return {
    principalId: 'user-' + ticket,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    context: { user: ticket, plan: 'gold' },
  };
};`;

const CONNECT = `
exports.handler = async (event) => {
  const c = event.requestContext;
  console.log('CONNECT ' + JSON.stringify({ connectionId: c.connectionId, eventType: c.eventType, routeKey: c.routeKey,
    authorizer: c.authorizer, query: event.queryStringParameters }));
  const refuse = (event.queryStringParameters || {}).refuse;
  if (refuse) return { statusCode: Number(refuse), body: 'refused by $connect' };
  return { statusCode: 200 };
};`;

const DISCONNECT = `
exports.handler = async (event) => {
  const c = event.requestContext;
  console.log('DISCONNECT ' + JSON.stringify({ connectionId: c.connectionId, code: c.disconnectStatusCode,
    reason: c.disconnectReason, eventType: c.eventType, routeKey: c.routeKey, user: c.authorizer && c.authorizer.user }));
  return { statusCode: 200 };
};`;

/** Two-way routes: answers with what it saw. */
const REFLECT = `
exports.handler = async (event) => {
  const c = event.requestContext;
  if (c.routeKey === 'fail') throw new Error('route handler failed');
  return { statusCode: 200, body: JSON.stringify({ route: c.routeKey, body: event.body, isBase64Encoded: event.isBase64Encoded,
    connectionId: c.connectionId, eventType: c.eventType, authorizer: c.authorizer, domainName: c.domainName,
    stage: c.stage, messageId: c.messageId, stageVariables: event.stageVariables }) };
};`;

/** One-way routes that answer through the @connections API, the two ways code builds its client. */
const POST_BACK = `
const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
exports.handler = async (event) => {
  const c = event.requestContext;
  const client = c.routeKey === 'envpost'
    ? new ApiGatewayManagementApiClient({})
    : new ApiGatewayManagementApiClient({ endpoint: 'https://' + c.domainName + '/' + c.stage });
  const data = JSON.stringify({ via: c.routeKey, connectionId: c.connectionId, authorizer: c.authorizer, domainName: c.domainName });
  await client.send(new PostToConnectionCommand({ ConnectionId: c.connectionId, Data: data }));
  return { statusCode: 200 };
};`;

function inline(stack: Stack, id: string, code: string): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(code),
  });
}

function mainFixture(app: App): void {
  const stack = new Stack(app, 'WsMain');
  const reflect = inline(stack, 'Reflect', REFLECT);
  const postBack = inline(stack, 'PostBack', POST_BACK);
  const api = new WebSocketApi(stack, 'Api', {
    routeSelectionExpression: '$request.body.type',
    connectRouteOptions: {
      integration: new WebSocketLambdaIntegration('ConnectIntegration', inline(stack, 'OnConnect', CONNECT)),
      authorizer: new WebSocketLambdaAuthorizer('Authorizer', inline(stack, 'Authorize', AUTHORIZER), {
        identitySource: ['route.request.querystring.ticket'],
      }),
    },
    disconnectRouteOptions: {
      integration: new WebSocketLambdaIntegration('DisconnectIntegration', inline(stack, 'OnDisconnect', DISCONNECT)),
    },
    defaultRouteOptions: { integration: new WebSocketLambdaIntegration('DefaultIntegration', reflect), returnResponse: true },
  });
  api.addRoute('echo', { integration: new WebSocketLambdaIntegration('EchoIntegration', reflect), returnResponse: true });
  api.addRoute('fail', { integration: new WebSocketLambdaIntegration('FailIntegration', reflect), returnResponse: true });
  api.addRoute('whoami', { integration: new WebSocketLambdaIntegration('WhoamiIntegration', postBack) });
  api.addRoute('envpost', { integration: new WebSocketLambdaIntegration('EnvpostIntegration', postBack) });
  new WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'dev', autoDeploy: true });
}

/** No $connect route, no $default route, a nested selection expression, stage variables. */
function shortFixture(app: App): void {
  const stack = new Stack(app, 'WsShort');
  const api = new WebSocketApi(stack, 'Api', {
    routeSelectionExpression: '${request.body.meta.action}',
    disconnectRouteOptions: {
      integration: new WebSocketLambdaIntegration('DisconnectIntegration', inline(stack, 'OnDisconnect', DISCONNECT)),
    },
  });
  api.addRoute('echo', {
    integration: new WebSocketLambdaIntegration('EchoIntegration', inline(stack, 'Reflect', REFLECT)),
    returnResponse: true,
  });
  new WebSocketStage(stack, 'Stage', { webSocketApi: api, stageName: 'live', autoDeploy: true, stageVariables: { flavour: 'vanilla' } });
}

// ------------------------------------------------------------------------------------------------
// Client helpers

class Client {
  readonly messages: Array<{ data: string; binary: boolean }> = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, binary) => {
      this.messages.push({ data: binary ? (data as Buffer).toString('base64') : data.toString(), binary });
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const ws = new WebSocket(url, options);
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    });
  }

  /** The next message not consumed yet, parsed as JSON. */
  async next<T = Record<string, unknown>>(timeoutMs = 8_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length === 0) {
      if (Date.now() > deadline) throw new Error('no message within timeout');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return JSON.parse(this.messages.shift()!.data) as T;
  }

  async request<T = Record<string, unknown>>(message: unknown): Promise<T> {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
    return this.next<T>();
  }
}

/** Opens a connection that the server is expected to refuse; resolves with status and body. */
function refusal(url: string, options: WebSocket.ClientOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('connection was accepted'));
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        ws.terminate();
      });
    });
  });
}

interface Logged {
  connectionId: string;
  [key: string]: unknown;
}

/** Function log lines `KIND {json}` printed by the fixture handlers. */
function logged(cloud: TestCloud, kind: 'AUTH' | 'CONNECT' | 'DISCONNECT'): Logged[] {
  const found: Logged[] = [];
  for (const chunk of cloud.output) {
    for (const line of chunk.split('\n')) {
      const match = new RegExp(`\\b${kind} (\\{.*\\})`).exec(line);
      if (match) found.push(JSON.parse(match[1]!) as Logged);
    }
  }
  return found;
}

function disconnectOf(cloud: TestCloud, connectionId: string): Promise<Logged> {
  return eventually(() => logged(cloud, 'DISCONNECT').find((d) => d.connectionId === connectionId)) as Promise<Logged>;
}

// ------------------------------------------------------------------------------------------------

const IDLE_MS = 1_500;
const MAX_MS = 4_000;

let dynamodb: DynamoDbServer;
let main: TestCloud;
let short: TestCloud;
let mainStateDir: string;
let wsUrl: string;
let shortUrl: string;
/** `{httpBase}/dev`, what functions get as AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI. */
let managementEndpoint: string;

function managementClient(endpoint = managementEndpoint, extra: Record<string, unknown> = {}): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    ...extra,
  });
}

beforeAll(async () => {
  // DynamoDB Local's JVM is the slowest part: with a port chosen up front, start() spawns it at
  // once, and it boots while the (synchronous) synthesis runs.
  const starting = DynamoDbServer.start({ port: await freePort() });
  const mainDir = synthFixture(mainFixture);
  const shortDir = synthFixture(shortFixture);
  dynamodb = await starting;
  mainStateDir = mkdtempSync(join(tmpdir(), 'ws-test-state-'));
  [main, short] = await Promise.all([
    startCloud(mainDir, { dynamodb, stateDir: mainStateDir }),
    startCloud(shortDir, { dynamodb, websocket: { idleTimeoutMs: IDLE_MS, maxConnectionMs: MAX_MS } }),
  ]);
  // A cold start must not eat the short API's idle time: start one environment per function now.
  await Promise.all([...short.cloud.lambda.functions.values()].map((f) => f.invoke({ warmUp: true })));
  wsUrl = main.cloud.endpoints.wsUrl!;
  shortUrl = short.cloud.endpoints.wsUrl!;
  managementEndpoint = main.cloud.endpoints.services.apigatewaymanagementapi!;
});

afterAll(async () => {
  await main?.stop();
  await short?.stop();
  await dynamodb?.stop();
});

describe('WebSocket API (local cloud)', () => {
  it('serves the stages from the template and reports nothing unsupported about this API', () => {
    expect(wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/dev$/);
    expect(shortUrl).toMatch(/\/live$/);
    expect(managementEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/dev$/);
    const unsupported = main.cloud.model.diagnostics.unsupportedItems.filter((d) => d.where.startsWith('WsMain/Api'));
    expect(unsupported).toEqual([]);
  });

  it('connects through the authorizer and $connect, answers on $default (two-way), and runs $disconnect on close', async () => {
    const client = await Client.open(`${wsUrl}?ticket=alice`, { headers: { 'User-Agent': 'ws-test' } });
    const reply = await client.request<Record<string, unknown>>('hello, not json');
    expect(reply).toMatchObject({ route: '$default', body: 'hello, not json', isBase64Encoded: false, eventType: 'MESSAGE', stage: 'dev' });
    const connectionId = reply.connectionId as string;
    expect(connectionId).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(reply.messageId).toMatch(/=$/);
    expect(reply.authorizer).toMatchObject({ user: 'alice', plan: 'gold', principalId: 'user-alice' });

    const auth = logged(main, 'AUTH').find((a) => a.connectionId === connectionId)!;
    expect(auth).toMatchObject({ ticket: 'alice', type: 'REQUEST', routeKey: '$connect', eventType: 'CONNECT', hasHeaders: true });
    expect(auth.methodArn).toBe(
      `arn:aws:execute-api:us-east-1:000000000000:${main.cloud.model.ofType('AWS::ApiGatewayV2::Api')[0]!.ref}/dev/$connect`,
    );
    const connect = logged(main, 'CONNECT').find((c) => c.connectionId === connectionId)!;
    expect(connect).toMatchObject({ eventType: 'CONNECT', routeKey: '$connect', query: { ticket: 'alice' } });
    expect(connect.authorizer).toMatchObject({ user: 'alice', principalId: 'user-alice' });

    client.ws.close(1000, 'bye');
    expect((await client.closed).code).toBe(1000);
    const disconnect = await disconnectOf(main, connectionId);
    expect(disconnect).toMatchObject({ code: 1000, reason: 'bye', eventType: 'DISCONNECT', routeKey: '$disconnect', user: 'alice' });
    await new Promise((r) => setTimeout(r, 300));
    expect(logged(main, 'DISCONNECT').filter((d) => d.connectionId === connectionId)).toHaveLength(1);
  });

  it('selects routes by $request.body.type, falling back to $default', async () => {
    const client = await Client.open(`${wsUrl}?ticket=bob`);
    expect(await client.request({ type: 'echo', n: 1 })).toMatchObject({ route: 'echo', body: '{"type":"echo","n":1}' });
    expect(await client.request({ type: 'no-such-route' })).toMatchObject({ route: '$default' });
    expect(await client.request({ kind: 'echo' })).toMatchObject({ route: '$default' });
    client.ws.send(Buffer.from([0xff, 0x00, 0x01]), { binary: true });
    expect(await client.next()).toMatchObject({
      route: '$default',
      isBase64Encoded: true,
      body: Buffer.from([0xff, 0x00, 0x01]).toString('base64'),
    });
    // A failing integration answers with API Gateway's error frame.
    const failure = await client.request<Record<string, string>>({ type: 'fail' });
    expect(failure.message).toBe('Internal server error');
    expect(failure.connectionId).toMatch(/=$/);
    expect(failure.requestId).toMatch(/=$/);
    client.ws.close();
  });

  it('refuses connections the authorizer does not allow: 401 without identity, 403 on Deny, 401 on "Unauthorized", 500 on errors', async () => {
    const before = logged(main, 'AUTH').length;
    expect(await refusal(wsUrl)).toEqual({ status: 401, body: '{"message":"Unauthorized"}' });
    expect(await refusal(`${wsUrl}?ticket=`)).toMatchObject({ status: 401 });
    // The identity source was missing: the authorizer was not even invoked.
    expect(logged(main, 'AUTH').length).toBe(before);

    expect(await refusal(`${wsUrl}?ticket=deny`)).toEqual({ status: 403, body: '{"message":"Forbidden"}' });
    expect(await refusal(`${wsUrl}?ticket=nope`)).toMatchObject({ status: 401 });
    expect(await refusal(`${wsUrl}?ticket=boom`)).toMatchObject({ status: 500 });
    expect(logged(main, 'AUTH').map((a) => a.ticket)).toEqual(expect.arrayContaining(['deny', 'nope', 'boom']));
    // Refused connections never reach $connect.
    expect(logged(main, 'CONNECT').map((c) => (c.query as Record<string, string>).ticket)).not.toContain('deny');
  });

  it('refuses the upgrade with the status a $connect integration returns, and 403 on an unknown stage', async () => {
    expect(await refusal(`${wsUrl}?ticket=carol&refuse=500`)).toMatchObject({ status: 500 });
    expect(await refusal(`${wsUrl}?ticket=carol&refuse=429`)).toMatchObject({ status: 429, body: 'refused by $connect' });
    expect(await refusal(wsUrl.replace(/\/dev$/, '/prod?ticket=carol'))).toEqual({ status: 403, body: '{"message":"Forbidden"}' });
    const refusedIds = logged(main, 'CONNECT')
      .filter((c) => (c.query as Record<string, string>).refuse)
      .map((c) => c.connectionId);
    expect(refusedIds).toHaveLength(2);
    // A refused connection never existed: no $disconnect for it.
    await new Promise((r) => setTimeout(r, 300));
    expect(logged(main, 'DISCONNECT').filter((d) => refusedIds.includes(d.connectionId))).toEqual([]);
  });

  it('lets a handler post back through https://${domainName}/${stage} and through the env-configured client', async () => {
    const client = await Client.open(`${wsUrl}?ticket=dave`);
    client.ws.send(JSON.stringify({ type: 'whoami' }));
    const viaDomain = await client.next<{ domainName: string; connectionId: string }>();
    expect(viaDomain).toMatchObject({ via: 'whoami', authorizer: { user: 'dave' } });
    expect(viaDomain.domainName).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(viaDomain.domainName).not.toBe(new URL(wsUrl).host); // the TLS port, not the ws:// one

    client.ws.send(JSON.stringify({ type: 'envpost' }));
    expect(await client.next()).toMatchObject({ via: 'envpost', connectionId: viaDomain.connectionId });

    // wss:// on the same TLS port, trusting the local CA.
    const ca = readFileSync(join(mainStateDir, 'tls', 'ca.pem'), 'utf8');
    const secure = await Client.open(`wss://${viaDomain.domainName}/dev?ticket=erin`, { ca });
    expect(await secure.request({ type: 'echo' })).toMatchObject({ route: 'echo', authorizer: { user: 'erin' } });
    secure.ws.close();
    client.ws.close();
  });

  it('serves GET, POST and DELETE @connections to the real SDK client, and GoneException for unknown ids', async () => {
    const client = await Client.open(`${wsUrl}?ticket=frank`, { headers: { 'User-Agent': 'frank-agent/1.0' } });
    const { connectionId } = await client.request<{ connectionId: string }>('who am i');
    const sdk = managementClient();

    const info = await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt!.getTime());
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'frank-agent/1.0' });

    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"pushed":1}' }));
    expect(await client.next()).toEqual({ pushed: 1 });
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: new Uint8Array([0xc3, 0x28]) }));
    await eventually(() => client.messages.length > 0);
    expect(client.messages.shift()).toEqual({ data: Buffer.from([0xc3, 0x28]).toString('base64'), binary: true });

    // Without the stage prefix, and over https with the local CA.
    const noStage = managementClient(managementEndpoint.replace(/\/dev$/, ''));
    expect((await noStage.send(new GetConnectionCommand({ ConnectionId: connectionId }))).Identity?.UserAgent).toBe('frank-agent/1.0');
    const reply = await client.request<{ domainName: string }>({ type: 'echo' });
    const ca = readFileSync(join(mainStateDir, 'tls', 'ca.pem'), 'utf8');
    const overTls = managementClient(`https://${reply.domainName}/dev`, { requestHandler: { httpsAgent: new Agent({ ca }) } });
    await overTls.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '"over tls"' }));
    expect(await client.next()).toBe('over tls');

    await sdk.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    expect((await client.closed).code).toBe(1000);
    await disconnectOf(main, connectionId);

    for (const command of [
      new GetConnectionCommand({ ConnectionId: connectionId }),
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'late' }),
      new DeleteConnectionCommand({ ConnectionId: 'L0SM9cOFvHcCIhw=' }),
    ]) {
      const error = await sdk.send(command as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GoneException);
      expect((error as GoneException).$metadata.httpStatusCode).toBe(410);
    }
  });

  it('closes with 1009 on a single frame over 32 KB, and runs $disconnect', async () => {
    const client = await Client.open(`${wsUrl}?ticket=gina`);
    const { connectionId } = await client.request<{ connectionId: string }>('small is fine');
    client.ws.send('x'.repeat(33 * 1024));
    expect((await client.closed).code).toBe(1009);
    expect(await disconnectOf(main, connectionId)).toMatchObject({ code: 1009, reason: 'Frame too big' });
  });

  it('closes with 1009 on a 40 KB message sent as one frame', async () => {
    const client = await Client.open(`${wsUrl}?ticket=ivan`);
    const { connectionId } = await client.request<{ connectionId: string }>('small is fine');
    client.ws.send(JSON.stringify({ type: 'echo', pad: 'x'.repeat(40 * 1024) }));
    expect((await client.closed).code).toBe(1009);
    expect(await disconnectOf(main, connectionId)).toMatchObject({ code: 1009, reason: 'Frame too big' });
  });

  it('delivers a 40 KB message sent in two 20 KB frames to its route, answers it in frames of at most 32 KB, and stays open', async () => {
    const client = await Client.open(`${wsUrl}?ticket=judy`);
    // What the client receives, frame by frame: ws reassembles fragments, so look at its receiver.
    const frames: number[] = [];
    const receiver = (client.ws as unknown as { _receiver: { haveLength(cb: unknown): void; _payloadLength: number } })._receiver;
    const haveLength = receiver.haveLength;
    receiver.haveLength = function (this: typeof receiver, cb: unknown) {
      frames.push(this._payloadLength);
      haveLength.call(this, cb);
    };
    const message = 'y'.repeat(40 * 1024); // not JSON: $default
    client.ws.send(message.slice(0, 20 * 1024), { fin: false });
    client.ws.send(message.slice(20 * 1024), { fin: true });
    const reply = await client.next<Record<string, unknown>>();
    expect(reply).toMatchObject({ route: '$default', isBase64Encoded: false });
    expect(reply.body).toBe(message);
    // The reply (over 40 KB) came back in several frames, none over 32 KB.
    expect(frames.length).toBeGreaterThan(1);
    expect(Math.max(...frames)).toBeLessThanOrEqual(32 * 1024);

    // Route selection applies to fragmented messages too, and the connection is still open.
    const json = JSON.stringify({ type: 'echo', pad: 'z'.repeat(60 * 1024) });
    for (let i = 0; i < json.length; i += 30 * 1024) client.ws.send(json.slice(i, i + 30 * 1024), { fin: i + 30 * 1024 >= json.length });
    expect(await client.next()).toMatchObject({ route: 'echo', body: json });
    expect(await client.request({ type: 'echo', n: 2 })).toMatchObject({ route: 'echo' });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });

  it('closes with 1009 on a message over 128 KB even in frames of at most 32 KB, and runs $disconnect', async () => {
    const client = await Client.open(`${wsUrl}?ticket=kurt`);
    client.ws.on('error', () => {}); // the server may close while the client is still writing
    const { connectionId } = await client.request<{ connectionId: string }>('small is fine');
    const part = 'w'.repeat(26 * 1024);
    for (let i = 0; i < 5; i++) client.ws.send(part, { fin: i === 4 }); // 130 KB in 26 KB frames
    expect((await client.closed).code).toBe(1009);
    expect(await disconnectOf(main, connectionId)).toMatchObject({ code: 1009, reason: 'Message too big' });
    expect(logged(main, 'DISCONNECT').filter((d) => d.connectionId === connectionId)).toHaveLength(1);
  });

  it('posts @connections messages up to 128 KB (in frames of at most 32 KB) and refuses larger ones with 413 PayloadTooLargeException', async () => {
    const client = await Client.open(`${wsUrl}?ticket=lena`);
    const { connectionId } = await client.request<{ connectionId: string }>('who am i');
    const sdk = managementClient();
    const big = JSON.stringify({ pad: 'p'.repeat(120 * 1024) });
    await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: big }));
    expect(await client.next()).toEqual(JSON.parse(big));

    const tooBig = 'q'.repeat(128 * 1024 + 1);
    const error = await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: tooBig })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'PayloadTooLargeException', $metadata: { httpStatusCode: 413 } });
    // The refusal does not touch the connection.
    expect(await client.request({ type: 'echo' })).toMatchObject({ route: 'echo', connectionId });
    client.ws.close();
  });

  it('runs $disconnect when the client just drops', async () => {
    const client = await Client.open(`${wsUrl}?ticket=hank`);
    const { connectionId } = await client.request<{ connectionId: string }>('about to vanish');
    client.ws.terminate();
    expect(await disconnectOf(main, connectionId)).toMatchObject({ code: 1006, eventType: 'DISCONNECT' });
    const error = await managementClient()
      .send(new GetConnectionCommand({ ConnectionId: connectionId }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GoneException);
  });
});

describe('WebSocket API limits and shapes (second API: 1.5 s idle, 4 s max)', () => {
  it('connects without a $connect route, selects by a nested path, and answers Forbidden without $default', async () => {
    const client = await Client.open(shortUrl);
    const reply = await client.request<Record<string, unknown>>({ meta: { action: 'echo' } });
    expect(reply).toMatchObject({ route: 'echo', stage: 'live', stageVariables: { flavour: 'vanilla' } });
    expect(reply.authorizer).toBeUndefined();
    const forbidden = await client.request<Record<string, string>>({ meta: { action: 'nothing' } });
    expect(forbidden).toEqual({ message: 'Forbidden', connectionId: reply.connectionId, requestId: expect.stringMatching(/=$/) });
    expect(client.messages).toEqual([]);
    client.ws.close();
  });

  it('closes an idle connection with 1001 (pings do not count as activity) and runs $disconnect', async () => {
    const opened = Date.now();
    const client = await Client.open(shortUrl);
    const { connectionId } = await client.request<{ connectionId: string }>({ meta: { action: 'echo' } });
    const pinger = setInterval(() => client.ws.readyState === WebSocket.OPEN && client.ws.ping(), 200);
    const closed = await client.closed;
    clearInterval(pinger);
    expect(closed).toEqual({ code: 1001, reason: 'Going away' });
    // Closed by the idle timer, well before the maximum duration would have closed it.
    expect(Date.now() - opened).toBeLessThan(MAX_MS - 500);
    expect(await disconnectOf(short, connectionId)).toMatchObject({ code: 1001, reason: 'Going away' });
  });

  it('closes a busy connection with 1001 at the maximum duration', async () => {
    const opened = Date.now();
    const client = await Client.open(shortUrl);
    const { connectionId } = await client.request<{ connectionId: string }>({ meta: { action: 'echo' } });
    // Data messages every 300 ms keep the idle timer from firing.
    const talker = setInterval(() => client.ws.readyState === WebSocket.OPEN && client.ws.send('{"meta":{"action":"echo"}}'), 300);
    const closed = await client.closed;
    clearInterval(talker);
    expect(closed.code).toBe(1001);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(MAX_MS - 100);
    expect(client.messages.length).toBeGreaterThan(3);
    expect(await disconnectOf(short, connectionId)).toMatchObject({ code: 1001 });
  });

  it('closes open connections on stop, running $disconnect for them', async () => {
    const client = await Client.open(shortUrl);
    const { connectionId } = await client.request<{ connectionId: string }>({ meta: { action: 'echo' } });
    await short.stop();
    expect((await client.closed).code).toBe(1001);
    expect(logged(short, 'DISCONNECT').find((d) => d.connectionId === connectionId)).toMatchObject({ code: 1001 });
  });
});
