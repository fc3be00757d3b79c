import { describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_TTL_SECONDS, ConnectionStore, MAX_CONNECTION_SECONDS } from '../../lambdas/shared/realtime/dynamo-connections';
import type { DocumentClientLike } from '../../lambdas/shared/dynamodb';

/** Records the commands it is sent; optionally fails them. */
class FakeClient implements DocumentClientLike {
  readonly sent: PutCommand[] = [];
  constructor(private readonly failure?: Error) {}

  async send(command: object): Promise<Record<string, unknown>> {
    this.sent.push(command as PutCommand);
    if (this.failure) throw this.failure;
    return {};
  }
}

const NOW = new Date('2026-11-21T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;

describe('ConnectionStore', () => {
  it('puts the connection under conn#<id> / meta with connectedAt and a TTL past the 2 h cap', async () => {
    const client = new FakeClient();
    const store = new ConnectionStore(client, 'realtime-table', () => NOW);

    const record = await store.put('abc=', { sourceIp: '203.0.113.7', userAgent: 'test/1.0' });

    expect(client.sent).toHaveLength(1);
    const [command] = client.sent;
    expect(command).toBeInstanceOf(PutCommand);
    expect(command.input).toEqual({
      TableName: 'realtime-table',
      Item: {
        pk: 'conn#abc=',
        sk: 'meta',
        connectionId: 'abc=',
        connectedAt: '2026-11-21T10:00:00.000Z',
        expiresAt: NOW_SECONDS + CONNECTION_TTL_SECONDS,
        sourceIp: '203.0.113.7',
        userAgent: 'test/1.0',
      },
    });
    expect(record).toEqual((command as PutCommand).input.Item);
    expect(record.expiresAt - NOW_SECONDS).toBeGreaterThan(MAX_CONNECTION_SECONDS);
  });

  it('records the user the $connect authorizer let in', async () => {
    const client = new FakeClient();
    const record = await new ConnectionStore(client, 't', () => NOW).put('c1', { userId: 'u1', role: 'user' });
    expect(record).toMatchObject({ pk: 'conn#c1', userId: 'u1', role: 'user' });
  });

  it('leaves out identity fields API Gateway did not report', async () => {
    const client = new FakeClient();
    await new ConnectionStore(client, 't', () => NOW).put('c1', { sourceIp: undefined });
    expect(Object.keys((client.sent[0] as PutCommand).input.Item!)).toEqual(['pk', 'sk', 'connectionId', 'connectedAt', 'expiresAt']);
  });

  it('uses a given TTL and writes whole epoch seconds', async () => {
    const client = new FakeClient();
    const store = new ConnectionStore(client, 't', () => new Date('2026-11-21T10:00:00.900Z'));
    const record = await store.put('c1', {}, 60);
    expect(record.expiresAt).toBe(NOW_SECONDS + 60);
    await expect(store.put('c1', {}, 0)).rejects.toThrow(RangeError);
  });

  it('lets client failures propagate', async () => {
    const store = new ConnectionStore(new FakeClient(new Error('throttled')), 't');
    await expect(store.put('c1', {})).rejects.toThrow('throttled');
  });
});
