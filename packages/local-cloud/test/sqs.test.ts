/**
 * The local SQS through the real `@aws-sdk/client-sqs` (body MD5 validation left on): queues from a
 * CDK fixture and from the API, send/receive/delete, message attributes and their MD5, visibility
 * timeouts, delays and redrive on the virtual clock (frozen: only `advance` moves it), FIFO order,
 * group locking and deduplication, long polling, validation errors, delivery by ARN, and SQS →
 * Lambda event-source mappings (partial batch responses ending in the DLQ, filters).
 *
 * The harness wires the service the way the local cloud does: control server, virtual clock,
 * shared `Targets`, Lambda service running the fixture's inline functions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import { Code, FilterCriteria, FilterRule, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListDeadLetterSourceQueuesCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { synthFixture } from '../src/testing';
import { loadAssembly } from '../src/assembly';
import { CloudModel } from '../src/model';
import { VirtualClock } from '../src/clock';
import { ControlServer } from '../src/control';
import { Targets } from '../src/targets';
import { LambdaService } from '../src/lambda/service';
import { SqsService } from '../src/sqs/service';
import { SqsEventSourceMappings, parseBatchItemFailures } from '../src/sqs/event-source';
import { md5OfAttributes } from '../src/sqs/md5';

const START = Date.parse('2030-01-01T00:00:00Z');

/** Reports every message whose body contains "fail" as a failed batch item. */
const PARTIAL = `
exports.handler = async (event) => {
  console.log('BATCH ' + JSON.stringify(event.Records));
  return { batchItemFailures: event.Records.filter((r) => r.body.includes('fail')).map((r) => ({ itemIdentifier: r.messageId })) };
};`;
/** Sends with the SDK the way deployed code does: endpoint from AWS_ENDPOINT_URL_SQS, URL from the environment. */
const SENDER = `
const { SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');
const client = new SQSClient({});
exports.handler = async (event) => {
  const out = await client.send(new SendMessageCommand({ QueueUrl: process.env.PLAIN_QUEUE_URL, MessageBody: event.body }));
  return out.MessageId;
};`;
const CRASHER = `exports.handler = async (event) => { console.log('BATCH ' + JSON.stringify(event.Records)); throw new Error('boom'); };`;
const RECORDER = `exports.handler = async (event) => { console.log('BATCH ' + JSON.stringify(event.Records)); };`;

let model: CloudModel;
let clock: VirtualClock;
let control: ControlServer;
let lambda: LambdaService;
let sqs: SqsService;
let mappings: SqsEventSourceMappings;
let targets: Targets;
let client: SQSClient;
let controlUrl: string;
const functionOutput: string[] = [];
const logs: string[] = [];

const templateQueue = (logicalPrefix: string) =>
  model.resources.find((r) => r.type === 'AWS::SQS::Queue' && r.logicalId.startsWith(logicalPrefix))!;
/** The AWS-style URL the template resolves to (`Ref`), which every operation accepts. */
const templateUrl = (logicalPrefix: string) => templateQueue(logicalPrefix).ref;
const localUrl = (logicalPrefix: string) => sqs.queueUrl(templateQueue(logicalPrefix).physicalId);
/** An SQS event record as the functions print it: the fields the tests read. */
interface PrintedSqsRecord {
  readonly body: string;
  readonly attributes: Record<string, string>;
}
const batches = (fn: string) =>
  functionOutput
    .filter((l) => l.startsWith(`[${fn}] BATCH `))
    .map((l) => JSON.parse(l.slice(l.indexOf('BATCH ') + 6)) as PrintedSqsRecord[]);
const settle = () => clock.settle(20_000);

async function receive(queueUrl: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], ...extra }),
  );
  return out.Messages ?? [];
}

async function counts(queueUrl: string): Promise<{ visible: number; inFlight: number; delayed: number }> {
  const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }));
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed),
  };
}

