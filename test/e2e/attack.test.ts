/**
 * The fuzz and attack suite (issue 11): the platform as `npm start` runs it, attacked through its
 * public doors only: malformed bodies, headers and paths on every HTTP route the app defines (read
 * from the cloud assembly the platform runs, so a new route is attacked without editing this
 * file), malformed and oversize WebSocket frames, forged and tampered tokens, reused tickets, and
 * spellings of another user's private topic.
 *
 * What every answer must be: never a 5xx; a handler's error is `{"error":{"code","message",
 * "details"}}`, and only API Gateway itself (no route, the authorizer's refusal, a path it cannot
 * decode) may answer `{"message"}`; no stack trace or file name in any body; an error frame for
 * every bad frame, after which the socket still works; and nothing of user B ever reaches user A.
 * After each group the platform must still answer (`GET /api/v1/health`).
 *
 * Bounded: a few hundred requests, at most 4 in flight (each one more in flight is one more cold
 * Lambda worker), and a handful of sockets.
 */
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { clientConfig } from '@realtime/local-cloud/testing';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { APP_ERROR_CODES } from '../../lambdas/shared/errors';
import { usePlatform } from '../support/platform';
import type { Frame, LiveConnection, Session } from '../support/realtime-client';

const platform = usePlatform({ admin: true });

/** A user for the HTTP fuzzing (its ticket budget may run out), and A and B for the WebSocket. */
let mallory: Session;
let alice: Session;
let bob: Session;
let signingKey: Uint8Array;
/** The app's HTTP routes; `public` when the template gives the route no authorizer. */
let httpRoutes: { method: string; path: string; public: boolean }[];
let wsRouteKeys: string[];

beforeAll(async () => {
  [mallory, alice, bob] = await Promise.all(['mallory', 'alice', 'bob'].map((tag) => platform.client.signup(tag)));
  const template = JSON.parse(readFileSync(join(platform.cloud.stateDir, 'cdk.out', 'Realtime-local-Stateless.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties?: { RouteKey?: string; AuthorizationType?: string } }>;
  };
  const routes = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map((r) => ({ key: String(r.Properties?.RouteKey), public: (r.Properties?.AuthorizationType ?? 'NONE') === 'NONE' }));
  httpRoutes = routes
    .filter((r) => r.key.includes(' '))
    .map((r) => {
      const [method, path] = r.key.split(' ') as [string, string];
      return {
        method,
        path: path.replace(/\{topic\}/g, encodeURIComponent('feed:attack')).replace(/\{[^}]+\}/g, 'x1'),
        public: r.public,
      };
    });
  wsRouteKeys = routes.filter((r) => !r.key.includes(' ')).map((r) => r.key);
  const stateful = platform.cloud.endpoints.resources['Realtime-local-Stateful'] ?? {};
  const secretArn = Object.values(stateful).find((r) => r.type === 'AWS::SecretsManager::Secret')!.physicalId;
  const secrets = new SecretsManagerClient(clientConfig(platform.cloud, 'secretsmanager'));
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  signingKey = new TextEncoder().encode((JSON.parse(SecretString!) as { key: string }).key);
  secrets.destroy();
}, 60_000);

// ---------------------------------------------------------------------------------------------
// HTTP, raw: node:http sends the path and headers exactly as given (fetch would normalise them).

interface RawAnswer {
  readonly label: string;
  readonly status: number;
  readonly text: string;
}

function send(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawAnswer> {
  const url = new URL(platform.cloud.endpoints.httpUrl!);
  const label = `${method} ${path.slice(0, 120)}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      // A connection per request: an answer that closes its socket must not fail the next request.
      { host: url.hostname, port: url.port, method, path, headers: options.headers ?? {}, timeout: 20_000, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ label, status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${label}: no answer in 20 s`)));
    req.on('error', (error) => reject(new Error(`${label}: ${error.message}`)));
    req.end(options.body);
  });
}

/** Runs `tasks` with at most `limit` in flight, in order of their results. */
async function bounded<T>(tasks: (() => Promise<T>)[], limit = 4): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

