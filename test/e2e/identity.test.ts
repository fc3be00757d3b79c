/**
 * End to end: identity through the local cloud as `npm start` runs it, reached as a client reaches
 * it (fetch, the `ws` client): sign-up, login, tokens and the authorizers, tickets and the WebSocket
 * `$connect` authorizer, and the connection record that carries the user.
 *
 * Needs the local Secrets Manager (the signing key); signs its own expired/forged tokens with the
 * key read from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { launchPlatform } from '../../local/launch';
import type { LaunchedCloud } from '@realtime/local-cloud';
import { clientConfig, eventually } from '@realtime/local-cloud/testing';

let cloud: LaunchedCloud;
let db: DynamoDBDocumentClient;
let realtimeTable: string;
let signingKey: Uint8Array;

beforeAll(async () => {
  cloud = await launchPlatform();
  db = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud, 'dynamodb')));
  const stateful = cloud.endpoints.resources['Realtime-local-Stateful'] ?? {};
  realtimeTable = Object.entries(stateful).find(([id, r]) => r.type === 'AWS::DynamoDB::Table' && /realtime/i.test(id))![1].physicalId;
  const secretArn = Object.values(stateful).find((r) => r.type === 'AWS::SecretsManager::Secret')!.physicalId;
  const secrets = new SecretsManagerClient(clientConfig(cloud, 'secretsmanager'));
  const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  signingKey = new TextEncoder().encode((JSON.parse(SecretString!) as { key: string }).key);
  secrets.destroy();
}, 180_000);

afterAll(async () => {
  db?.destroy();
  await cloud?.stop();
});

let counter = 0;
const uniqueEmail = (tag: string) => `${tag}-${Date.now()}-${counter++}@example.com`;

/** The API's JSON answers, as far as these tests read them: each answer carries only some of these. */
interface Answer {
  readonly user: { readonly id: string; readonly role: string };
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly ticket: string;
  readonly expiresAt: string;
  readonly error: { readonly code: string; readonly details: readonly { readonly field: string }[] };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${cloud.endpoints.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Answer) : undefined };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function signup(email = uniqueEmail('user'), password = 'correct-horse-battery') {
  const res = await post('/api/v1/auth/signup', { email, password, name: 'Test User' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { email, password, ...res.body! } as {
    email: string;
    password: string;
    user: { id: string };
    accessToken: string;
    refreshToken: string;
  };
}

/** Opens a WebSocket; resolves with the socket, or with the HTTP status of a refused upgrade. */
function connect(query: string): Promise<{ ws?: WebSocket; refusedWith?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${cloud.endpoints.wsUrl}${query}`);
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ refusedWith: res.statusCode });
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
  });
}

async function sign(claims: Record<string, unknown>, options: { key?: Uint8Array; iat?: number; exp?: number } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'user', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('someone')
    .setIssuer('realtime-platform')
    .setAudience('realtime-platform-api')
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 600)
    .setJti(`jti-${counter++}`)
    .sign(options.key ?? signingKey);
}

describe('identity end to end', () => {
  it('signup → login → ticket → WebSocket connect; the connection record carries the user', async () => {
    const { email, password, user } = await signup();
    const login = await post('/api/v1/auth/login', { email: email.toUpperCase(), password });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ user: { id: user.id, email, role: 'user' }, expiresIn: 3600 });
    expect(JSON.stringify(login.body)).not.toMatch(/passwordHash|scrypt/);

    const ticket = await post('/api/v1/realtime/ticket', {}, bearer(login.body!.accessToken));
    expect(ticket.status).toBe(201);
    expect(ticket.body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresAt: expect.any(String) });
    expect(Date.parse(ticket.body!.expiresAt) - Date.now()).toBeLessThanOrEqual(61_000);

    const { ws } = await connect(`?ticket=${ticket.body!.ticket}`);
    expect(ws).toBeDefined();
    try {
      const reply = new Promise<Record<string, unknown>>((r) => ws!.once('message', (d) => r(JSON.parse(d.toString()))));
      ws!.send(JSON.stringify({ type: 'whoami' }));
      expect(await reply).toMatchObject({ type: 'error', code: 'unknown_type' });
      const record = await eventually(async () => {
        const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
        const items = (await db.send(new ScanCommand({ TableName: realtimeTable }))).Items ?? [];
        const conn = items.find((i) => String(i.pk).startsWith('conn#') && i.userId === user.id);
        if (!conn) throw new Error('no connection record for the user');
        return conn;
      });
      expect(record).toMatchObject({ userId: user.id, role: 'user' });
      const stored = await db.send(new GetCommand({ TableName: realtimeTable, Key: { pk: record.pk, sk: 'meta' } }));
      expect(stored.Item?.userId).toBe(user.id);
    } finally {
      ws!.close();
    }

    // The ticket worked once.
    expect(await connect(`?ticket=${ticket.body!.ticket}`)).toEqual({ refusedWith: 401 });
  });

  it('refuses a WebSocket without a ticket or with a forged one', async () => {
    expect((await connect('')).refusedWith).toBe(401);
    expect((await connect(`?ticket=${'A'.repeat(43)}`)).refusedWith).toBe(401);
    expect((await connect('?ticket=not-a-ticket')).refusedWith).toBe(401);
  });

  it('refuses a second account for the same email in another case with 409', async () => {
    const { email } = await signup();
    const again = await post('/api/v1/auth/signup', { email: email.toUpperCase(), password: 'another-password', name: 'X' });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'conflict' } });
  });

  it('gives exactly one 201 for 20 concurrent sign-ups with one email', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post('/api/v1/auth/signup', { email: i % 2 ? email : email.toUpperCase(), password: `password-${i}`, name: `R${i}` }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    const answers = JSON.stringify(results.map((r) => [r.status, r.body]));
    expect(
      statuses.filter((s) => s === 201),
      answers,
    ).toHaveLength(1);
    expect(
      statuses.filter((s) => s === 409),
      answers,
    ).toHaveLength(19);
  }, 120_000);

  it('answers 401 for missing, malformed, tampered, foreign-key and expired access tokens', async () => {
    const { accessToken } = await signup();
    const [h, p, s] = accessToken.split('.');
    const elevated = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), role: 'admin' })).toString(
      'base64url',
    );
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Record<string, string>> = {
      missing: {},
      'not bearer': { authorization: `Basic ${accessToken}` },
      garbage: bearer('garbage'),
      tampered: bearer(`${h}.${elevated}.${s}`),
      'other key': bearer(await sign({}, { key: new TextEncoder().encode('z'.repeat(64)) })),
      expired: bearer(await sign({}, { iat: now - 7200, exp: now - 3600 })),
    };
    for (const [name, headers] of Object.entries(cases)) {
      const res = await post('/api/v1/realtime/ticket', {}, headers);
      expect(res.status, name).toBe(401);
      // API Gateway's own answer, not the handlers' error body (docs/auth.md, "The flow").
      expect(res.body, name).toEqual({ message: 'Unauthorized' });
    }
    expect((await post('/api/v1/realtime/ticket', {}, bearer(accessToken))).status).toBe(201);
  });

  it('answers a path no route matches with API Gateway’s own 404 body, and handler errors with the documented one', async () => {
    const missing = await post('/api/v1/nowhere', {});
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'Not Found' });
    const refused = await post('/api/v1/auth/refresh', { refreshToken: 'x'.repeat(43) });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String), details: [] } });
  });

  it('rotates refresh tokens and revokes them on logout', async () => {
    const session = await signup();
    const refreshed = await post('/api/v1/auth/refresh', { refreshToken: session.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body!.refreshToken).not.toBe(session.refreshToken);
    expect((await post('/api/v1/auth/refresh', { refreshToken: session.refreshToken })).status).toBe(401);

    const logout = await post('/api/v1/auth/logout', { refreshToken: refreshed.body!.refreshToken }, bearer(refreshed.body!.accessToken));
    expect(logout.status).toBe(204);
    expect((await post('/api/v1/auth/refresh', { refreshToken: refreshed.body!.refreshToken })).status).toBe(401);
    expect((await post('/api/v1/auth/logout', { refreshToken: 'x' })).status).toBe(401);
  });

  it('answers wrong email and wrong password alike, then 429 with Retry-After after 5 failures', async () => {
    const { email, password } = await signup();
    const wrongEmail = await post('/api/v1/auth/login', { email: uniqueEmail('nobody'), password });
    const wrongPassword = await post('/api/v1/auth/login', { email, password: 'wrong-password' });
    expect(wrongEmail.status).toBe(401);
    expect(wrongPassword.status).toBe(401);
    expect(wrongEmail.body).toEqual(wrongPassword.body);
    expect(wrongPassword.body).toMatchObject({ error: { code: 'invalid_credentials' } });

    for (let i = 0; i < 4; i++) {
      expect((await post('/api/v1/auth/login', { email, password: `wrong-${i}` })).status).toBe(401);
    }
    const locked = await post('/api/v1/auth/login', { email, password });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(900);
    expect(locked.body).toMatchObject({ error: { code: 'rate_limited' } });
  });

  it('checks at most 5 passwords for 26 simultaneous logins to one email, then refuses the right one', async () => {
    const { email, password } = await signup();
    const burst = await Promise.all(Array.from({ length: 26 }, (_, i) => post('/api/v1/auth/login', { email, password: `wrong-${i}` })));
    const statuses = burst.map((r) => r.status);
    // Every 401 is a checked password; the budget is 5 per window, and it is not refused early.
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(21);
    const locked = await post('/api/v1/auth/login', { email, password });
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ error: { code: 'rate_limited' } });
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 120_000);

  it('answers malformed bodies with 400 naming the field, never 500', async () => {
    const cases: [unknown, string][] = [
      ['{"email":', '(body)'],
      [{ email: 'a@b.co', password: 'long-enough' }, 'name'],
      [{ email: 'a@b.co', password: 12345678, name: 'A' }, 'password'],
      [{ email: 'not-an-email', password: 'long-enough', name: 'A' }, 'email'],
      [{ email: 'a@b.co', password: 'short', name: 'A' }, 'password'],
      [{ email: 'a@b.co', password: 'long-enough', name: 'A', role: 'admin' }, 'role'],
      [{ email: 'a@b.co', password: 'long-enough', name: 'x'.repeat(70_000) }, '(body)'],
    ];
    for (const [body, field] of cases) {
      const res = await post('/api/v1/auth/signup', body);
      expect(res.status, field).toBe(400);
      expect(res.body?.error.code).toBe('bad_request');
      expect(
        res.body?.error.details.map((d: { field: string }) => d.field),
        JSON.stringify(res.body),
      ).toContain(field);
    }
  });
});

describe('the local administrator', () => {
  it('is created by npm start, written to admin.json, and logs in with the admin role', async () => {
    const { readFileSync, statSync } = await import('node:fs');
    const file = `${cloud.stateDir}/admin.json`;
    const admin = JSON.parse(readFileSync(file, 'utf8')) as { email: string; password: string };
    expect(statSync(file).mode & 0o077).toBe(0);
    expect(cloud.output()).toContain(`Admin      ${admin.email} / ${admin.password}`);
    const res = await post('/api/v1/auth/login', admin);
    expect(res.status).toBe(200);
    const claims = JSON.parse(Buffer.from(String(res.body!.accessToken).split('.')[1]!, 'base64url').toString()) as { role: string };
    expect(claims.role).toBe('admin');
    expect(res.body!.user.role).toBe('admin');
  });
});