async function sdkError(promise: Promise<unknown>): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { Code?: string };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  const assembly = synthFixture((app) => {
    const stack = new Stack(app, 'SqsFixture');
    const fn = (id: string, code: string, timeoutSeconds = 5) =>
      new LambdaFunction(stack, id, {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline(code),
        timeout: Duration.seconds(timeoutSeconds),
      });
    new Queue(stack, 'Plain');
    const dlq = new Queue(stack, 'DeadLetters');
    new Queue(stack, 'Poison', { deadLetterQueue: { queue: dlq, maxReceiveCount: 3 } });
    new Queue(stack, 'Ordered', { fifo: true, contentBasedDeduplication: true });
    const workDlq = new Queue(stack, 'Graveyard');
    const work = new Queue(stack, 'Work', {
      visibilityTimeout: Duration.seconds(30),
      deadLetterQueue: { queue: workDlq, maxReceiveCount: 3 },
    });
    const worker = fn('Worker', PARTIAL);
    worker.addEventSource(new SqsEventSource(work, { reportBatchItemFailures: true, batchSize: 5, maxConcurrency: 2 }));
    const filtered = new Queue(stack, 'Filtered');
    const picky = fn('Picky', RECORDER);
    picky.addEventSource(
      new SqsEventSource(filtered, { filters: [FilterCriteria.filter({ body: { kind: FilterRule.isEqual('keep') } })] }),
    );
    const windowed = new Queue(stack, 'Windowed');
    const gatherer = fn('Gatherer', RECORDER);
    gatherer.addEventSource(new SqsEventSource(windowed, { batchSize: 100, maxBatchingWindow: Duration.seconds(20) }));
    const crashes = new Queue(stack, 'Crashes', {
      visibilityTimeout: Duration.seconds(60),
      deadLetterQueue: { queue: new Queue(stack, 'Wreckage'), maxReceiveCount: 2 },
    });
    const crasher = fn('Crasher', CRASHER);
    crasher.addEventSource(new SqsEventSource(crashes));
    fn('Sender', SENDER, 10);
  });
  model = new CloudModel(loadAssembly(assembly));
  clock = new VirtualClock({ factor: 0, start: START });
  targets = new Targets();
  control = new ControlServer({ host: '127.0.0.1', port: 0, clock, context: { region: model.region, accountId: model.accountId } });
  controlUrl = await control.start();
  lambda = new LambdaService(model, {
    clock,
    baseEnvironment: () => ({
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_SQS: controlUrl,
      // What the local cloud must hand functions for a queue URL of the template (see localizeUrls).
      PLAIN_QUEUE_URL: sqs.localizeUrls(templateUrl('Plain')),
    }),
    log: (fn, _fd, text) => {
      for (const line of text.split('\n'))
        if (line)
          functionOutput.push(
            `[${fn.includes('Worker') ? 'Worker' : fn.includes('Picky') ? 'Picky' : fn.includes('Sender') ? 'Sender' : fn.includes('Crasher') ? 'Crasher' : 'Gatherer'}] ${line}`,
          );
    },
  });
  const context = { model, clock, targets, lambda, log: (line: string) => logs.push(line) };
  sqs = new SqsService(context, { endpoint: controlUrl });
  control.registerJson(sqs.jsonService);
  await sqs.start();
  mappings = new SqsEventSourceMappings(context, sqs);
  await mappings.start();
  clock.register({ name: 'SQS', isIdle: () => sqs.isIdle() });
  clock.register({ name: 'SQS event-source mappings', isIdle: () => mappings.isIdle() });
  client = new SQSClient({ endpoint: controlUrl, region: model.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

afterAll(async () => {
  client?.destroy();
  await mappings?.stop();
  await sqs?.stop();
  await lambda?.stop();
  await control?.stop();
  clock?.stop();
});

describe('SQS queues through the SDK', () => {
  it('creates the template queues with their attributes and reports nothing unsupported', async () => {
    expect(model.diagnostics.errors).toEqual([]);
    expect(model.diagnostics.unsupportedItems.filter((d) => d.where.includes('SqsFixture'))).toEqual([]);
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: templateQueue('Poison').physicalId }));
    expect(QueueUrl).toBe(`${controlUrl}/${model.accountId}/${templateQueue('Poison').physicalId}`);
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: templateUrl('Poison'), AttributeNames: ['All'] }));
    expect(Attributes).toMatchObject({
      QueueArn: templateQueue('Poison').arn,
      VisibilityTimeout: '30',
      MessageRetentionPeriod: '345600',
      DelaySeconds: '0',
      ReceiveMessageWaitTimeSeconds: '0',
      ApproximateNumberOfMessages: '0',
      CreatedTimestamp: String(START / 1000),
    });
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: templateQueue('DeadLetters').arn, maxReceiveCount: 3 });
    const fifo = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: templateUrl('Ordered'), AttributeNames: ['FifoQueue', 'ContentBasedDeduplication'] }),
    );
    expect(fifo.Attributes).toEqual({ FifoQueue: 'true', ContentBasedDeduplication: 'true' });
    const sources = await client.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: localUrl('DeadLetters') }));
    expect(sources.queueUrls).toEqual([localUrl('Poison')]);
  });

  it('sends, receives and deletes, with attributes and their MD5 digests', async () => {
    const url = templateUrl('Plain');
    const sent = await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'héllo 😀',
        MessageAttributes: {
          timestamp: { DataType: 'Number', StringValue: '1493147359900' },
          'order.id': { DataType: 'String', StringValue: 'o-1' },
          blob: { DataType: 'Binary', BinaryValue: new Uint8Array([2, 3, 4]) },
        },
      }),
    );
    expect(sent.MD5OfMessageAttributes).toBe(
      md5OfAttributes({
        timestamp: { DataType: 'Number', StringValue: '1493147359900' },
        'order.id': { DataType: 'String', StringValue: 'o-1' },
        blob: { DataType: 'Binary', BinaryValue: Buffer.from([2, 3, 4]) },
      }),
    );
    const [message] = await receive(localUrl('Plain'), { MessageAttributeNames: ['All'] });
    expect(message).toMatchObject({
      MessageId: sent.MessageId,
      Body: 'héllo 😀',
      MD5OfBody: sent.MD5OfMessageBody,
      MD5OfMessageAttributes: sent.MD5OfMessageAttributes,
    });
    expect(message!.MessageAttributes!.blob!.BinaryValue).toEqual(new Uint8Array([2, 3, 4]));
    expect(message!.Attributes).toMatchObject({
      ApproximateReceiveCount: '1',
      SentTimestamp: String(START),
      ApproximateFirstReceiveTimestamp: String(START),
      SenderId: model.accountId,
    });
    // A subset of the attributes comes with the digest of that subset.
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 }));
    const [again] = await receive(url, { MessageAttributeNames: ['order.*'] });
    expect(Object.keys(again!.MessageAttributes!)).toEqual(['order.id']);
    expect(again!.MD5OfMessageAttributes).toBe(md5OfAttributes({ 'order.id': { DataType: 'String', StringValue: 'o-1' } }));
    // The older receipt handle no longer deletes it; the latest does.
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again!.ReceiptHandle }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('brings a message back when its visibility timeout expires on the virtual clock', async () => {
    const url = localUrl('Plain');
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'again' }));
    const [first] = await receive(url);
    expect(await receive(url)).toEqual([]);
    await clock.advance(29);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    await clock.advance(2);
    const [second] = await receive(url);
    expect(second!.MessageId).toBe(first!.MessageId);
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);
    expect(second!.Attributes).toMatchObject({ ApproximateReceiveCount: '2', ApproximateFirstReceiveTimestamp: String(START) });
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', ReceiptHandle: second!.ReceiptHandle },
          { Id: 'b', ReceiptHandle: 'bogus' },
        ],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: 'a' }]);
    expect(deleted.Failed).toMatchObject([{ Id: 'b', Code: 'ReceiptHandleIsInvalid', SenderFault: true }]);
  });

  it('delays a message sent with DelaySeconds', async () => {
    const url = localUrl('Plain');
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'later', DelaySeconds: 60 }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    expect(await receive(url)).toEqual([]);
    await clock.advance(60);
    const [message] = await receive(url);
    expect(message!.Body).toBe('later');
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
  });

  it('moves a poison message to the dead-letter queue after maxReceiveCount receives', async () => {
    const url = localUrl('Poison');
    const sentAt = clock.now();
    const { MessageId } = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    for (let i = 1; i <= 3; i++) {
      const [message] = await receive(url);
      expect(message!.Attributes!.ApproximateReceiveCount).toBe(String(i));
      await clock.advance(30);
    }
    // The fourth receive attempt moves it instead of returning it.
    expect(await receive(url)).toEqual([]);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const [dead] = await receive(localUrl('DeadLetters'));
    expect(dead).toMatchObject({ MessageId, Body: 'poison' });
    expect(dead!.Attributes).toMatchObject({
      SentTimestamp: String(sentAt),
      ApproximateReceiveCount: '1',
      DeadLetterQueueSourceArn: templateQueue('Poison').arn,
    });
    await client.send(new DeleteMessageCommand({ QueueUrl: localUrl('DeadLetters'), ReceiptHandle: dead!.ReceiptHandle }));
  });

  it('keeps FIFO order per group, locks a group while a message is in flight, and deduplicates', async () => {
    const url = localUrl('Ordered');
    const send = (body: string, group: string, dedup?: string) =>
      client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageGroupId: group, MessageDeduplicationId: dedup }));
    const a1 = await send('a1', 'A');
    await send('b1', 'B');
    await send('a2', 'A');
    await send('a3', 'A');
    const duplicate = await send('a1', 'A');
    expect(duplicate.MessageId).toBe(a1.MessageId);
    expect(duplicate.SequenceNumber).toBe(a1.SequenceNumber);
    expect(a1.SequenceNumber).toMatch(/^\d{20}$/);
    expect(await counts(url)).toMatchObject({ visible: 4 });

    const [first] = await receive(url, { MaxNumberOfMessages: 1 });
    expect(first!.Body).toBe('a1');
    expect(first!.Attributes).toMatchObject({ MessageGroupId: 'A', SequenceNumber: a1.SequenceNumber });
    // Group A is locked while a1 is in flight: only B comes.
    expect((await receive(url)).map((m) => m.Body)).toEqual(['b1']);
    expect(await receive(url)).toEqual([]);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: first!.ReceiptHandle }));
    const rest = await receive(url);
    expect(rest.map((m) => m.Body)).toEqual(['a2', 'a3']);
    // After the deduplication window the same body is a new message.
    await clock.advance(5 * 60);
    const fresh = await send('a1', 'A');
    expect(fresh.MessageId).not.toBe(a1.MessageId);
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('answers a long poll as soon as a message arrives', async () => {
    const url = localUrl('Plain');
    const started = Date.now();
    const polling = receive(url, { WaitTimeSeconds: 10 });
    await new Promise((r) => setTimeout(r, 100));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'awaited' }));
    const [message] = await polling;
    expect(message!.Body).toBe('awaited');
    expect(Date.now() - started).toBeLessThan(3_000);
    await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle }));
    // With nothing arriving it returns empty once the (virtual) wait time has passed.
    const empty = receive(url, { WaitTimeSeconds: 20 });
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(20);
    expect(await empty).toEqual([]);
  });

  it('rejects bad input with the SQS error codes', async () => {
    const url = localUrl('Plain');
    const missing = await sdkError(
      client.send(new SendMessageCommand({ QueueUrl: `${controlUrl}/${model.accountId}/nope`, MessageBody: 'x' })),
    );
    expect(missing).toBeInstanceOf(QueueDoesNotExist);
    expect(missing.Code).toBe('AWS.SimpleQueueService.NonExistentQueue');
    const tooBig = await sdkError(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(1_048_577) })));
    expect(tooBig).toMatchObject({ name: 'InvalidParameterValue', Code: 'InvalidParameterValue' });
    expect(tooBig.message).toContain('Message must be shorter than 1048576 bytes');
    const delay = await sdkError(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x', DelaySeconds: 901 })));
    expect(delay.name).toBe('InvalidParameterValue');
    const character = await sdkError(client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'bad \u0000 char' })));
    expect(character.name).toBe('InvalidMessageContents');
    const fifoDelay = await sdkError(
      client.send(new SendMessageCommand({ QueueUrl: localUrl('Ordered'), MessageBody: 'x', MessageGroupId: 'g', DelaySeconds: 5 })),
    );
    expect(fifoDelay.name).toBe('InvalidParameterValue');
    const noGroup = await sdkError(client.send(new SendMessageCommand({ QueueUrl: localUrl('Ordered'), MessageBody: 'x' })));
    expect(noGroup.name).toBe('MissingParameter');
    const max = await sdkError(client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 11 })));
    expect(max.name).toBe('InvalidParameterValue');
    const name = await sdkError(client.send(new CreateQueueCommand({ QueueName: 'bad name!' })));
    expect(name.name).toBe('InvalidParameterValue');
    const attribute = await sdkError(client.send(new CreateQueueCommand({ QueueName: 'ok', Attributes: { VisibilityTimeout: '43201' } })));
    expect(attribute.name).toBe('InvalidAttributeValue');
    const unknown = await sdkError(
      client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { Bogus: '1' } as Record<string, string> })),
    );
    expect(unknown.name).toBe('InvalidAttributeName');
    const batch = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', MessageBody: 'fine' },
          { Id: 'late', MessageBody: 'x', DelaySeconds: 1000 },
        ],
      }),
    );
    expect(batch.Successful!.map((s) => s.Id)).toEqual(['ok']);
    expect(batch.Failed).toMatchObject([{ Id: 'late', Code: 'InvalidParameterValue', SenderFault: true }]);
    await client.send(new PurgeQueueCommand({ QueueUrl: url }));
    const purge = await sdkError(client.send(new PurgeQueueCommand({ QueueUrl: url })));
    expect(purge.name).toBe('PurgeQueueInProgress');
  });

  it('drops messages past the retention period and limits visibility changes', async () => {
    const { QueueUrl: url } = await client.send(
      new CreateQueueCommand({ QueueName: 'short-lived', Attributes: { MessageRetentionPeriod: '120' } }),
    );
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'ephemeral' }));
    await clock.advance(100);
    const [message] = await receive(url!);
    // 12 hours at most from the receive: 10 s later, 43,200 more seconds is too much.
    await clock.advance(10);
    const tooLong = await sdkError(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 43_200 })),
    );
    expect(tooLong.message).toContain('Total VisibilityTimeout for the message is beyond the limit');
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 0 }));
    const notInFlight = await sdkError(
      client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: message!.ReceiptHandle, VisibilityTimeout: 10 })),
    );
    expect(notInFlight.name).toBe('MessageNotInflight');
    expect(await counts(url!)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    await clock.advance(10);
    expect(await counts(url!)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await receive(url!)).toEqual([]);
  });

  it('creates, lists and deletes queues through the API, idempotently', async () => {
    const created = await client.send(new CreateQueueCommand({ QueueName: 'api-made', Attributes: { VisibilityTimeout: '5' } }));
    expect(created.QueueUrl).toBe(`${controlUrl}/${model.accountId}/api-made`);
    expect((await client.send(new CreateQueueCommand({ QueueName: 'api-made', Attributes: { VisibilityTimeout: '5' } }))).QueueUrl).toBe(
      created.QueueUrl,
    );
    expect(
      await sdkError(client.send(new CreateQueueCommand({ QueueName: 'api-made', Attributes: { VisibilityTimeout: '6' } }))),
    ).toBeInstanceOf(QueueNameExists);
    const listed = await client.send(new ListQueuesCommand({ QueueNamePrefix: 'api-' }));
    expect(listed.QueueUrls).toEqual([created.QueueUrl]);
    await client.send(new DeleteQueueCommand({ QueueUrl: created.QueueUrl }));
    expect(await sdkError(client.send(new GetQueueUrlCommand({ QueueName: 'api-made' })))).toBeInstanceOf(QueueDoesNotExist);
    expect((await sdkError(client.send(new CreateQueueCommand({ QueueName: 'api-made' })))).name).toBe('QueueDeletedRecently');
  });

  it('delivers to a queue by ARN for the other local services', async () => {
    await targets.deliver({
      arn: templateQueue('Plain').arn!,
      input: '{"from":"a rule"}',
      messageAttributes: { RULE_ARN: { DataType: 'String', StringValue: 'arn:r' } },
    });
    await targets.deliver({ arn: templateQueue('Ordered').arn!, input: 'grouped', messageGroupId: 'g1', messageDeduplicationId: 'd1' });
    const [plain] = await receive(localUrl('Plain'), { MessageAttributeNames: ['All'] });
    expect(plain!.Body).toBe('{"from":"a rule"}');
    expect(plain!.MessageAttributes).toEqual({ RULE_ARN: { DataType: 'String', StringValue: 'arn:r' } });
    const [fifo] = await receive(localUrl('Ordered'));
    expect(fifo!.Attributes).toMatchObject({ MessageGroupId: 'g1', MessageDeduplicationId: 'd1' });
  });
});