const ERROR_CODES: readonly string[] = APP_ERROR_CODES;

/**
 * The answer is not a 5xx and its body is a documented shape. Returns which: `handler` for the
 * house error body, `gateway` for API Gateway's `{"message"}`, `ok` for a 2xx.
 */
function expectDocumented(answer: RawAnswer): 'handler' | 'gateway' | 'ok' | 'empty' {
  const where = `${answer.label} → ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).toBeGreaterThanOrEqual(200);
  expect(answer.status, where).toBeLessThan(500);
  expect(answer.text, where).not.toMatch(/\bat \S+ \(|\.ts:\d+|\.js:\d+|Error:/);
  if (answer.status < 300) return 'ok';
  if (answer.text === '') return 'empty';
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new Error(`not JSON: ${where}`);
  }
  if (typeof body === 'object' && body !== null && 'error' in body) {
    expect(Object.keys(body), where).toEqual(['error']);
    const error = (body as { error: Record<string, unknown> }).error;
    expect(Object.keys(error).sort(), where).toEqual(['code', 'details', 'message']);
    expect(ERROR_CODES, where).toContain(error.code);
    expect(typeof error.message, where).toBe('string');
    expect(Array.isArray(error.details), where).toBe(true);
    return 'handler';
  }
  expect(Object.keys(body as object), where).toEqual(['message']);
  expect(typeof (body as { message: unknown }).message, where).toBe('string');
  return 'gateway';
}

/** What `expectDocumented` would fail on, as one line; undefined when the answer is fine. */
function violation(answer: RawAnswer): string | undefined {
  try {
    expectDocumented(answer);
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

async function expectAlive(): Promise<void> {
  const health = await send('GET', '/api/v1/health');
  expect(health.status, 'the platform still answers').toBe(200);
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

// Bodies no route accepts; the refusal must be a 4xx in the house shape.
const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
const deepObject = `${'{"a":'.repeat(3_000)}1${'}'.repeat(3_000)}`;
const BAD_BODIES: [string, string | Buffer][] = [
  ['truncated JSON', '{"email":'],
  ['not JSON', 'not json'],
  ['empty', ''],
  ['whitespace', '   \n'],
  ['array', '[]'],
  ['array of objects', '[{"email":"a@b.co","password":"long-enough"}]'],
  ['null', 'null'],
  ['string', '"str"'],
  ['number', '123'],
  ['1e999', '1e999'],
  ['wrong types', '{"email":1,"password":[],"name":{},"refreshToken":false,"event":5,"payload":[]}'],
  ['__proto__', '{"__proto__":{"role":"admin"},"constructor":{"prototype":{"role":"admin"}}}'],
  ['deep array', deepArray],
  ['deep object', deepObject],
  ['70 KB string', JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(70_000), name: 'n' })],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])],
  ['NUL bytes', '{"email":"a\u0000@b.co","password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000","name":"\u0000"}'],
];

describe('HTTP: every route, malformed bodies', () => {
  it('lists the routes it attacks from the running app', () => {
    expect(httpRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /api/v1/auth/login', 'POST /api/v1/realtime/ticket', `POST /api/v1/topics/feed%3Aattack/events`]),
    );
    // Routes without an authorizer are the few meant for anyone: a new one is a decision, not a slip.
    expect(
      httpRoutes
        .filter((r) => r.public)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual([
      'GET /api/v1/health',
      'GET /api/v1/subscriptions/plans',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/refresh',
      'POST /api/v1/auth/signup',
    ]);
  });

  it('answers each with a documented 4xx (or a 2xx where the route reads no body), never a 5xx', async () => {
    const tasks = httpRoutes.flatMap(({ method, path }) => {
      const token = path.includes('/topics/') ? platform.admin.accessToken : mallory.accessToken;
      // A GET reads no body, nor does the ticket: those may accept any of these.
      const readsNoBody = method === 'GET' || path.endsWith('/realtime/ticket');
      return BAD_BODIES.map(([name, body]) => async () => ({
        name,
        readsNoBody,
        answer: await send(method, path, { headers: bearer(token), body }),
      }));
    });
    // Every violation at once, so one run lists them all.
    const problems: string[] = [];
    for (const { name, readsNoBody, answer } of await bounded(tasks)) {
      const labelled = { ...answer, label: `${answer.label} [${name}]` };
      const problem = violation(labelled);
      if (problem) problems.push(problem);
      else if (answer.status < 300 && !readsNoBody) problems.push(`accepted: ${labelled.label}`);
    }
    if (problems.length > 0)
      console.log(
        platform.cloud
          .output()
          .split('\n')
          .filter((l) => /error|timed out/i.test(l))
          .slice(-10)
          .join('\n'),
      );
    expect(problems).toEqual([]);
    await expectAlive();
  }, 60_000);
});

describe('HTTP: headers', () => {
  it('answers wrong content types, junk and huge Authorization headers with documented 4xx', async () => {
    const publishPath = httpRoutes.find((r) => r.path.includes('/topics/'))!.path;
    const validPublish = JSON.stringify({ event: 'e', payload: { n: 1 } });
    const headerCases: [string, Record<string, string>][] = [
      ['text/plain', { authorization: `Bearer ${platform.admin.accessToken}`, 'content-type': 'text/plain' }],
      ['form', { authorization: `Bearer ${platform.admin.accessToken}`, 'content-type': 'application/x-www-form-urlencoded' }],
      ['multipart', { authorization: `Bearer ${platform.admin.accessToken}`, 'content-type': 'multipart/form-data; boundary=x' }],
      ['no content type', { authorization: `Bearer ${platform.admin.accessToken}` }],
      ['Bearer and nothing', { authorization: 'Bearer ', 'content-type': 'application/json' }],
      ['Bearer junk', { authorization: 'Bearer junk', 'content-type': 'application/json' }],
      ['Bearer a.b.c', { authorization: 'Bearer a.b.c', 'content-type': 'application/json' }],
      ['Bearer with latin-1', { authorization: 'Bearer \u00ff\u00fe\u00e9', 'content-type': 'application/json' }],
      ['two Bearers', { authorization: `Bearer ${platform.admin.accessToken} Bearer x`, 'content-type': 'application/json' }],
      ['Basic', { authorization: 'Basic YWRtaW46YWRtaW4=', 'content-type': 'application/json' }],
      ['8 KB Authorization', { authorization: `Bearer ${'x'.repeat(8 * 1024)}`, 'content-type': 'application/json' }],
      ['8 KB token-like', { authorization: `Bearer ${'a'.repeat(4000)}.${'b'.repeat(4000)}.c`, 'content-type': 'application/json' }],
    ];
    const tasks = httpRoutes.flatMap((route) =>
      headerCases.map(([name, headers]) => async () => ({
        name,
        route,
        answer: await send(route.method, route.path, { headers, body: route.path === publishPath ? validPublish : '{}' }),
      })),
    );
    for (const { name, route, answer } of await bounded(tasks)) {
      const kind = expectDocumented({ ...answer, label: `${answer.label} [${name}]` });
      // A bad Authorization header never gets past an authorized route.
      if (/Bearer |Basic|Authorization/.test(name) && !route.public) {
        expect(answer.status, `${answer.label} [${name}]`).toBe(401);
      }
      expect(kind === 'ok' && answer.label.includes('/topics/') && /Bearer |Basic/.test(name), name).toBe(false);
    }
    await expectAlive();
  }, 60_000);

  it('survives an Authorization header over the server limit, and a 1 MB body', async () => {
    const answer = await send('POST', '/api/v1/realtime/ticket', { headers: bearer('x'.repeat(40 * 1024)) });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    const big = await send('POST', '/api/v1/auth/signup', {
      headers: { 'content-type': 'application/json' },
      body: `{"pad":"${'x'.repeat(1024 * 1024)}"}`,
    });
    expect(expectDocumented(big)).not.toBe('ok');
    await expectAlive();
  });
});

describe('forged tokens', () => {
  async function sign(claims: Record<string, unknown>, options: { key?: Uint8Array; exp?: number; alg?: string } = {}) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: 'user', ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'HS256' })
      .setSubject(String(claims.sub ?? mallory.userId))
      .setIssuer('realtime-platform')
      .setAudience('realtime-platform-api')
      .setIssuedAt(now - 7200)
      .setExpirationTime(options.exp ?? now + 600)
      .sign(options.key ?? signingKey);
  }
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

  it('refuses alg none, a foreign key, tampered claims and expired tokens with 401 on every authorized route', async () => {
    const [h, p, s] = mallory.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    const forged: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, role: 'admin' })}.`,
      'alg none, signature kept': `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, role: 'admin' })}.${s}`,
      'role admin, signature kept': `${h}.${b64({ ...claims, role: 'admin' })}.${s}`,
      'sub of another user, signature kept': `${h}.${b64({ ...claims, sub: bob.userId })}.${s}`,
      'exp extended, signature kept': `${h}.${b64({ ...claims, exp: Number(claims.exp) + 86_400 })}.${s}`,
      'foreign key, role admin': await sign({ role: 'admin' }, { key: new TextEncoder().encode('k'.repeat(64)) }),
      'HS512 with the real key': await sign({ role: 'admin' }, { alg: 'HS512' }),
      expired: await sign({}, { exp: Math.floor(Date.now() / 1000) - 3600 }),
      'key as the signature': `${h}.${p}.${Buffer.from(signingKey).toString('base64url')}`,
      'no signature': `${h}.${p}.`,
      'header only': h,
    };
    const authorized = httpRoutes.filter((r) => !r.public);
    const tasks = authorized.flatMap(({ method, path }) =>
      Object.entries(forged).map(([name, token]) => async () => ({
        name,
        answer: await send(method, path, { headers: bearer(token), body: JSON.stringify({ event: 'e', payload: { forged: name } }) }),
      })),
    );
    for (const { name, answer } of await bounded(tasks)) {
      expectDocumented(answer);
      expect(answer.status, `${answer.label} [${name}] ${answer.text}`).toBe(401);
    }
    await expectAlive();
  }, 60_000);
});

