import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBridgeClient, type PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'domain-events');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
vi.stubEnv('EVENT_BUS_NAME', 'bus-from-env');
const { handler } = await import('../../lambdas/events/publisher');

const context = { functionName: 'publisher', awsRequestId: 'req-1' } as Context;

const userInsert = (seq: number) => ({
  eventID: `event-${seq}`,
  eventName: 'INSERT',
  dynamodb: {
    ApproximateCreationDateTime: 1_795_226_402,
    NewImage: marshall({
      pk: `USER#u-${seq}`,
      sk: 'PROFILE',
      entity: 'User',
      id: `u-${seq}`,
      role: 'user',
      createdAt: '2026-11-21T02:00:01.000Z',
    }),
    SequenceNumber: `${seq}00`,
  },
});

afterEach(() => vi.restoreAllMocks());

describe('the publisher handler', () => {
  it('puts the events on the bus named in EVENT_BUS_NAME and answers an empty partial batch response', async () => {
    const send = vi.spyOn(EventBridgeClient.prototype, 'send').mockImplementation(async (command) => ({
      FailedEntryCount: 0,
      Entries: (command as PutEventsCommand).input.Entries!.map(() => ({ EventId: 'x' })),
    }));
    await expect(handler({ Records: [userInsert(1), userInsert(2)] }, context)).resolves.toEqual({ batchItemFailures: [] });
    const entries = (send.mock.calls[0]![0] as PutEventsCommand).input.Entries!;
    expect(entries.map((e) => [e.EventBusName, e.DetailType])).toEqual([
      ['bus-from-env', 'User.Registered'],
      ['bus-from-env', 'User.Registered'],
    ]);
  });

  it('names the records whose events never reached the bus', async () => {
    vi.spyOn(EventBridgeClient.prototype, 'send').mockImplementation(async (command) => ({
      FailedEntryCount: 1,
      Entries: (command as PutEventsCommand).input.Entries!.map((e) =>
        JSON.parse(e.Detail!).userId === 'u-2' ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'no' } : { EventId: 'x' },
      ),
    }));
    await expect(handler({ Records: [userInsert(1), userInsert(2), userInsert(3)] }, context)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: '200' }],
    });
  });

  it('fails the invocation when the event is not a stream batch at all', async () => {
    await expect(handler({ nope: true }, context)).rejects.toThrow();
  });
});
