import { describe, expect, it } from 'vitest';
import type { PutEventsCommand, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { EVENT_SOURCE, TOPIC_EVENT_PUBLISHED, USER_REGISTERED } from '../../lambdas/shared/events/catalog';
import { DomainEventPublisher, ENTRY_TOO_LARGE, entrySize, type EventBridgeLike } from '../../lambdas/shared/events/eventbridge-publisher';

const BUS = 'domain-bus';

/** A stream record of a new item, numbered `seq` (its SequenceNumber and eventID derive from it). */
function insert(seq: number, item: Record<string, unknown>) {
  return {
    eventID: `event-${seq}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: 1_795_226_402,
      Keys: marshall({ pk: item.pk, sk: item.sk }),
      NewImage: marshall(item, { removeUndefinedValues: true }),
      SequenceNumber: String(1000 + seq),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const userRecord = (seq: number) =>
  insert(seq, {
    pk: `USER#u-${seq}`,
    sk: 'PROFILE',
    entity: 'User',
    id: `u-${seq}`,
    email: `u${seq}@example.com`,
    role: 'user',
    createdAt: '2026-11-21T02:00:01.000Z',
  });

const topicRecord = (seq: number, topic = 'feed:prices') =>
  insert(seq, {
    pk: `TOPIC#${topic}`,
    sk: `EVENT#2026-11-21T02:00:01.000Z#${seq}`,
    entity: 'TopicEvent',
    topic,
    event: 'price.changed',
    payload: {},
    createdAt: '2026-11-21T02:00:01.000Z',
  });

type Reply = (entries: PutEventsRequestEntry[], call: number) => PutEventsResultEntry[] | Error;

/** A PutEvents stand-in: records every request and answers with `reply` (default: all accepted). */
function fakeEventBridge(reply: Reply = (entries) => entries.map((_, i) => ({ EventId: `id-${i}` }))) {
  const calls: PutEventsRequestEntry[][] = [];
  const client: EventBridgeLike = {
    async send(command: PutEventsCommand) {
      const entries = command.input.Entries ?? [];
      calls.push(entries);
      const result = reply(entries, calls.length);
      if (result instanceof Error) throw result;
      return { FailedEntryCount: result.filter((r) => r.ErrorCode).length, Entries: result };
    },
  };
  return { client, calls };
}

function publisherWith(client: EventBridgeLike, sleeps: number[] = []) {
  return new DomainEventPublisher({
    client,
    eventBusName: BUS,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
}

const detailOf = (entry: PutEventsRequestEntry) => JSON.parse(entry.Detail!) as Record<string, unknown>;
const failing = (code: string) => ({ ErrorCode: code, ErrorMessage: `${code} (test)` });

describe('DomainEventPublisher', () => {
  it('puts one catalog event per record on the bus, in requests of at most 10 entries', async () => {
    const { client, calls } = fakeEventBridge();
    const records = Array.from({ length: 25 }, (_, i) => (i % 2 ? topicRecord(i) : userRecord(i)));
    const result = await publisherWith(client).publishStreamRecords(records);

    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(result).toMatchObject({ batchItemFailures: [], published: 25, malformed: [], unpublished: [], retries: 0 });
    const [first, second] = calls[0]!;
    expect(first).toEqual({
      EventBusName: BUS,
      Source: EVENT_SOURCE,
      DetailType: USER_REGISTERED,
      Detail: expect.any(String),
      Time: new Date('2026-11-21T02:00:02.000Z'),
    });
    expect(detailOf(first!)).toEqual({
      idempotencyKey: `event-0:${USER_REGISTERED}`,
      occurredAt: '2026-11-21T02:00:02.000Z',
      userId: 'u-0',
      role: 'user',
      registeredAt: '2026-11-21T02:00:01.000Z',
    });
    expect(second!.DetailType).toBe(TOPIC_EVENT_PUBLISHED);
    // Stream order is kept across requests.
    expect(calls.flat().map((e) => detailOf(e).idempotencyKey)).toEqual(
      records.map((r, i) => `${r.eventID}:${i % 2 ? TOPIC_EVENT_PUBLISHED : USER_REGISTERED}`),
    );
  });

  it('keeps every request under 256 KB, and never sends an entry that cannot fit', async () => {
    const { client, calls } = fakeEventBridge();
    const big = (seq: number) => topicRecord(seq, `feed:${String(seq).repeat(60_000 / String(seq).length)}`);
    const huge = topicRecord(99, `feed:${'x'.repeat(300_000)}`);
    const result = await publisherWith(client).publishStreamRecords([big(1), big(2), big(3), big(4), big(5), huge, userRecord(6)]);

    for (const request of calls) expect(request.reduce((sum, e) => sum + entrySize(e), 0)).toBeLessThanOrEqual(256 * 1024);
    expect(calls.map((c) => c.length)).toEqual([4, 2]);
    expect(calls.flat()).toHaveLength(6);
    expect(result.unpublished).toEqual([expect.objectContaining({ sequenceNumber: '1099', errorCode: ENTRY_TOO_LARGE, attempts: 0 })]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1099' }]);
  });

  it('re-sends only the entries that failed, after a jittered backoff, and then succeeds', async () => {
    const { client, calls } = fakeEventBridge((entries, call) =>
      entries.map((_, i) =>
        call === 1 && (i === 1 || i === 3) ? failing(i === 1 ? 'ThrottlingException' : 'InternalFailure') : { EventId: `e${i}` },
      ),
    );
    const sleeps: number[] = [];
    const records = [userRecord(0), userRecord(1), topicRecord(2), topicRecord(3), userRecord(4)];
    const result = await publisherWith(client, sleeps).publishStreamRecords(records);

    expect(calls.map((c) => c.map((e) => detailOf(e).idempotencyKey))).toEqual([
      [
        `event-0:${USER_REGISTERED}`,
        `event-1:${USER_REGISTERED}`,
        `event-2:${TOPIC_EVENT_PUBLISHED}`,
        `event-3:${TOPIC_EVENT_PUBLISHED}`,
        `event-4:${USER_REGISTERED}`,
      ],
      [`event-1:${USER_REGISTERED}`, `event-3:${TOPIC_EVENT_PUBLISHED}`],
    ]);
    // Full jitter with random() = 0.5: half of the first bound (100 ms).
    expect(sleeps).toEqual([50]);
    expect(result).toMatchObject({ batchItemFailures: [], published: 5, unpublished: [], retries: 2 });
  });

  it('gives up on an entry after the last attempt and reports its record in batchItemFailures', async () => {
    const { client, calls } = fakeEventBridge((entries) =>
      entries.map((e) => (detailOf(e).userId === 'u-2' ? failing('InternalFailure') : { EventId: 'ok' })),
    );
    const sleeps: number[] = [];
    const result = await publisherWith(client, sleeps).publishStreamRecords([userRecord(1), userRecord(2), userRecord(3)]);

    expect(calls.map((c) => c.length)).toEqual([3, 1, 1, 1, 1]);
    // Exponential bounds 100, 200, 400, 800 ms, drawn at 0.5.
    expect(sleeps).toEqual([50, 100, 200, 400]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1002' }]);
    expect(result.published).toBe(2);
    expect(result.unpublished).toEqual([
      {
        sequenceNumber: '1002',
        detailType: USER_REGISTERED,
        idempotencyKey: `event-2:${USER_REGISTERED}`,
        errorCode: 'InternalFailure',
        errorMessage: 'InternalFailure (test)',
        attempts: 5,
      },
    ]);
  });

  it('caps each backoff at maxDelayMs', async () => {
    const { client } = fakeEventBridge((entries) => entries.map(() => failing('ThrottlingException')));
    const sleeps: number[] = [];
    const publisher = new DomainEventPublisher({
      client,
      eventBusName: BUS,
      maxAttempts: 8,
      maxDelayMs: 500,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.999,
    });
    const result = await publisher.publishStreamRecords([userRecord(1)]);
    expect(sleeps).toEqual([99, 199, 399, 499, 499, 499, 499]);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1001' }]);
  });

  it('does not retry errors a retry cannot fix', async () => {
    const { client, calls } = fakeEventBridge((entries) =>
      entries.map((_, i) => (i === 0 ? failing('MalformedDetail') : { EventId: 'ok' })),
    );
    const result = await publisherWith(client).publishStreamRecords([userRecord(1), userRecord(2)]);
    expect(calls).toHaveLength(1);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1001' }]);
    expect(result.unpublished[0]).toMatchObject({ errorCode: 'MalformedDetail', attempts: 1 });
  });

  it('treats a request that throws as a failure of all its entries, and retries them', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    const { client, calls } = fakeEventBridge((entries, call) => (call === 1 ? throttled : entries.map(() => ({ EventId: 'ok' }))));
    const result = await publisherWith(client).publishStreamRecords([userRecord(1), topicRecord(2)]);
    expect(calls.map((c) => c.length)).toEqual([2, 2]);
    expect(result).toMatchObject({ batchItemFailures: [], published: 2, retries: 2 });
  });

  it('names every record with an unpublished event, however the failures fall across requests', async () => {
    const { client } = fakeEventBridge((entries) =>
      entries.map((e) => (['u-3', 'u-14'].includes(String(detailOf(e).userId)) ? failing('InternalFailure') : { EventId: 'ok' })),
    );
    const records = Array.from({ length: 20 }, (_, i) => userRecord(i));
    const result = await publisherWith(client).publishStreamRecords(records);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: '1003' }, { itemIdentifier: '1014' }]);
    expect(result.published).toBe(18);
  });

  it('skips malformed records (reported, never retried) and ignores changes the catalog does not list', async () => {
    const { client, calls } = fakeEventBridge();
    const noRole = insert(2, { pk: 'USER#u-2', sk: 'PROFILE', entity: 'User', id: 'u-2', createdAt: '2026-11-21T02:00:01.000Z' });
    const emailItem = insert(3, { pk: 'EMAIL#a@b.co', sk: 'EMAIL', entity: 'UserEmail', userId: 'u-3' });
    const garbage = { eventID: 'event-4', eventName: 'INSERT', dynamodb: { SequenceNumber: '1004' } };
    const result = await publisherWith(client).publishStreamRecords([
      userRecord(1),
      noRole,
      emailItem,
      garbage,
      'not a record',
      userRecord(5),
    ]);

    expect(calls.flat().map((e) => detailOf(e).userId)).toEqual(['u-1', 'u-5']);
    expect(result.batchItemFailures).toEqual([]);
    expect(result.malformed).toEqual([
      {
        sequenceNumber: '1002',
        eventId: 'event-2',
        detailType: USER_REGISTERED,
        reason: expect.stringMatching(/image does not match its schema \(role\)/),
      },
      { sequenceNumber: '1004', eventId: 'event-4', reason: expect.stringMatching(/ApproximateCreationDateTime/) },
      { reason: expect.any(String) },
    ]);
    expect(JSON.stringify(result.malformed)).not.toContain('@');
  });

  it('sends nothing for a batch without events', async () => {
    const { client, calls } = fakeEventBridge();
    const result = await publisherWith(client).publishStreamRecords([]);
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ batchItemFailures: [], published: 0 });
  });

  it('refuses a maxAttempts that is not a positive integer', () => {
    const { client } = fakeEventBridge();
    expect(() => new DomainEventPublisher({ client, eventBusName: BUS, maxAttempts: 0 })).toThrow(/maxAttempts/);
  });
});