describe('SQS from a function', () => {
  it('is reached by an SDK client configured through AWS_ENDPOINT_URL_SQS with a localized queue URL', async () => {
    expect(sqs.localizeUrls(`QUEUE=${templateUrl('Plain')};`)).toBe(`QUEUE=${localUrl('Plain')};`);
    const sender = [...lambda.functions.keys()].find((name) => name.includes('Sender'))!;
    const result = await lambda.invoke(sender, { body: 'from a function' });
    expect(result.ok).toBe(true);
    const [message] = await receive(localUrl('Plain'));
    expect(message).toMatchObject({ MessageId: JSON.parse((result as { payload: string }).payload), Body: 'from a function' });
    await client.send(new DeleteMessageCommand({ QueueUrl: localUrl('Plain'), ReceiptHandle: message!.ReceiptHandle }));
  });
});

describe('SQS → Lambda event-source mappings', () => {
  it('reads the mappings of the template', () => {
    expect(
      mappings.mappings.map((m) => [m.fn.spec.name.includes('Worker'), m.batchSize, m.pollers, m.reportBatchItemFailures]),
    ).toContainEqual([true, 5, 2, true]);
  });

  it('deletes the successes of a partial batch; the failure returns and ends in the DLQ', async () => {
    const url = localUrl('Work');
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ['one', 'two', 'please fail', 'three'].map((body, i) => ({
          Id: `m${i}`,
          MessageBody: body,
          ...(i === 0 ? { MessageAttributes: { kind: { DataType: 'String', StringValue: 'greeting' } } } : {}),
        })),
      }),
    );
    await settle();
    const first = batches('Worker');
    expect(first).toHaveLength(1);
    expect(first[0]!.map((r) => r.body)).toEqual(['one', 'two', 'please fail', 'three']);
    expect(first[0]![0]).toMatchObject({
      messageId: sent.Successful![0]!.MessageId,
      body: 'one',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.any(String),
        SenderId: model.accountId,
        ApproximateFirstReceiveTimestamp: expect.any(String),
      },
      messageAttributes: { kind: { stringValue: 'greeting', stringListValues: [], binaryListValues: [], dataType: 'String' } },
      md5OfBody: sent.Successful![0]!.MD5OfMessageBody,
      md5OfMessageAttributes: sent.Successful![0]!.MD5OfMessageAttributes,
      eventSource: 'aws:sqs',
      eventSourceARN: templateQueue('Work').arn,
      awsRegion: model.region,
    });
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

    // Each visibility timeout brings the failure back; after the third receive it moves to the DLQ.
    await clock.advance(30);
    await clock.advance(30);
    expect(
      batches('Worker')
        .slice(1)
        .map((b) => b.map((r) => [r.body, r.attributes.ApproximateReceiveCount])),
    ).toEqual([[['please fail', '2']], [['please fail', '3']]]);
    await clock.advance(30);
    expect(batches('Worker')).toHaveLength(3);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const [dead] = await receive(localUrl('Graveyard'));
    expect(dead).toMatchObject({ Body: 'please fail', MessageId: sent.Successful![2]!.MessageId });
  });

  it('returns a whole batch after a function error, until the redrive policy moves it', async () => {
    const url = localUrl('Crashes');
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: ['x', 'y'].map((body) => ({ Id: body, MessageBody: body })) }));
    await settle();
    expect(batches('Crasher').map((b) => b.map((r) => r.body))).toEqual([['x', 'y']]);
    expect(logs.some((line) => line.includes('Crasher') && line.includes('Error: boom'))).toBe(true);
    await clock.advance(59);
    expect(batches('Crasher')).toHaveLength(1);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 2, delayed: 0 });
    await clock.advance(1);
    expect(batches('Crasher').map((b) => b.map((r) => [r.body, r.attributes.ApproximateReceiveCount]))).toEqual([
      [
        ['x', '1'],
        ['y', '1'],
      ],
      [
        ['x', '2'],
        ['y', '2'],
      ],
    ]);
    await clock.advance(60);
    expect(batches('Crasher')).toHaveLength(2);
    expect((await receive(localUrl('Wreckage'))).map((m) => m.Body).sort()).toEqual(['x', 'y']);
  });

  it('deletes the messages no filter matches and delivers the others', async () => {
    const url = localUrl('Filtered');
    for (const body of [JSON.stringify({ kind: 'drop' }), JSON.stringify({ kind: 'keep', n: 1 }), 'plain text']) {
      await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    }
    await settle();
    expect(
      batches('Picky')
        .flat()
        .map((r) => r.body),
    ).toEqual([JSON.stringify({ kind: 'keep', n: 1 })]);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('gathers a batch for the batching window (virtual time)', async () => {
    const url = localUrl('Windowed');
    await client.send(
      new SendMessageBatchCommand({ QueueUrl: url, Entries: [1, 2, 3].map((n) => ({ Id: `a${n}`, MessageBody: `a${n}` })) }),
    );
    await settle();
    expect(batches('Gatherer')).toEqual([]);
    await clock.advance(5);
    await client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [4, 5].map((n) => ({ Id: `b${n}`, MessageBody: `b${n}` })) }));
    await settle();
    expect(batches('Gatherer')).toEqual([]);
    await clock.advance(15);
    expect(batches('Gatherer').map((b) => b.map((r) => r.body).sort())).toEqual([['a1', 'a2', 'a3', 'b4', 'b5']]);
    expect(await counts(url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('reads ReportBatchItemFailures responses as Lambda documents', () => {
    const ids = new Set(['m1', 'm2']);
    expect(parseBatchItemFailures('null', ids)).toEqual({ kind: 'success' });
    expect(parseBatchItemFailures('{"batchItemFailures":[]}', ids)).toEqual({ kind: 'success' });
    expect(parseBatchItemFailures('{"batchItemFailures":[{"itemIdentifier":"m2"}]}', ids)).toEqual({
      kind: 'partial',
      failed: new Set(['m2']),
    });
    expect(parseBatchItemFailures('{"batchItemFailures":[{"itemIdentifier":""}]}', ids).kind).toBe('failure');
    expect(parseBatchItemFailures('{"batchItemFailures":[{"itemIdentifier":"other"}]}', ids).kind).toBe('failure');
    expect(parseBatchItemFailures('not json', ids).kind).toBe('failure');
  });
});

describe('MD5 of message attributes', () => {
  // Digests pinned by moto's SQS tests as what AWS returns for these attributes.
  it('matches the digests AWS returns', () => {
    expect(md5OfAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359900' } })).toBe('235c5c510d26fb653d073faed50ae77c');
    expect(md5OfAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359901' } })).toBe('994258b45346a2cc3f9cbb611aa7af30');
    expect(
      md5OfAttributes({
        ccc: { DataType: 'String', StringValue: 'testjunk' },
        aaa: { DataType: 'Binary', BinaryValue: Buffer.from([2, 3, 4]) },
        zzz: { DataType: 'Number', StringValue: '0230.01' },
        öther_encodings: { DataType: 'String', StringValue: 'Tüst' },
      }),
    ).toBe('8ae21a7957029ef04146b42aeaa18a22');
  });
});