describe('HTTP: paths and methods', () => {
  it('answers unknown routes, wrong methods and odd encodings with a documented 4xx', async () => {
    const token = bearer(platform.admin.accessToken);
    const body = JSON.stringify({ event: 'e', payload: { n: 1 } });
    // Spellings API Gateway may normalise to the health check, which is then fine to answer.
    const health = new Set([
      '//api/v1/health',
      '/api/v1/health/',
      '/api/v1/./health',
      '/api/v1/health?x=%ZZ&__proto__[role]=admin&a=1&a=2',
      '/api/v1/health?__proto__=x&toString=y&constructor=z&hasOwnProperty=1',
    ]);
    const cases: [string, string][] = [
      ['GET', '/'],
      ['GET', '/api/v1/nope'],
      ['GET', '/api/v2/health'],
      ['GET', '//api/v1/health'],
      ['GET', '/api/v1/health/'],
      ['GET', '/api/v1/health/..'],
      ['GET', '/api/v1/./health'],
      ['GET', '/api/v1/%68ealth'],
      ['GET', '/api/v1/health?x=%ZZ&__proto__[role]=admin&a=1&a=2'],
      ['GET', '/api/v1/health?__proto__=x&toString=y&constructor=z&hasOwnProperty=1'],
      ['GET', `/api/v1/${'a'.repeat(6000)}`],
      ['GET', '/api/v1/auth/login'],
      ['DELETE', '/api/v1/topics/feed%3Ax/events'],
      ['PATCH', '/api/v1/auth/signup'],
      ['PUT', '/api/v1/realtime/ticket'],
      ['POST', '/api/v1/topics/feed%2Fx/events'],
      ['POST', '/api/v1/topics/feed%3Ax%2F..%2F..%2Fauth%2Flogin/events'],
      ['POST', '/api/v1/topics/feed:x/events/extra'],
      ['POST', '/api/v1/topics//events'],
      ['POST', '/api/v1/topics/%00/events'],
      ['POST', '/api/v1/topics/%C0%AF/events'],
      ['POST', '/api/v1/topics/user%3A%E2%80%AEx/events'],
      ['POST', '/api/v1/topics/%2e%2e/events'],
      ['POST', `/api/v1/topics/feed%3A${'x'.repeat(2000)}/events`],
      ['POST', '/api/v1/topics/__proto__/events'],
      ['POST', '/api/v1/topics/constructor/events'],
    ];
    const problems: string[] = [];
    for (const [method, path] of cases) {
      const answer = await send(method, path, { headers: token, body: method === 'GET' ? undefined : body }).catch((error: Error) => error);
      if (answer instanceof Error) problems.push(answer.message);
      else if (answer.status < 300 && !(method === 'GET' && health.has(path)))
        problems.push(`accepted: ${answer.label} → ${answer.status}`);
      else {
        const problem = violation(answer);
        if (problem) problems.push(problem);
      }
    }
    expect(problems).toEqual([]);
    await expectAlive();
  }, 60_000);

  // Finding 2: the local cloud's HTTP gateway threw a URIError on these and the process exited.
  // Last in the file's HTTP groups, so that if it still does, only what follows fails with it.
  it.each([
    ['POST', '/api/v1/topics/%ZZ/events'],
    ['POST', '/api/v1/topics/%E0%A4%A/events'],
    ['GET', '/api/v1/%ZZ'],
    ['POST', '/api/v1/topics/feed%3A%ZZ/events'],
  ])('answers %s %s (a bad percent-encoding) with 400 and stays up', async (method, path) => {
    const answer = await send(method, path, { headers: bearer(platform.admin.accessToken), body: '{}' });
    expectDocumented(answer);
    expect(answer.status, `${answer.label} → ${answer.text}`).toBe(400);
    await expectAlive();
  });
});

