/**
 * Hostile input to every listening port of the local cloud: the HTTP API, the WebSocket API (ws://,
 * wss:// and its @connections API) and the control port with the AWS-protocol services. Whatever is
 * sent (malformed paths, queries, headers, bodies, methods, raw garbage, bad upgrades, malformed,
 * oversize or binary WebSocket frames), the process must keep running and keep answering: after
 * each batch a normal request goes through every gateway. Where API Gateway's answer is known (or
 * chosen, see the README's "Limits and behaviour"), the answer is checked too.
 *
 * Bounded: a fixed list of inputs plus a seeded pseudo-random batch; a few seconds in all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { Stack, type App } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { HttpApi, HttpMethod, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import WebSocket from 'ws';
import { freePort } from '../src/net';
import { startCloud, synthFixture, type TestCloud } from '../src/testing';

const ECHO = `exports.handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ rawPath: event.rawPath, rawQueryString: event.rawQueryString, query: event.queryStringParameters,
    pathParameters: event.pathParameters, headers: event.headers, body: event.body, isBase64Encoded: event.isBase64Encoded }) });`;
const AUTHORIZER = `exports.handler = async (event) => {
  if ((event.queryStringParameters || {}).ticket !== 'good') throw new Error('Unauthorized');
  return { principalId: 'u', policyDocument: { Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] } };
};`;
const CONNECT = `exports.handler = async (event) => { console.log('CONNECT ' + event.requestContext.connectionId); return { statusCode: 200 }; };`;
const DISCONNECT = `exports.handler = async (event) => { console.log('DISCONNECT ' + event.requestContext.connectionId); return { statusCode: 200 }; };`;
const REFLECT = `exports.handler = async (event) => ({ statusCode: 200,
  body: JSON.stringify({ body: event.body, isBase64Encoded: event.isBase64Encoded }) });`;

function fixture(app: App): void {
  const stack = new Stack(app, 'Fuzz');
  const fn = (id: string, code: string) =>
    new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline(code) });
  const echo = fn('Echo', ECHO);
  const http = new HttpApi(stack, 'Http');
  const integration = new HttpLambdaIntegration('EchoIntegration', echo);
  http.addRoutes({ path: '/api/v1/topics/{topic}/events', methods: [HttpMethod.POST], integration });
  http.addRoutes({ path: '/health', methods: [HttpMethod.GET], integration });
  http.addRoutes({ path: '/files/{proxy+}', methods: [HttpMethod.ANY], integration });
  const ws = new WebSocketApi(stack, 'Ws', {
    connectRouteOptions: {
      integration: new WebSocketLambdaIntegration('ConnectIntegration', fn('OnConnect', CONNECT)),
      authorizer: new WebSocketLambdaAuthorizer('Auth', fn('Authorize', AUTHORIZER), {
        identitySource: ['route.request.querystring.ticket'],
      }),
    },
    disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', fn('OnDisconnect', DISCONNECT)) },
    defaultRouteOptions: {
      integration: new WebSocketLambdaIntegration('DefaultIntegration', fn('Reflect', REFLECT)),
      returnResponse: true,
    },
  });
  new WebSocketStage(stack, 'Stage', { webSocketApi: ws, stageName: 'dev', autoDeploy: true });
  new sqs.Queue(stack, 'Queue');
}

let cloud: TestCloud;
let http: { host: string; port: number };
let wsPort: number;
let tlsPort: number;
let control: { host: string; port: number };
let wsUrl: string;

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

beforeAll(async () => {
  tlsPort = await freePort();
  cloud = await startCloud(synthFixture(fixture), { tlsPort });
  const e = cloud.cloud.endpoints;
  http = hostPort(e.httpUrl!);
  wsUrl = e.wsUrl!;
  wsPort = hostPort(wsUrl).port;
  control = hostPort(e.controlUrl);
});

afterAll(async () => {
  await cloud?.stop();
});

// ------------------------------------------------------------------------------------------------
// Clients that send exactly what they are given

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP request with the path sent byte for byte as given (Node's client checks only for spaces and controls). */
function send(
  target: { host: string; port: number },
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...target, method, path, headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    // A request the server never answers fails here, not at the test's timeout.
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end(options.body);
  });
}

