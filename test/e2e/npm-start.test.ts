/**
 * End to end: the platform as `npm start` runs it (synthesis of this project's CDK app included),
 * reached the way a client reaches it: HTTP health, and a WebSocket connect / unknown frame /
 * disconnect round trip whose connection record appears in, then leaves, the realtime table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { launchPlatform } from '../../local/launch';
import type { LaunchedCloud } from '@realtime/local-cloud';
import { clientConfig, eventually } from '@realtime/local-cloud/testing';

let cloud: LaunchedCloud;
let db: DynamoDBDocumentClient;
let realtimeTable: string;

beforeAll(async () => {
  cloud = await launchPlatform();
  db = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud, 'dynamodb')));
  const stateful = cloud.endpoints.resources['Realtime-local-Stateful'] ?? {};
  const tables = Object.entries(stateful).filter(([, r]) => r.type.startsWith('AWS::DynamoDB::'));
  realtimeTable = tables.find(([id]) => /realtime/i.test(id))![1].physicalId;
}, 180_000);

afterAll(async () => {
  db?.destroy();
  await cloud?.stop();
});

describe('npm start', () => {
  it('writes endpoints.json with URLs, services, resources and outputs', () => {
    const e = cloud.endpoints;
    expect(e.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(e.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/local$/);
    expect(e.controlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(e.services.dynamodb).toMatch(/^http:\/\//);
    for (const service of ['sqs', 'events', 'states', 'scheduler', 'lambda', 'apigatewaymanagementapi']) {
      expect(e.services[service], service).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    }
    expect(Object.keys(e.resources)).toEqual(expect.arrayContaining(['Realtime-local-Stateful', 'Realtime-local-Stateless']));
    // Outputs point at the local endpoints, not at execute-api hosts.
    expect(JSON.stringify(e.outputs)).not.toContain('execute-api');
    expect(cloud.output()).toMatch(/Local cloud ready in \d+(\.\d+)? s/);
  });

  it('serves GET /api/v1/health as JSON', async () => {
    const res = await fetch(`${cloud.endpoints.httpUrl}/api/v1/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(await res.json()).toMatchObject({ status: 'ok', stage: 'local' });
  });

  it('refuses a WebSocket without a ticket with 401', async () => {
    const ws = new WebSocket(cloud.endpoints.wsUrl!);
    // terminate() after a refused upgrade reports an error; it is the expected outcome here.
    ws.on('error', () => undefined);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('open', () => resolve(undefined));
    });
    ws.terminate();
    expect(status).toBe(401);
  });

  it('accepts a WebSocket with a ticket, answers an unknown frame with unknown_type, and forgets the connection on close', async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${cloud.endpoints.httpUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const signup = await post('/api/v1/auth/signup', { email: 'npm-start@example.com', password: 'correct-horse-battery', name: 'E2E' });
    expect(signup.status).toBe(201);
    const { accessToken } = (await signup.json()) as { accessToken: string };
    const ticket = await post('/api/v1/realtime/ticket', {}, { authorization: `Bearer ${accessToken}` });
    expect(ticket.status).toBe(201);
    const ws = new WebSocket(`${cloud.endpoints.wsUrl!}?ticket=${((await ticket.json()) as { ticket: string }).ticket}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reply = new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
    ws.send(JSON.stringify({ type: 'no-such-type' }));
    expect(await reply).toMatchObject({ type: 'error', code: 'unknown_type' });

    // The connection record exists while the socket is open, with a TTL.
    const connectionId = await eventually(findConnectionId);
    const item = (await db.send(new GetCommand({ TableName: realtimeTable, Key: { pk: `conn#${connectionId}`, sk: 'meta' } }))).Item;
    expect(item).toBeDefined();
    expect(item!.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3600);

    ws.close();
    await eventually(
      async () => !(await db.send(new GetCommand({ TableName: realtimeTable, Key: { pk: `conn#${connectionId}`, sk: 'meta' } }))).Item,
    );
  });
});

/** The one open connection's id, read from the realtime table (a scan is fine in a test). */
async function findConnectionId(): Promise<string> {
  const items = (await db.send(new ScanCommand({ TableName: realtimeTable }))).Items ?? [];
  const conn = items.find((i) => String(i.pk).startsWith('conn#'));
  if (!conn) throw new Error('no connection record');
  return String(conn.pk).slice('conn#'.length);
}
