/**
 * Keep-alive clients and the HTTP API's own answers: a request the gateway answers itself (a body
 * on a GET, a path that does not decode, no route) leaves the client able to send its next
 * request, on the same connection or, when the gateway says `Connection: close`, on a new one.
 *
 * Node's HTTP client sends a GET's body with neither Content-Length nor chunked encoding, so the
 * body reads as the start of the next request: the local gateway used to answer the GET itself
 * with that 400 at once and then write the integration's answer to a closed socket; the client's
 * next request on the same agent could then fail ("socket hang up").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { Stack, type App } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { startCloud, synthFixture, type TestCloud } from '../src/testing';

const ECHO = `exports.handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ method: event.requestContext.http.method, body: event.body ?? null }) });`;

function fixture(app: App): void {
  const stack = new Stack(app, 'KeepAlive');
  const echo = new lambda.Function(stack, 'Echo', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline(ECHO),
  });
  const api = new HttpApi(stack, 'Api');
  api.addRoutes({
    path: '/api/v1/health',
    methods: [HttpMethod.GET, HttpMethod.POST],
    integration: new HttpLambdaIntegration('Echo', echo),
  });
}

let cloud: TestCloud;
let port: number;

beforeAll(async () => {
  cloud = await startCloud(synthFixture(fixture));
  port = Number(new URL(cloud.cloud.endpoints.httpUrl!).port);
});

afterAll(async () => {
  await cloud?.stop();
});

interface Answer {
  status: number;
  connection?: string;
  body: string;
  /** The client-side port of the connection it came on (the same port: the same socket). */
  socketPort: number;
}

/**
 * A request through `agent`. `body` goes out as Node's client sends it: `end(body)`, which for a
 * GET means no Content-Length and no chunked encoding; `contentLength` frames it.
 */
function send(agent: Agent, method: string, path: string, options: { body?: string; contentLength?: boolean } = {}): Promise<Answer> {
  const headers: Record<string, string> = options.body === undefined ? {} : { 'content-type': 'application/json' };
  if (options.body !== undefined && options.contentLength) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      const socketPort = res.socket.localPort!;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, connection: res.headers.connection, body: Buffer.concat(chunks).toString('utf8'), socketPort }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path} within 10 s`)));
    req.end(options.body);
  });
}

/**
 * One connection: `first` is sent, and once its answer has arrived, `then`; resolves with all the
 * server sends until it closes the connection.
 */
function raw(first: string, then: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write(first));
    let text = '';
    let sent = false;
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (!sent && /\r\n\r\n\{.*\}$/s.test(text)) {
        sent = true;
        socket.write(then);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('the server did not close the connection within 10 s')));
  });
}

describe('keep-alive connections and the gateway’s own answers', () => {
  it('answers a GET with a body sent by Node’s client (unframed), then the next GET on the same agent', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const withBody = await send(agent, 'GET', '/api/v1/health', { body: '{}' });
      // The integration's answer to the GET, not the 400 meant for the bytes behind it; the
      // connection closes after it (those bytes cannot be read as a request), and says so.
      expect(withBody.status, withBody.body).toBe(200);
      expect(JSON.parse(withBody.body)).toEqual({ method: 'GET', body: null });
      expect(withBody.connection).toBe('close');
      for (let i = 0; i < 3; i++) {
        const next = await send(agent, 'GET', '/api/v1/health');
        expect(next.status, next.body).toBe(200);
        expect(next.connection).toBe('keep-alive');
      }
    } finally {
      agent.destroy();
    }
  });

  it('passes a framed GET body to the integration, as API Gateway does, and keeps the connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const withBody = await send(agent, 'GET', '/api/v1/health', { body: '{"a":1}', contentLength: true });
      expect(withBody.status, withBody.body).toBe(200);
      expect(JSON.parse(withBody.body)).toEqual({ method: 'GET', body: '{"a":1}' });
      expect(withBody.connection).toBe('keep-alive');
      const next = await send(agent, 'GET', '/api/v1/health');
      expect(next.status).toBe(200);
      expect(next.socketPort).toBe(withBody.socketPort);
    } finally {
      agent.destroy();
    }
  });

  it('keeps the connection usable after the gateway’s own 400 and 404', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const bad = await send(agent, 'GET', '/api/v1/%ZZ', { body: '{}', contentLength: true });
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body)).toEqual({ message: 'Bad Request' });
      const missing = await send(agent, 'POST', '/api/v1/nowhere', { body: '{}', contentLength: true });
      expect(missing.status).toBe(404);
      const next = await send(agent, 'GET', '/api/v1/health');
      expect(next.status).toBe(200);
      expect(next.socketPort).toBe(bad.socketPort);
    } finally {
      agent.destroy();
    }
  });

  it('answers bytes that follow an answered request on an idle connection with 400 and Connection: close', async () => {
    // Nothing is in flight when they arrive: they are the connection's next request, refused.
    const text = await raw('GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n', '{}GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    const refused = text.slice(text.indexOf('HTTP/1.1', 1));
    expect(refused).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(refused).toContain('Connection: close\r\n');
    expect(refused.endsWith('{"message":"Bad Request"}')).toBe(true);
  });
});