/** Writes raw bytes to a port and returns whatever comes back until the server closes (or `waitMs` passes). */
function raw(target: { host: string; port: number }, bytes: string | Buffer, waitMs = 1_500, tls = false): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = tls
      ? tlsConnect({ host: target.host, port: target.port, rejectUnauthorized: false })
      : netConnect({ host: target.host, port: target.port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', done);
    socket.on('close', done);
    socket.on(tls ? 'secureConnect' : 'connect', () => socket.write(bytes, () => {}));
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);

/** Opens a WebSocket by hand (raw socket, our own key), so that any frame can be written afterwards. */
interface RawWebSocket {
  send(frame: Buffer): void;
  /** Resolves once what the server sent contains `text`. */
  receive(text: string): Promise<void>;
  /** Resolves with everything the server sent, once it closed the connection. */
  closed: Promise<Buffer>;
}

function rawWebSocket(query = 'ticket=good'): Promise<RawWebSocket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: http.host, port: wsPort });
    const chunks: Buffer[] = [];
    let upgraded = false;
    const closed = new Promise<Buffer>((r) => socket.on('close', () => r(Buffer.concat(chunks))));
    socket.on('error', () => {});
    socket.on('connect', () =>
      socket.write(
        `GET /dev?${query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on('data', (c: Buffer) => {
      if (upgraded) return void chunks.push(c);
      const text = c.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (!text.startsWith('HTTP/1.1 101')) return reject(new Error(`upgrade refused: ${text.slice(0, 200)}`));
      upgraded = true;
      if (end + 4 < c.length) chunks.push(c.subarray(end + 4));
      const receive = async (text: string) => {
        const deadline = Date.now() + 10_000;
        while (!Buffer.concat(chunks).toString('latin1').includes(text)) {
          if (Date.now() > deadline) throw new Error(`never received ${text}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      resolve({ send: (frame) => socket.write(frame), receive, closed });
    });
    setTimeout(() => reject(new Error('upgrade timed out')), 10_000).unref();
  });
}

/** A client frame: FIN + opcode, masked unless `masked: false`. */
function frame(opcode: number, payload: Buffer, options: { fin?: boolean; masked?: boolean; rsv?: number } = {}): Buffer {
  const { fin = true, masked = true, rsv = 0 } = options;
  const head: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = masked ? 0x80 : 0;
  if (payload.length < 126) head.push(maskBit | payload.length);
  else if (payload.length < 65_536) head.push(maskBit | 126, payload.length >> 8, payload.length & 0xff);
  else {
    head.push(maskBit | 127, 0, 0, 0, 0);
    head.push((payload.length >>> 24) & 0xff, (payload.length >> 16) & 0xff, (payload.length >> 8) & 0xff, payload.length & 0xff);
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from(head), mask, body]);
}

/** The close code of the server's close frame (first frame with opcode 8), if any. */
function closeCode(received: Buffer): number | undefined {
  let offset = 0;
  while (offset + 2 <= received.length) {
    const opcode = received[offset]! & 0x0f;
    let length = received[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = received.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(received.readBigUInt64BE(start));
      start += 8;
    }
    if (opcode === 8) return length >= 2 ? received.readUInt16BE(start) : 1005;
    offset = start + length;
  }
  return undefined;
}

