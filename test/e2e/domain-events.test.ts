/**
 * End to end: domain events through the local cloud as `npm start` runs it. A client signs up over
 * HTTP; the User item's stream record reaches the publisher through the filtered stream mapping;
 * the publisher puts `User.Registered` on the domain bus; a rule (added here with the SDK, as a
 * consumer would) delivers it to an SQS queue, where the test receives it.
 *
 * Needs the local DynamoDB streams, Lambda, EventBridge (PutRule/PutTargets, SQS targets) and SQS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { clientConfig } from '@realtime/local-cloud/testing';
import { usePlatform } from '../support/platform';

interface DeliveredEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: Record<string, unknown>;
}

const platform = usePlatform();
let sqs: SQSClient;
let events: EventBridgeClient;
let domainTable: string;
let queueUrl: string;
/** Everything received from the queue so far. */
const received: DeliveredEvent[] = [];

beforeAll(async () => {
  const busName = String(platform.stateful.EventBusName);
  domainTable = String(platform.stateful.DomainTableName);
  sqs = new SQSClient(clientConfig(platform.cloud, 'sqs'));
  events = new EventBridgeClient(clientConfig(platform.cloud, 'events'));

  // A consumer of the bus: a rule for the catalog's source, targeting a queue of its own.
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'domain-events-e2e' }))).QueueUrl!;
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  await events.send(
    new PutRuleCommand({
      Name: 'all-domain-events',
      EventBusName: busName,
      EventPattern: JSON.stringify({ source: ['realtime-platform'] }),
    }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: 'all-domain-events', EventBusName: busName, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }),
  );
}, 180_000);

afterAll(async () => {
  sqs?.destroy();
  events?.destroy();
});

/** Receives from the queue until an event satisfies `match`, or fails after `timeoutMs`. */
async function eventMatching(match: (event: DeliveredEvent) => boolean, timeoutMs = 20_000): Promise<DeliveredEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = received.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching event within ${timeoutMs} ms; received ${JSON.stringify(received)}`);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages) {
      received.push(JSON.parse(message.Body!) as DeliveredEvent);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    }
  }
}

async function signup(email: string) {
  const res = await fetch(`${platform.cloud.endpoints.httpUrl}/api/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct-horse-battery', name: 'Grace Hopper' }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { user: { id: string; createdAt: string } }).user;
}

describe('domain events end to end', () => {
  it('publishes User.Registered on the bus when a user signs up, without personal data', async () => {
    const email = `events-${Date.now()}@example.com`;
    const user = await signup(email);

    const event = await eventMatching((e) => e['detail-type'] === 'User.Registered' && e.detail.userId === user.id);
    expect(event).toMatchObject({ source: 'realtime-platform', 'detail-type': 'User.Registered' });
    expect(event.detail).toEqual({
      idempotencyKey: expect.stringMatching(/^[0-9a-f]{32}:User\.Registered$/),
      occurredAt: expect.any(String),
      userId: user.id,
      role: 'user',
      registeredAt: user.createdAt,
    });
    // The event's time is the change's (second precision), not the moment it was put on the bus.
    expect(Math.abs(Date.parse(event.time) - Date.parse(String(event.detail.occurredAt)))).toBeLessThan(1_000);
    expect(JSON.stringify(event)).not.toMatch(/events-\d+@example\.com|Grace|scrypt|passwordHash/);
  });

  it('publishes Realtime.TopicEventPublished for a new TopicEvent item', async () => {
    const createdAt = new Date().toISOString();
    const topic = `feed:e2e-${Date.now()}`;
    await platform.db.send(
      new PutCommand({
        TableName: domainTable,
        Item: {
          pk: `TOPIC#${topic}`,
          sk: `EVENT#${createdAt}#e2e`,
          entity: 'TopicEvent',
          topic,
          event: 'price.changed',
          payload: { price: 4200 },
          createdAt,
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
        },
      }),
    );
    const event = await eventMatching((e) => e['detail-type'] === 'Realtime.TopicEventPublished' && e.detail.topic === topic);
    expect(event.detail).toMatchObject({ topic, event: 'price.changed', publishedAt: createdAt });
    expect(event.detail).not.toHaveProperty('payload');
  });

  it('skips an item its event cannot be built from, and goes on with the next ones', async () => {
    const id = `broken-${Date.now()}`;
    // A User item without role or createdAt: malformed for User.Registered.
    await platform.db.send(new PutCommand({ TableName: domainTable, Item: { pk: `USER#${id}`, sk: 'PROFILE', entity: 'User', id } }));
    const user = await signup(`after-broken-${Date.now()}@example.com`);

    await eventMatching((e) => e.detail.userId === user.id);
    expect(received.some((e) => e.detail.userId === id)).toBe(false);
    // Skipped, not failed: nothing went to the mapping's on-failure destination.
    const dlqArn = Object.entries(platform.cloud.endpoints.resources['Realtime-local-Stateful'] ?? {}).find(
      ([id, r]) => r.type === 'AWS::SQS::Queue' && /DomainEventsPublisherDeadLetterQueue/.test(id),
    )![1].arn;
    const { failures } = (await (await fetch(`${platform.cloud.endpoints.controlUrl}/failures`)).json()) as {
      failures: { destination: string }[];
    };
    expect(failures.filter((f) => f.destination === dlqArn)).toEqual([]);
    expect(platform.cloud.output()).toMatch(/Stream record skipped: it cannot be mapped to a domain event/);
  });
});