// ---------------------------------------------------------------------------------------------
// WebSocket

/** Opens a WebSocket with `query`; the socket, or the status of a refused upgrade. */
function open(query: string): Promise<{ ws?: WebSocket; refusedWith?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${platform.cloud.endpoints.wsUrl}${query}`);
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ refusedWith: res.statusCode });
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

async function ticketFor(session: Session): Promise<string> {
  const res = await platform.client.request<{ ticket: string }>('POST', '/api/v1/realtime/ticket', undefined, session.accessToken);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body!.ticket;
}

const FRAME_CODES = ['bad_request', 'unauthorized', 'forbidden', 'unknown_type', 'too_many_subscriptions', 'rate_limited', 'internal'];

function expectErrorFrame(frame: Frame, what: string): void {
  expect(frame.type, what).toBe('error');
  expect(FRAME_CODES, what).toContain(frame.code);
  // `internal` is for the server's own failures: no input may cause one.
  expect(frame.code, what).not.toBe('internal');
  expect(typeof frame.message, what).toBe('string');
  expect(
    Object.keys(frame).every((k) => ['type', 'id', 'code', 'message'].includes(k)),
    what,
  ).toBe(true);
}

describe('WebSocket: connecting', () => {
  it('refuses no, junk, forged and reused tickets, and access tokens as tickets', async () => {
    const used = await ticketFor(mallory);
    const first = await open(`?ticket=${used}`);
    expect(first.ws).toBeDefined();
    first.ws!.close();
    const queries = [
      '',
      '?ticket=',
      `?ticket=${used}`,
      `?ticket=${'A'.repeat(43)}`,
      `?ticket=${mallory.accessToken}`,
      `?ticket=${'x'.repeat(4000)}`,
      `?ticket=${used}&ticket=${used}`,
      '?ticket[]=x',
      '?ticket=%00',
      '?__proto__=x&ticket=x',
      '?constructor=x&ticket=x',
      '?toString=x',
    ];
    const problems: string[] = [];
    for (const query of queries) {
      const result = await open(query).catch((error: Error) => ({ error: error.message }));
      if (!('refusedWith' in result) || result.refusedWith !== 401) {
        problems.push(`${query.slice(0, 80)} → ${JSON.stringify(result, (k, v) => (k === 'ws' ? 'open' : v))}`);
        if ('ws' in result) result.ws?.close();
      }
    }
    expect(problems).toEqual([]);
    await expectAlive();
  });

  it('lets exactly one of two concurrent connects with one ticket in', async () => {
    const ticket = await ticketFor(mallory);
    const results = await Promise.all([open(`?ticket=${ticket}`), open(`?ticket=${ticket}`)]);
    expect(results.filter((r) => r.ws)).toHaveLength(1);
    expect(results.filter((r) => r.refusedWith === 401)).toHaveLength(1);
    for (const r of results) r.ws?.close();
  });

  // Finding 2 covers every gateway input, the WebSocket URL too.
  it('answers a WebSocket URL with a bad percent-encoding without going down', async () => {
    const answer = await open('?ticket=%ZZ').catch((error: Error) => ({ error: error.message }));
    expect(answer).toEqual({ refusedWith: 401 });
    await expectAlive();
  });
});

describe('WebSocket: malformed and oversize frames', () => {
  let c: LiveConnection;
  beforeAll(async () => {
    c = await platform.connect(mallory);
  });

  it('lists its routes from the running app', () => {
    expect(wsRouteKeys).toEqual(expect.arrayContaining(['$connect', '$disconnect', '$default', 'subscribe', 'unsubscribe', 'ping']));
  });

  it('answers each with a documented error frame and keeps working', async () => {
    const frames: string[] = [
      'not json',
      '{"type":',
      '[]',
      '[{"type":"ping"}]',
      'null',
      '"ping"',
      '123',
      '{}',
      '{"type":5}',
      '{"type":null}',
      '{"type":["ping"]}',
      '{"type":{"type":"ping"}}',
      '{"type":"hello"}',
      '{"type":""}',
      `{"type":"${'x'.repeat(5000)}"}`,
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"type":"toString"}',
      '{"type":"$default"}',
      '{"type":"$connect"}',
      '{"type":"$disconnect"}',
      '{"type":"subscribe"}',
      '{"type":"subscribe","id":"s1"}',
      '{"type":"subscribe","id":"s1","topic":5}',
      '{"type":"subscribe","id":"s1","topic":"feed:x","lastEventId":{"$gt":""}}',
      '{"type":"subscribe","id":{"a":[1,2,{"b":null}]},"topic":"feed:x"}',
      '{"type":"subscribe","id":"s1","topic":"feed:x","__proto__":{"admin":true}}',
      '{"type":"unsubscribe"}',
      '{"type":"unsubscribe","id":[]}',
      '{"type":"ping","extra":1}',
      `{"type":"subscribe","id":"s1","topic":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      `{"type":"ping","x":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
      '{"type":"subscribe","id":"s1","topic":"feed:x","topic":"user:someone"}',
      '\u0000\u0001\u0002',
      '{"type":"ping"}{"type":"ping"}',
    ];
    for (const frame of frames) {
      const answer = await c.roundTrip(frame, (f) => f.type === 'error' || f.type === 'pong' || f.type === 'subscribed', 15_000);
      expectErrorFrame(answer, frame.slice(0, 80));
    }
    expect(c.frames.filter((f) => f.type === 'subscribed' || f.type === 'data')).toEqual([]);
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  }, 60_000);

  it('answers a binary frame with an error frame, and keeps working', async () => {
    const answer = new Promise<Frame>((resolve) => c.ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Frame)));
    c.ws.send(Buffer.from([0x00, 0xff, 0x7b, 0x7d]), { binary: true });
    expectErrorFrame(await answer, 'binary frame');
    c.ws.send(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('answers a 33 KB message sent in fragments with bad_request, and keeps working', async () => {
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(33 * 1024) });
    const reply = new Promise<Frame>((resolve) => c.ws.once('message', (d) => resolve(JSON.parse(d.toString()) as Frame)));
    const third = Math.ceil(big.length / 3);
    c.ws.send(big.slice(0, third), { fin: false });
    c.ws.send(big.slice(third, 2 * third), { fin: false });
    c.ws.send(big.slice(2 * third), { fin: true });
    const frame = await reply;
    expectErrorFrame(frame, '33 KB message');
    expect(frame.code).toBe('bad_request');
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('closes a connection that sends one 33 KB frame with 1009, as documented, and stays up for others', async () => {
    const victim = await platform.connect(mallory);
    victim.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(33 * 1024) }));
    expect((await victim.closed).code).toBe(1009);
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
    await expectAlive();
  });
});

describe('WebSocket: nothing of B reaches A', () => {
  let a: LiveConnection;
  let b: LiveConnection;

  beforeAll(async () => {
    [a, b] = await Promise.all([platform.connect(alice), platform.connect(bob)]);
  });

  afterAll(() => {
    a?.close();
    b?.close();
  });

  /** Spellings of `user:B` (and neighbours) a lax check might confuse with it. */
  function spellings(): string[] {
    const id = bob.userId;
    const lookalike = id.replace(/[a-z0-9]/i, (ch) => String.fromCodePoint(ch.codePointAt(0)! + 0xfee0)); // fullwidth
    const cyrillic = id.replace(/a/g, '\u0430').replace(/e/g, '\u0435').replace(/c/g, '\u0441');
    const percent = [...id].map((ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`).join('');
    return [
      `user:${id} `,
      ` user:${id}`,
      `user: ${id}`,
      `user:${id}\n`,
      `user:${id}\u0000`,
      `user:${id}\u200b`,
      `USER:${id}`,
      `User:${id}`,
      `user:${id.toUpperCase()}`,
      `user:${percent}`,
      `user:%${id.charCodeAt(0).toString(16)}${id.slice(1)}`,
      `user:${lookalike}`,
      `user:${cyrillic}`,
      `user:${id.normalize('NFKD')}\u0301`,
      `user:${alice.userId}:x`,
      `user:${id}:x`,
      `user:${alice.userId}/../${id}`,
      `user:${alice.userId},user:${id}`,
      `user:${alice.userId}#${id}`,
      'user:*',
      'user:',
      `user::${id}`,
      `user:${id}.`,
      `user:.${id}`,
      `content:../user:${id}`,
      `feed:user:${id}`,
      `user:${id}`,
    ];
  }

  it("never subscribes A to B's private topic, however it is spelled", async () => {
    const answers = await bounded(
      spellings().map((topic, i) => () => a.subscribe(`x${i}`, topic)),
      4,
    );
    for (const [i, answer] of answers.entries()) {
      const topic = spellings()[i]!;
      if (answer.type === 'error') {
        expectErrorFrame(answer, JSON.stringify(topic));
        expect(['bad_request', 'forbidden'], JSON.stringify(topic)).toContain(answer.code);
      } else {
        // Only a topic that is not B's may be subscribed to, and then it is exactly what was asked.
        expect(answer, JSON.stringify(topic)).toEqual({ type: 'subscribed', id: `x${i}`, topic });
        expect(topic.trim().toLowerCase(), JSON.stringify(topic)).not.toBe(`user:${bob.userId}`.toLowerCase());
      }
    }
  }, 60_000);

  it("delivers B's events to B only", async () => {
    expect(await b.subscribe('mine', `user:${bob.userId}`)).toMatchObject({ type: 'subscribed' });
    expect(await a.subscribe('own', `user:${alice.userId}`)).toMatchObject({ type: 'subscribed' });
    for (let i = 0; i < 3; i++) {
      const res = await platform.client.publish(platform.admin, `user:${bob.userId}`, 'secret', { i, for: bob.userId });
      expect(res.status).toBe(202);
    }
    await b.waitForData('mine', 3, 30_000);
    // Give any stray delivery time to arrive, then look at everything A ever received.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.frames.filter((f) => f.type === 'data')).toEqual([]);
    expect(JSON.stringify(a.frames)).not.toContain('secret');
  }, 60_000);

  it('refuses a subscription to B through a ticket of A on a fresh connection too', async () => {
    const fresh = await platform.connect(alice);
    expect(await fresh.subscribe('b', `user:${bob.userId}`)).toMatchObject({ type: 'error', id: 'b', code: 'forbidden' });
    fresh.close();
  });

  it('leaves the platform up after all of it', async () => {
    await expectAlive();
    const exited = await Promise.race([platform.cloud.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]);
    expect(exited).toBe(false);
  });
});
