/**
 * DynamoDB Streams → Lambda event-source mappings in the local cloud: event shape, filtering,
 * partial batch responses, bisection with an on-failure destination, retries after a timeout,
 * template diagnostics, and the `idle()` / `stop()` contract.
 *
 * Functions report what they received by printing marked JSON lines (captured in `output`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, FilterCriteria, FilterRule, Function as LambdaFunction, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import {
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { eventually, startCloud, synthFixture, type TestCloud } from '../src/testing';
import { DynamoDbServer } from '../src/dynamodb/server';
import { loadAssembly } from '../src/assembly';
import { CloudModel } from '../src/model';
import { LambdaService } from '../src/lambda/service';
import { createTables, type LocalTable } from '../src/dynamodb/tables';
import { StreamEventSourceMappings } from '../src/streams/stream-mappings';
import { toAttributeJson } from '../src/streams/dynamodb-json';
import { creationSeconds, type DynamoDBStreamEventRecord, type ShardRecord } from '../src/streams/records';
import { BatchDelivery, parseBatchItemFailures, type DeliveryConfig } from '../src/streams/delivery';
import type { InvokeResult, LocalFunction } from '../src/lambda/service';

const LOG_EVENT = `exports.handler = async (event) => { console.log('EVENT ' + JSON.stringify(event)); };`;

const PARTIAL = `
const seen = new Set();
exports.handler = async (event) => {
  console.log('BATCH ' + JSON.stringify(event.Records.map((r) => r.dynamodb.Keys.pk.S)));
  for (const r of event.Records) {
    const image = r.dynamodb.NewImage || {};
    const seq = r.dynamodb.SequenceNumber;
    if (seen.has(seq)) continue;
    if (image.fail) { seen.add(seq); return { batchItemFailures: [{ itemIdentifier: seq }] }; }
    if (image.bogus) { seen.add(seq); return { batchItemFailures: [{ itemIdentifier: 'no-such-sequence-number' }] }; }
  }
  return { batchItemFailures: [] };
};`;

const BISECT = `
exports.handler = async (event) => {
  const keys = event.Records.map((r) => r.dynamodb.Keys.pk.S);
  const poison = event.Records.find((r) => r.dynamodb.NewImage && r.dynamodb.NewImage.poison);
  console.log('BATCH ' + JSON.stringify({ keys, ok: !poison, seqs: event.Records.map((r) => r.dynamodb.SequenceNumber) }));
  if (poison) throw new Error('poison record ' + poison.dynamodb.Keys.pk.S);
};`;

const SLOW_ONCE = `
const fs = require('fs');
const path = require('path');
exports.handler = async (event) => {
  const key = event.Records[0].dynamodb.Keys.pk.S;
  const marker = path.join(process.env.MARKER_DIR, key);
  console.log('ATTEMPT ' + key);
  if (!fs.existsSync(marker)) {
    fs.writeFileSync(marker, 'first attempt');
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  console.log('DONE ' + key);
};`;

const markerDir = mkdtempSync(join(tmpdir(), 'stream-mapping-markers-'));

function streamTable(stack: Stack, id: string): Table {
  return new Table(stack, id, {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    stream: StreamViewType.NEW_AND_OLD_IMAGES,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

function inlineFunction(stack: Stack, id: string, code: string, timeoutSeconds = 10): LambdaFunction {
  return new LambdaFunction(stack, id, {
    runtime: Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: Code.fromInline(code),
    timeout: Duration.seconds(timeoutSeconds),
    environment: { MARKER_DIR: markerDir },
  });
}

let dynamodb: DynamoDbServer;
let client: DynamoDBClient;

beforeAll(async () => {
  dynamodb = await DynamoDbServer.start();
  client = new DynamoDBClient({
    endpoint: dynamodb.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client?.destroy();
  await dynamodb?.stop();
});

async function put(tableName: string, item: Record<string, AttributeValue>): Promise<void> {
  await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
}

describe('DynamoDB stream mappings in the local cloud', () => {
  let test: TestCloud;
  const tableName = (logicalPrefix: string) => tableOf(test.cloud.tables, logicalPrefix).name;

  beforeAll(async () => {
    const assembly = synthFixture((app) => {
      const stack = new Stack(app, 'StreamMappings');
      const items = streamTable(stack, 'Items');
      inlineFunction(stack, 'Recorder', LOG_EVENT).addEventSource(
        new DynamoEventSource(items, { startingPosition: StartingPosition.LATEST }),
      );
      inlineFunction(stack, 'Comments', LOG_EVENT).addEventSource(
        new DynamoEventSource(items, {
          startingPosition: StartingPosition.TRIM_HORIZON,
          filters: [
            FilterCriteria.filter({
              eventName: FilterRule.isEqual('INSERT'),
              dynamodb: { NewImage: { type: { S: FilterRule.isEqual('comment') } } },
            }),
          ],
        }),
      );

      inlineFunction(stack, 'Partial', PARTIAL).addEventSource(
        new DynamoEventSource(streamTable(stack, 'PartialItems'), {
          startingPosition: StartingPosition.LATEST,
          batchSize: 5,
          maxBatchingWindow: Duration.seconds(1),
          reportBatchItemFailures: true,
        }),
      );

      const dlq = new Queue(stack, 'StreamDlq');
      inlineFunction(stack, 'Bisect', BISECT).addEventSource(
        new DynamoEventSource(streamTable(stack, 'BisectItems'), {
          startingPosition: StartingPosition.LATEST,
          batchSize: 8,
          maxBatchingWindow: Duration.seconds(2),
          bisectBatchOnError: true,
          retryAttempts: 1,
          onFailure: new SqsDlq(dlq),
        }),
      );

      inlineFunction(stack, 'Slow', SLOW_ONCE, 1).addEventSource(
        new DynamoEventSource(streamTable(stack, 'SlowItems'), { startingPosition: StartingPosition.LATEST, batchSize: 1 }),
      );

      // Not emulated: reported at start-up by name.
      const misc = inlineFunction(stack, 'Misc', LOG_EVENT);
      misc.addEventSource(new SqsEventSource(new Queue(stack, 'Inbox')));
      misc.addEventSource(
        new DynamoEventSource(streamTable(stack, 'MiscItems'), {
          startingPosition: StartingPosition.LATEST,
          parallelizationFactor: 2,
          tumblingWindow: Duration.seconds(30),
        }),
      );
    });
    test = await startCloud(assembly, { dynamodb });
  });

  afterAll(async () => {
    await test?.stop();
  });

  /** Parsed JSON of the lines `marker <json>` that the function whose logical id starts with `fn` printed. */
  function printedLines(fn: string, marker: string): string[] {
    const name = functionName(test.cloud.lambda, fn);
    return test.output
      .filter((line) => line.startsWith(`[${name}] `))
      .flatMap((line) => line.slice(name.length + 3).split('\n'))
      .filter((line) => line.startsWith(`${marker} `))
      .map((line) => line.slice(marker.length + 1));
  }
  function printed<T = unknown>(fn: string, marker: string): T[] {
    return printedLines(fn, marker).map((line) => JSON.parse(line) as T);
  }

  it('delivers inserts, modifications and removals with the record shape Lambda sends', async () => {
    const table = tableOf(test.cloud.tables, 'Items');
    const before = Math.floor(Date.now() / 1000);
    await put(table.name, {
      pk: { S: 'a1' },
      type: { S: 'comment' },
      bin: { B: new Uint8Array([1, 2, 3]) },
      num: { N: '42' },
      nested: { M: { list: { L: [{ S: 'x' }, { B: new Uint8Array([255]) }] } } },
      tags: { SS: ['x', 'y'] },
      flag: { BOOL: true },
      nothing: { NULL: true },
    });
    await put(table.name, { pk: { S: 'a1' }, type: { S: 'comment' }, v: { S: '2' } });
    await put(table.name, { pk: { S: 'a2' }, type: { S: 'post' } });
    await client.send(new DeleteItemCommand({ TableName: table.name, Key: { pk: { S: 'a1' } } }));
    await put(table.name, { pk: { S: 'a3' }, type: { S: 'comment' } });
    const after = Math.ceil(Date.now() / 1000);

    const records = (await eventually(() => {
      const all = printed<{ Records: DynamoDBStreamEventRecord[] }>('Recorder', 'EVENT').flatMap((e) => e.Records);
      return all.length >= 5 ? all : undefined;
    }))!;
    expect(records.map((r) => [r.eventName, r.dynamodb.Keys.pk.S])).toEqual([
      ['INSERT', 'a1'],
      ['MODIFY', 'a1'],
      ['INSERT', 'a2'],
      ['REMOVE', 'a1'],
      ['INSERT', 'a3'],
    ]);
    const sequenceNumbers = records.map((r) => BigInt(r.dynamodb.SequenceNumber));
    expect([...sequenceNumbers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(sequenceNumbers);
    expect(new Set(sequenceNumbers).size).toBe(5);

    const [insert, modify, , remove] = records;
    expect(Object.keys(insert)).toEqual(['eventID', 'eventName', 'eventVersion', 'eventSource', 'awsRegion', 'dynamodb', 'eventSourceARN']);
    expect(insert).toMatchObject({
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: table.streamArn,
    });
    expect(insert.eventID).toMatch(/^[0-9a-f]{32}$/);
    expect(insert.eventSourceARN).toMatch(new RegExp(`^arn:aws:dynamodb:[^:]+:\\d{12}:table/${table.name}/stream/.+`));
    expect(insert.dynamodb).toEqual({
      ApproximateCreationDateTime: expect.any(Number),
      Keys: { pk: { S: 'a1' } },
      NewImage: {
        pk: { S: 'a1' },
        type: { S: 'comment' },
        bin: { B: 'AQID' },
        num: { N: '42' },
        nested: { M: { list: { L: [{ S: 'x' }, { B: '/w==' }] } } },
        tags: { SS: ['x', 'y'] },
        flag: { BOOL: true },
        nothing: { NULL: true },
      },
      SequenceNumber: expect.stringMatching(/^\d+$/),
      SizeBytes: expect.any(Number),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    });
    expect(Number.isInteger(insert.dynamodb.ApproximateCreationDateTime)).toBe(true);
    expect(insert.dynamodb.ApproximateCreationDateTime).toBeGreaterThanOrEqual(before - 1);
    expect(insert.dynamodb.ApproximateCreationDateTime).toBeLessThanOrEqual(after + 1);
    expect(insert.dynamodb.SizeBytes).toBeGreaterThan(0);
    expect(modify.dynamodb.OldImage).toMatchObject({ pk: { S: 'a1' }, bin: { B: 'AQID' } });
    expect(modify.dynamodb.NewImage).toEqual({ pk: { S: 'a1' }, type: { S: 'comment' }, v: { S: '2' } });
    expect(remove.dynamodb.NewImage).toBeUndefined();
    expect(remove.dynamodb.OldImage).toEqual({ pk: { S: 'a1' }, type: { S: 'comment' }, v: { S: '2' } });
  });

  it('drops the records no filter matches', async () => {
    // Written by the previous test: two comment inserts, a comment update, a post insert, a removal.
    const delivered = (await eventually(() => {
      const all = printed<{ Records: DynamoDBStreamEventRecord[] }>('Comments', 'EVENT').flatMap((e) => e.Records);
      return all.some((r) => r.dynamodb.Keys.pk.S === 'a3') ? all : undefined;
    }))!;
    expect(delivered.map((r) => [r.eventName, r.dynamodb.Keys.pk.S])).toEqual([
      ['INSERT', 'a1'],
      ['INSERT', 'a3'],
    ]);
  });

  it('with ReportBatchItemFailures, retries from the lowest failed record only, in order', async () => {
    const table = tableName('PartialItems');
    const extras: Array<Record<string, AttributeValue>> = [{}, {}, { fail: { BOOL: true } }, {}, {}];
    for (const [i, extra] of extras.entries()) {
      await put(table, { pk: { S: `p${i + 1}` }, ...extra });
    }
    await eventually(() => printed('Partial', 'BATCH').length >= 2);
    // An identifier that is not a sequence number of the batch fails the whole batch.
    await put(table, { pk: { S: 'q1' } });
    await put(table, { pk: { S: 'q2' }, bogus: { BOOL: true } });
    await eventually(() => printed('Partial', 'BATCH').length >= 4);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive
    expect(printed('Partial', 'BATCH')).toEqual([
      ['p1', 'p2', 'p3', 'p4', 'p5'],
      ['p3', 'p4', 'p5'],
      ['q1', 'q2'],
      ['q1', 'q2'],
    ]);
  });

  it('bisects a failing batch, discards the poison record to the on-failure destination and delivers the rest', async () => {
    const table = tableName('BisectItems');
    // One transaction, so the eight records reach the stream together and form one batch even
    // when the machine is too busy for eight separate writes to land within one poll.
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: Array.from({ length: 8 }, (_, n) => ({
          Put: { TableName: table, Item: { pk: { S: `b${n + 1}` }, ...(n + 1 === 5 ? { poison: { BOOL: true } } : {}) } },
        })),
      }),
    );
    type Batch = { keys: string[]; ok: boolean; seqs: string[] };
    await eventually(() => printed<Batch>('Bisect', 'BATCH').some((b) => b.ok && b.keys.includes('b8')), 15_000);
    const batches = printed<Batch>('Bisect', 'BATCH');
    expect(batches.map((b) => [b.keys.join(','), b.ok])).toEqual([
      ['b1,b2,b3,b4,b5,b6,b7,b8', false],
      ['b1,b2,b3,b4', true],
      ['b5,b6,b7,b8', false],
      ['b5,b6', false],
      ['b5', false], // a single record cannot be split: from here retries count (retryAttempts 1)
      ['b5', false],
      ['b6', true],
      ['b7,b8', true],
    ]);
    expect(batches.filter((b) => b.ok).flatMap((b) => b.keys)).toEqual(['b1', 'b2', 'b3', 'b4', 'b6', 'b7', 'b8']);

    const poisonSeq = batches[4]!.seqs[0];
    const queueArn = test.cloud.model.ofType('AWS::SQS::Queue').find((q) => q.logicalId.startsWith('StreamDlq'))!.arn;
    const failures = (await eventually(async () => {
      const response = await fetch(`${test.cloud.endpoints.controlUrl}/failures`);
      const body = (await response.json()) as { failures: Array<{ destination: string; record: unknown }> };
      return body.failures.length > 0 ? body.failures : undefined;
    }))!;
    expect(failures).toHaveLength(1);
    expect(failures[0]!.destination).toBe(queueArn);
    const record = failures[0]!.record;
    const fn = test.cloud.lambda.get(functionName(test.cloud.lambda, 'Bisect'))!;
    expect(record).toEqual({
      requestContext: {
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        functionArn: fn.spec.arn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 5,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: expect.stringMatching(/^(Handled|Unhandled)$/) },
      version: '1.0',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      DDBStreamBatchInfo: {
        shardId: expect.stringMatching(/^shardId-/),
        startSequenceNumber: poisonSeq,
        endSequenceNumber: poisonSeq,
        approximateArrivalOfFirstRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        approximateArrivalOfLastRecord: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        batchSize: 1,
        streamArn: tableOf(test.cloud.tables, 'BisectItems').streamArn,
      },
    });
  });

  it('retries a batch whose invocation timed out', async () => {
    await put(tableName('SlowItems'), { pk: { S: 's1' } });
    await eventually(() => printedLines('Slow', 'DONE').length > 0, 15_000);
    const slow = functionName(test.cloud.lambda, 'Slow');
    expect(test.output.some((line) => line.startsWith(`[${slow}] `) && line.includes('Task timed out after 1.00 seconds'))).toBe(true);
    expect(printedLines('Slow', 'ATTEMPT')).toEqual(['s1', 's1']);
    expect(printedLines('Slow', 'DONE')).toEqual(['s1']);
  });

  it('names what it does not emulate', () => {
    const items = test.cloud.model.diagnostics.items;
    const unsupported = items.filter((d) => d.severity === 'unsupported');
    const sqsMapping = test.cloud.model
      .ofType('AWS::Lambda::EventSourceMapping')
      .find((m) => String(test.cloud.model.properties(m).EventSourceArn).startsWith('arn:aws:sqs:'))!;
    // SQS mappings belong to the SQS emulation, not to the stream mappings.
    expect(unsupported.find((d) => d.where === sqsMapping.where)).toBeUndefined();
    expect(unsupported.some((d) => d.where.endsWith('/ParallelizationFactor'))).toBe(true);
    expect(unsupported.some((d) => d.where.endsWith('/TumblingWindowInSeconds'))).toBe(true);
    expect(items.filter((d) => d.severity === 'error')).toEqual([]);
  });
});