/** Every gateway still answers a normal request: the HTTP API, a WebSocket round trip, the control API, SQS. */
async function assertAlive(): Promise<void> {
  const health = await send(http, 'GET', '/health');
  expect(health.status).toBe(200);
  const controlHealth = await send(control, 'GET', '/health');
  expect(controlHealth.status).toBe(200);
  const sqsAnswer = await send(control, 'POST', '/', {
    headers: { 'x-amz-target': 'AmazonSQS.ListQueues', 'content-type': 'application/x-amz-json-1.0' },
    body: '{}',
  });
  expect(sqsAnswer.status).toBe(200);
  const socket = new WebSocket(`${wsUrl}?ticket=good`);
  const reply = await new Promise<string>((resolve, reject) => {
    socket.on('open', () => socket.send('still there?'));
    socket.on('message', (data) => resolve(String(data)));
    socket.on('error', reject);
    socket.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  expect(JSON.parse(reply)).toMatchObject({ body: 'still there?' });
  socket.close();
}

/** A seeded pseudo-random generator (a linear congruential one): the same inputs on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    return state;
  };
}

// ------------------------------------------------------------------------------------------------

describe('gateways never crash on malformed input', () => {
  it('answers a malformed percent-encoding in the HTTP API path with 400 {"message":"Bad Request"}, as API Gateway', async () => {
    const answer = await send(http, 'POST', '/api/v1/topics/%ZZ/events', { body: '{}' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ message: 'Bad Request' });
    expect(answer.headers['apigw-requestid']).toBeTruthy();
    // A valid encoding still reaches the route, its path parameter decoded.
    const ok = await send(http, 'POST', '/api/v1/topics/a%20b%2Fc/events', { body: '{}' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).pathParameters).toEqual({ topic: 'a b/c' });
    await assertAlive();
  });

  it('HTTP API paths: bad encodings are 400, odd shapes route or 404, nothing 5xx', async () => {
    const badEncodings = ['%', '%Z', '%ZZ', '%E0%A4%A', '%C3', '%C3%28', '%ED%A0%80', '%FF', 'a%', '%%'];
    for (const bad of badEncodings) {
      for (const path of [`/api/v1/topics/${bad}/events`, `/${bad}`, `/files/x/${bad}`, `/health/${bad}`]) {
        const answer = await send(http, 'POST', path);
        expect(answer.status, path).toBe(400);
        expect(JSON.parse(answer.body), path).toEqual({ message: 'Bad Request' });
      }
    }
    const odd = [
      '/',
      '//',
      '///x',
      '/..',
      '/../..',
      '/./health',
      '/health/..',
      '/%2e%2e/health',
      '/files/%2e%2e/%2e%2e',
      '/files/%00',
      '/files/%2F%2F',
      '/files/a//b',
      '//[',
      '//a:99999/x',
      '//@',
      '/a\\b',
      '*',
      `/files/${'a'.repeat(5_000)}`,
      '/files/é',
      '/files/%E2%82%AC',
    ];
    for (const path of odd) {
      const answer = await send(http, 'GET', path);
      expect(answer.status, path).toBeLessThan(500);
      expect(answer.status, path).toBeGreaterThanOrEqual(200);
    }
    // An overlong request line is over API Gateway's 10 KB for request line and headers.
    const long = await send(http, 'GET', `/files/${'a'.repeat(12_000)}`).catch(() => ({ status: 0 }));
    expect([0, 414, 431]).toContain(long.status);
    // A raw NUL and raw controls in the request line: malformed HTTP.
    for (const bytes of [
      'GET /files/a\0b HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /files/a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /a b HTTP/1.1\r\n\r\n',
    ]) {
      const status = statusOf(await raw(http, bytes));
      expect(status === 0 || (status >= 400 && status < 500), JSON.stringify(bytes)).toBe(true);
    }
    await assertAlive();
  });

  it('HTTP API query strings pass through raw; malformed ones do not fail the request', async () => {
    for (const query of ['a=%ZZ', '%', 'a=%E0%A4%A&a=2', '&&&=&=', 'a[]=1&a[]=2', '%00=%00', '=']) {
      const answer = await send(http, 'GET', `/health?${query}`);
      expect(answer.status, query).toBe(200);
      expect(JSON.parse(answer.body).rawQueryString, query).toBe(query);
    }
    // A fragment has no place in a request target (clients strip it); sent anyway, it is harmless.
    expect((await send(http, 'GET', '/health?a=b#frag')).status).toBe(200);
    expect(JSON.parse((await send(http, 'GET', '/health?a=%ZZ&b=%41')).body).query).toEqual({ a: '%ZZ', b: 'A' });
    // Keys named like Object.prototype members reach the function as ordinary keys.
    const proto = JSON.parse((await send(http, 'GET', '/health?__proto__=x&constructor=y&toString=z')).body);
    expect(proto.query).toEqual(JSON.parse('{"__proto__":"x","constructor":"y","toString":"z"}'));
    await assertAlive();
  });

  it('HTTP API headers: duplicates joined with commas; oversize, invalid or contradictory ones refused with 4xx', async () => {
    const dup = await raw(http, 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-A: 2\r\nConnection: close\r\n\r\n');
    expect(statusOf(dup)).toBe(200);
    expect(JSON.parse(dup.slice(dup.indexOf('\r\n\r\n') + 4)).headers['x-a']).toBe('1,2');

    const big = await raw(http, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(11_000)}\r\n\r\n`);
    expect(statusOf(big)).toBe(431);
    const many = await raw(
      http,
      `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 1_500 }, (_, i) => `X-${i}: vvvvvvvvvv\r\n`).join('')}\r\n`,
    );
    expect(statusOf(many)).toBe(431);
    const malformed = [
      'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nno-colon\r\n\r\n',
      'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n',
      'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc',
      'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
      'POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n',
      'GET /health HTTP/9.9\r\nHost: x\r\n\r\n',
      'FOO /health HTTP/1.1\r\nHost: x\r\n\r\n',
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    ];
    // No version at all (HTTP/0.9's shape): whatever Node makes of it, it is answered.
    expect(statusOf(await raw(http, 'GET /health\r\n\r\n'))).toBeLessThan(500);
    // An upgrade to anything the HTTP API does not speak is served as a plain request (or refused).
    expect(statusOf(await raw(http, 'GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n'))).toBeLessThan(500);
    for (const bytes of malformed) {
      const status = statusOf(await raw(http, bytes));
      expect(status === 0 || (status >= 400 && status < 500), JSON.stringify(bytes)).toBe(true);
    }
    await assertAlive();
  });

  it('HTTP API bodies: any bytes reach the function, over 10 MB is 413, an aborted upload is harmless', async () => {
    for (const body of ['{', 'null', '\u0000\uffff', Buffer.from([0xc3, 0x28, 0xff, 0xfe]), randomBytes(4096)]) {
      const answer = await send(http, 'POST', '/api/v1/topics/t/events', { body, headers: { 'content-type': 'application/json' } });
      expect(answer.status).toBe(200);
    }
    const binary = await send(http, 'POST', '/files/x', {
      body: randomBytes(100),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(JSON.parse(binary.body).isBase64Encoded).toBe(true);

    const tooLarge = await send(http, 'POST', '/files/x', { body: Buffer.alloc(10 * 1024 * 1024 + 1) }).catch(() => ({
      status: 0,
      body: '',
    }));
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toEqual({ message: 'Request Entity Too Large' });
    // Declares more than it sends, then goes away; and a chunked upload cut in the middle.
    await raw(http, 'POST /files/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc', 200);
    await raw(http, 'POST /files/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', 200);
    await assertAlive();
  });

  it('raw garbage, TLS on plain ports and plain HTTP on the TLS port leave every port serving', async () => {
    const next = seeded(42);
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => (next() >> 16) & 0xff));
    const clientHello = Buffer.from('16030100a5010000a10303', 'hex');
    const ports = [http, { host: http.host, port: wsPort }, control];
    for (const port of ports) {
      for (const bytes of [
        random(64),
        random(5_000),
        '\r\n\r\n\r\n',
        '\0\0\0\0',
        clientHello,
        'GET / HTTP/1.1\r\n',
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      ]) {
        await raw(port, bytes, 300);
      }
    }
    for (const bytes of ['GET / HTTP/1.1\r\n\r\n', random(200)]) await raw({ host: http.host, port: tlsPort }, bytes, 300);
    // Over TLS: garbage after the handshake.
    await raw({ host: http.host, port: tlsPort }, random(300), 300, true);
    await assertAlive();
  });

  it('WebSocket upgrades with bad URLs, tickets or handshakes are refused with 4xx, and $connect does not run for a broken handshake', async () => {
    const upgrade = (target: string, extra = '', key = randomBytes(16).toString('base64'), method = 'GET') =>
      `${method} ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;
    const cases: Array<[string, number[]]> = [
      [upgrade('/%ZZ'), [400, 403]],
      [upgrade('/dev/%ZZ'), [400, 403]],
      [upgrade('//'), [400, 403]],
      [upgrade('//[?ticket=good'), [400, 403]],
      [upgrade('/%E0%A4%A?ticket=good'), [400, 403]],
      [upgrade('/dev?ticket=%ZZ'), [401]],
      [upgrade('/dev?ticket=%'), [401]],
      [upgrade('/dev?ticket=%00'), [401]],
      [upgrade('/dev'), [401]],
      [upgrade('/dev?ticket=bad'), [401]],
      // Keys named like Object.prototype members are ordinary keys (they once reached `multi[k].push`).
      [upgrade('/dev?__proto__=x&ticket=bad'), [401]],
      [upgrade('/dev?constructor=x&toString=y&ticket=bad'), [401]],
      [upgrade('/dev?ticket=bad', '__proto__: x\r\nconstructor: y\r\n'), [401]],
      [upgrade(`/dev?ticket=good&pad=${'a'.repeat(4_100)}`), [414]],
      [upgrade('/dev?ticket=good', '', 'short-key'), [400]],
      [upgrade('/dev?ticket=good', 'Sec-WebSocket-Protocol: a b,,c\r\n'), [400]],
      [upgrade('/dev?ticket=good', 'Sec-WebSocket-Protocol: a, a\r\n'), [400]],
      [upgrade('/dev?ticket=good', '', undefined, 'POST'), [400, 405]],
      [upgrade('/dev?ticket=good').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 99'), [400, 426]],
      [upgrade('/dev?ticket=good').replace('Upgrade: websocket', 'Upgrade: h2c'), [400]],
    ];
    const connectsBefore = cloud.output.filter((l) => l.includes('CONNECT ') && !l.includes('DISCONNECT')).length;
    for (const [bytes, statuses] of cases) {
      const status = statusOf(await raw({ host: http.host, port: wsPort }, bytes));
      expect(statuses, JSON.stringify(bytes.slice(0, 80))).toContain(status);
    }
    // Over TLS too.
    const tlsStatus = statusOf(await raw({ host: http.host, port: tlsPort }, upgrade('/%ZZ'), 1_500, true));
    expect([400, 403]).toContain(tlsStatus);
    // Handshakes refused for their own shape never reach $connect (so no $disconnect is owed).
    expect(cloud.output.filter((l) => l.includes('CONNECT ') && !l.includes('DISCONNECT')).length).toBe(connectsBefore);
    await assertAlive();
  });

  it('WebSocket frames: binary, invalid UTF-8, oversize, malformed and control frames close the connection or route, never crash', async () => {
    // A binary frame reaches $default base64-encoded.
    const binary = await rawWebSocket();
    binary.send(frame(0x2, Buffer.from([0, 1, 2, 0xff])));
    await binary.receive('AAEC/w==');
    binary.send(frame(0x8, Buffer.from([0x03, 0xe8])));
    expect(closeCode(await binary.closed)).toBe(1000);

    const cases: Array<[string, Buffer[], number[]]> = [
      ['invalid UTF-8 text', [frame(0x1, Buffer.from([0xc3, 0x28]))], [1007]],
      ['frame over 32 KB', [frame(0x1, Buffer.alloc(40 * 1024, 0x61))], [1009]],
      [
        'message over 128 KB in 32 KB frames',
        [0, 1, 2, 3, 4].map((i) => frame(i === 0 ? 0x1 : 0x0, Buffer.alloc(30 * 1024, 0x61), { fin: i === 4 })),
        [1009],
      ],
      ['unmasked client frame', [frame(0x1, Buffer.from('hi'), { masked: false })], [1002]],
      ['reserved opcode', [frame(0x3, Buffer.from('hi'))], [1002]],
      ['RSV bits without an extension', [frame(0x1, Buffer.from('hi'), { rsv: 4 })], [1002]],
      ['ping over 125 bytes', [frame(0x9, Buffer.alloc(200))], [1002]],
      ['fragmented ping', [frame(0x9, Buffer.from('x'), { fin: false })], [1002]],
      ['continuation without a start', [frame(0x0, Buffer.from('x'))], [1002]],
      ['close with an invalid code', [frame(0x8, Buffer.from([0x03, 0xe7]))], [1002]],
      ['close with a 1-byte payload', [frame(0x8, Buffer.from([0x03]))], [1002]],
      ['close with invalid UTF-8 reason', [frame(0x8, Buffer.from([0x03, 0xe8, 0xc3, 0x28]))], [1007]],
      ['64-bit length with the top bit set', [Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])], [1009, 1002]],
      ['garbage', [randomBytes(64)], [1002, 1007, 1009]],
    ];
    for (const [what, frames, codes] of cases) {
      const ws = await rawWebSocket();
      for (const f of frames) ws.send(f);
      const received = await Promise.race([ws.closed, new Promise<Buffer>((r) => setTimeout(() => r(Buffer.from('timeout')), 5_000))]);
      expect(received.toString('latin1'), what).not.toBe('timeout');
      const code = closeCode(received);
      if (code !== undefined) expect(codes, what).toContain(code);
    }
    // A ping is answered with a pong; the connection stays usable.
    const pinged = await rawWebSocket();
    pinged.send(frame(0x9, Buffer.from('p')));
    pinged.send(frame(0x1, Buffer.from('after ping')));
    await pinged.receive('after ping');
    pinged.send(frame(0x8, Buffer.from([0x03, 0xe8])));
    await pinged.closed;
    await assertAlive();
  });

  it('@connections API: malformed paths and bodies get AWS-style 4xx answers', async () => {
    const mgmt = { host: http.host, port: wsPort };
    for (const path of [
      '//@connections/x',
      '/dev/@connections/%ZZ',
      '/%ZZ/@connections/x',
      '//[',
      '/dev/@connections/',
      '/dev/@connections/a/b',
    ]) {
      for (const method of ['GET', 'POST', 'DELETE', 'PUT']) {
        const answer = await send(mgmt, method, path, { body: method === 'POST' ? 'x' : undefined });
        expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${method} ${path}`).toBeLessThan(500);
      }
    }
    const tooLarge = await send(mgmt, 'POST', '/dev/@connections/abc', { body: Buffer.alloc(200 * 1024) });
    expect(tooLarge.status).toBe(413);
    await assertAlive();
  });

  it('control API and AWS-protocol services: malformed paths, bodies and headers get 4xx errors', async () => {
    for (const path of ['//', '///', '//[', '//a:99999/x', '/%ZZ', '/clock/%ZZ', '/health/..', '*']) {
      const answer = await send(control, 'GET', path);
      expect(answer.status, path).toBeGreaterThanOrEqual(400);
      expect(answer.status, path).toBeLessThan(500);
    }
    for (const body of ['garbage', '[]', 'null', '{"seconds":"x"}', '{"to":5}', '{"factor":-1}', '{"factor":1e999}']) {
      for (const path of ['/clock/advance', '/clock/scale']) {
        const answer = await send(control, 'POST', path, { body });
        expect(answer.status, `${path} ${body}`).toBe(400);
      }
    }
    const jsonTargets = [
      'AmazonSQS.ListQueues',
      'AmazonSQS.SendMessage',
      'AWSEvents.PutEvents',
      'AWSStepFunctions.StartExecution',
      'secretsmanager.GetSecretValue',
    ];
    for (const target of jsonTargets) {
      for (const body of ['garbage', 'null', '[]', '5', '"s"', '{"a":', Buffer.from([0xff, 0xfe])]) {
        const answer = await send(control, 'POST', '/', {
          headers: { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.0' },
          body,
        });
        expect(answer.status, `${target} ${String(body)}`).toBe(400);
        expect(answer.headers['x-amzn-errortype'], `${target} ${String(body)}`).toBe('SerializationException');
      }
    }
    const restPaths = [
      ['POST', '/2015-03-31/functions/%ZZ/invocations'],
      ['POST', '/2015-03-31/functions/%E0%A4%A/invocations'],
      ['GET', '/schedules/%ZZ'],
      ['POST', '/schedule-groups/%ZZ'],
      ['GET', '/schedules?MaxResults=%ZZ'],
      ['GET', '/v2/email/templates/%ZZ'],
      ['DELETE', '/v2/email/templates/%E0%A4%A'],
      ['GET', '/v2/email/templates?PageSize=%ZZ'],
      ['GET', '/ses/messages?to=%ZZ'],
    ] as const;
    for (const [method, path] of restPaths) {
      const answer = await send(control, method, path, { body: '{}' });
      expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(answer.status, `${method} ${path}`).toBeLessThan(500);
    }
    // SES v2 is REST-JSON: its bodies are refused with its own client error, never a 500.
    for (const body of ['garbage', 'null', '[]', '5', '"s"', '{"a":', Buffer.from([0xff, 0xfe]), '{}', '{"Content":null}']) {
      const answer = await send(control, 'POST', '/v2/email/outbound-emails', { body });
      expect(answer.status, `SendEmail ${String(body)}`).toBe(400);
      expect(answer.headers['x-amzn-errortype'], `SendEmail ${String(body)}`).toBe('BadRequestException');
    }
    const invokeGarbage = await send(control, 'POST', '/2015-03-31/functions/Fuzz-Echo/invocations', { body: '{' });
    expect(invokeGarbage.status).toBeLessThan(500);
    const tooLarge = await send(control, 'POST', '/', {
      headers: { 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: Buffer.alloc(9 * 1024 * 1024),
    }).catch(() => ({ status: 0 }));
    expect([0, 413]).toContain(tooLarge.status);
    const bigHeader = await raw(control, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statusOf(bigHeader)).toBe(431);
    await assertAlive();
  });

  it('a seeded random batch of paths, queries and headers on every HTTP port never gets a 5xx', async () => {
    const next = seeded(7);
    const alphabet = 'abcXYZ019-._~!$&\'()*+,;=:@/%?#[]{}|^`"<> \\';
    const pieces = ['%', '%Z', '%ZZ', '%2F', '%2e', '%00', '%C3', '%E0%A4%A', '..', '.', '//', '%25', '%u1234', 'é'];
    const randomPath = () => {
      let s = '/';
      const n = next() % 12;
      for (let i = 0; i < n; i++) s += next() % 3 === 0 ? pieces[next() % pieces.length] : alphabet[next() % alphabet.length];
      return s.replace(/[ "<>\\^`{|}#]/g, '');
    };
    const ports = [http, { host: http.host, port: wsPort }, control];
    for (let i = 0; i < 150; i++) {
      const target = ports[i % ports.length]!;
      const method = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH'][next() % 7]!;
      const path = randomPath();
      const answer = await send(target, method, path, {
        headers: { 'x-fuzz': String(next()), ...(next() % 4 === 0 ? { origin: 'https://x', 'access-control-request-method': 'GET' } : {}) },
        body: method === 'GET' || method === 'HEAD' ? undefined : randomPath(),
      }).catch((error: Error) => ({ status: 0, body: error.message }));
      const what = `${target === http ? 'http' : target === control ? 'control' : 'ws'} ${method} ${path}: ${answer.body.slice(0, 200)}`;
      expect(answer.status, what).toBeLessThan(500);
      expect(answer.status, what).toBeGreaterThan(0);
    }
    await assertAlive();
  });
});