describe('StreamEventSourceMappings.idle() and stop()', () => {
  const SINK = `
exports.handler = async (event) => {
  for (const r of event.Records) {
    const key = r.dynamodb.Keys.pk.S;
    console.log('START ' + key);
    if (key.startsWith('slow')) await new Promise((resolve) => setTimeout(resolve, 600));
    console.log('END ' + key);
  }
};`;
  let lambda: LambdaService;
  let mappings: StreamEventSourceMappings;
  let table: LocalTable;
  const output: string[] = [];
  const logs: string[] = [];
  let timersBefore = 0;

  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const lines = (marker: string) =>
    output
      .flatMap((t) => t.split('\n'))
      .filter((l) => l.startsWith(`${marker} `))
      .map((l) => l.slice(marker.length + 1));

  beforeAll(async () => {
    const assembly = synthFixture((app) => {
      const stack = new Stack(app, 'StreamIdle');
      inlineFunction(stack, 'Sink', SINK).addEventSource(
        new DynamoEventSource(streamTable(stack, 'Events'), { startingPosition: StartingPosition.TRIM_HORIZON, batchSize: 10 }),
      );
    });
    const model = new CloudModel(loadAssembly(assembly));
    lambda = new LambdaService(model, {
      baseEnvironment: () => ({ AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
      log: (_fn, _fd, text) => output.push(text),
    });
    const tables = await createTables(model, client);
    table = tableOf(tables, 'Events');
    timersBefore = timers();
    mappings = new StreamEventSourceMappings({
      model,
      lambda,
      tables,
      dynamodbEndpoint: dynamodb.endpoint,
      onFailure: () => {},
      pollIntervalMs: 20,
      log: (line) => logs.push(line),
    });
    await mappings.start();
  });

  afterAll(async () => {
    await mappings?.stop();
    await lambda?.stop();
  });

  it('idle() resolves only once everything written before the call was delivered', async () => {
    await Promise.all(Array.from({ length: 25 }, (_, i) => put(table.name, { pk: { S: `k${i}` } })));
    await mappings.idle({ timeoutMs: 10_000 });
    expect(new Set(lines('END'))).toEqual(new Set(Array.from({ length: 25 }, (_, i) => `k${i}`)));
    expect(mappings.mappings).toHaveLength(1);
    expect(logs).toEqual([]);
  });

  it('idle() rejects with what is still busy when it times out', async () => {
    await put(table.name, { pk: { S: 'slow-idle' } });
    await expect(mappings.idle({ timeoutMs: 100 })).rejects.toThrow(/still busy.*\n.*StreamIdle\/Sink/);
    await mappings.idle();
    expect(lines('END')).toContain('slow-idle');
  });

  it('stop() waits for the invocation in flight, then leaves no timer behind', async () => {
    await put(table.name, { pk: { S: 'slow-stop' } });
    await eventually(() => lines('START').includes('slow-stop'), 5_000, 5);
    const started = Date.now();
    await mappings.stop();
    expect(lines('END')).toContain('slow-stop');
    expect(Date.now() - started).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(timers()).toBeLessThanOrEqual(timersBefore);
  });
});

describe('stream record helpers', () => {
  const record = (seq: string) => ({ sequenceNumber: seq }) as ShardRecord;
  const batch = [record('100'), record('200'), record('300')];

  it('reads partial batch responses as AWS documents them', () => {
    expect(parseBatchItemFailures('null', batch)).toEqual({ kind: 'success' });
    expect(parseBatchItemFailures('{}', batch)).toEqual({ kind: 'success' });
    expect(parseBatchItemFailures('{"batchItemFailures":null}', batch)).toEqual({ kind: 'success' });
    expect(parseBatchItemFailures('{"batchItemFailures":[]}', batch)).toEqual({ kind: 'success' });
    expect(parseBatchItemFailures('{"batchItemFailures":[{"itemIdentifier":"300"},{"itemIdentifier":"200"}]}', batch)).toEqual({
      kind: 'partial',
      index: 1,
    });
    for (const bad of ['{"itemIdentifier":""}', '{"itemIdentifier":null}', '{"itemId":"200"}', '{"itemIdentifier":"999"}', 'null']) {
      expect(parseBatchItemFailures(`{"batchItemFailures":[${bad}]}`, batch).kind).toBe('failure');
    }
    expect(parseBatchItemFailures('{"batchItemFailures":"200"}', batch).kind).toBe('failure');
    // A function may name the same record any number of times.
    const many = JSON.stringify({ batchItemFailures: Array.from({ length: 200_000 }, (_, i) => ({ itemIdentifier: i ? '300' : '200' })) });
    expect(parseBatchItemFailures(many, batch)).toEqual({ kind: 'partial', index: 1 });
  });

  it('turns SDK attribute values back into the JSON Lambda sends', () => {
    expect(toAttributeJson({ B: new Uint8Array([1, 2, 3]) })).toEqual({ B: 'AQID' });
    expect(toAttributeJson({ BS: [new Uint8Array([0]), new Uint8Array([255])] })).toEqual({ BS: ['AA==', '/w=='] });
    expect(toAttributeJson({ L: [{ M: { n: { NS: ['1', '2'] } } }] })).toEqual({ L: [{ M: { n: { NS: ['1', '2'] } } }] });
  });

  it('refines a minute-rounded creation time with the read time, within that minute', () => {
    const minute = new Date('2024-01-01T10:05:00Z');
    const at = (iso: string) => Date.parse(iso);
    expect(creationSeconds(minute, at('2024-01-01T10:05:17.400Z'))).toBe(at('2024-01-01T10:05:17Z') / 1000);
    expect(creationSeconds(minute, at('2024-01-01T10:09:00Z'))).toBe(at('2024-01-01T10:05:59Z') / 1000);
    expect(creationSeconds(new Date('2024-01-01T10:05:03Z'), at('2024-01-01T10:05:17Z'))).toBe(at('2024-01-01T10:05:03Z') / 1000);
  });
});

describe('BatchDelivery', () => {
  // Read when a test runs, not when the file loads: the file's local-cloud tests before these can
  // take over a minute on a busy machine, which would age every record past the limits tested.
  let now = 0;
  beforeEach(() => {
    now = Math.floor(Date.now() / 1000);
  });
  const rec = (seq: number, createdAtSeconds = now): ShardRecord => ({
    sequenceNumber: String(seq),
    createdAtSeconds,
    payloadBytes: 100,
    event: { dynamodb: { SequenceNumber: String(seq) } } as ShardRecord['event'],
  });
  const ok = (payload = 'null'): InvokeResult => ({ ok: true, payload, requestId: 'req' });
  const failed = (errorType = 'Error'): InvokeResult => ({
    ok: false,
    requestId: 'req',
    functionError: 'Unhandled',
    error: { errorType, errorMessage: 'boom' },
  });

  /** Delivers `records` to a fake function answering with `answer(batch sequence numbers, call number)`. */
  async function run(records: ShardRecord[], settings: Partial<DeliveryConfig>, answer: (seqs: string[], call: number) => InvokeResult) {
    const calls: string[][] = [];
    const discarded: Record<string, unknown>[] = [];
    const fn = {
      spec: { arn: 'arn:aws:lambda:us-east-1:000000000000:function:fake' },
      invoke: async (event: { Records: Array<{ dynamodb: { SequenceNumber: string } }> }) => {
        const seqs = event.Records.map((r) => r.dynamodb.SequenceNumber);
        calls.push(seqs);
        return answer(seqs, calls.length);
      },
    } as unknown as LocalFunction;
    const delivery = new BatchDelivery(
      {
        where: 'Test/Mapping',
        fn,
        streamArn: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/label',
        reportBatchItemFailures: false,
        bisectBatchOnFunctionError: false,
        maximumRetryAttempts: -1,
        maximumRecordAgeInSeconds: -1,
        onFailureDestination: 'arn:aws:sqs:us-east-1:000000000000:dlq',
        ...settings,
      },
      {
        onFailure: (_d, r) => void discarded.push(r as Record<string, unknown>),
        log: () => {},
        stopping: () => false,
        sleep: async () => {},
      },
    );
    await delivery.deliver(records, 'shardId-1');
    return { calls, discarded };
  }

  it('retries a failing batch MaximumRetryAttempts times, then discards it whole', async () => {
    const { calls, discarded } = await run([rec(1), rec(2), rec(3)], { maximumRetryAttempts: 2 }, () => failed());
    expect(calls).toEqual([
      ['1', '2', '3'],
      ['1', '2', '3'],
      ['1', '2', '3'],
    ]);
    expect(discarded).toHaveLength(1);
    expect(discarded[0].requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 });
    expect(discarded[0].DDBStreamBatchInfo).toMatchObject({ startSequenceNumber: '1', endSequenceNumber: '3', batchSize: 3 });
  });

  it('discards records past MaximumRecordAgeInSeconds before invoking, and delivers the rest', async () => {
    const { calls, discarded } = await run([rec(1, now - 120), rec(2, now - 90), rec(3)], { maximumRecordAgeInSeconds: 60 }, () => ok());
    expect(calls).toEqual([['3']]);
    expect(discarded).toHaveLength(1);
    expect(discarded[0].requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 });
    expect(discarded[0].DDBStreamBatchInfo).toMatchObject({ startSequenceNumber: '1', endSequenceNumber: '2', batchSize: 2 });
  });

  it('does not count throttling against the retry quota', async () => {
    const { calls, discarded } = await run([rec(1)], { maximumRetryAttempts: 0 }, (_s, call) =>
      call <= 2 ? failed('TooManyRequestsException') : ok(),
    );
    expect(calls).toHaveLength(3);
    expect(discarded).toEqual([]);
  });

  it('with bisection and partial responses together, retries from the reported record without splitting', async () => {
    const { calls } = await run(
      [rec(1), rec(2), rec(3), rec(4)],
      { reportBatchItemFailures: true, bisectBatchOnFunctionError: true },
      (_seqs, call) => (call === 1 ? ok(JSON.stringify({ batchItemFailures: [{ itemIdentifier: '3' }] })) : ok()),
    );
    expect(calls).toEqual([
      ['1', '2', '3', '4'],
      ['3', '4'],
    ]);
  });
});

function tableOf(tables: LocalTable[], logicalPrefix: string): LocalTable {
  const table = tables.find((t) => t.resource.logicalId.startsWith(logicalPrefix));
  if (!table?.streamArn) throw new Error(`no table ${logicalPrefix} with a stream`);
  return table;
}

function functionName(lambda: LambdaService, logicalPrefix: string): string {
  const fn = [...lambda.functions.values()].find((f) => f.spec.resource.logicalId.startsWith(logicalPrefix));
  if (!fn) throw new Error(`no function ${logicalPrefix}`);
  return fn.spec.name;
}
