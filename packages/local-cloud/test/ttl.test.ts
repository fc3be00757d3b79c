/**
 * Time to Live in the local cloud (`src/dynamodb/ttl-sweeper.ts`): the sweeper deletes expired
 * items on the virtual clock, with AWS's rules (a Number of epoch seconds in the past expires; a
 * missing or non-numeric attribute, or one more than five years old, never does; a TTL extended
 * since the scan survives), and the REMOVE stream records of its deletions carry AWS's TTL
 * `userIdentity`, which a filtered mapping can select. DynamoDB Local's own TTL job (wall clock)
 * still runs; its records come out the same way.
 *
 * The clock is frozen in 2030: only `advance` (and `scale`, in one test) moves it, and DynamoDB
 * Local's wall-clock job leaves the 2030 TTLs alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, FilterCriteria, FilterRule, Function as LambdaFunction, Runtime, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { clientConfig, eventually, startCloud, synthFixture, type TestCloud } from '../src/testing';
import type { LocalTable } from '../src/dynamodb/tables';

const START = Date.parse('2030-01-01T00:00:00Z');
const NOW_S = START / 1000;

/** Prints one line per stream record: what the TTL tests look at. */
const RECORDER = `
exports.handler = async (event) => {
  for (const r of event.Records) {
    console.log('RECORD ' + JSON.stringify({ eventName: r.eventName, keys: r.dynamodb.Keys, userIdentity: r.userIdentity }));
  }
};`;

let t: TestCloud;
let client: DynamoDBClient;
let expiring: LocalTable;
let keysOnly: LocalTable;
let plain: LocalTable;

function recorder(stack: Stack, id: string, table: Table, filtered = false): void {
  new LambdaFunction(stack, id, { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline(RECORDER) }).addEventSource(
    new DynamoEventSource(table, {
      startingPosition: StartingPosition.TRIM_HORIZON,
      // The filter AWS documents for "only the deletions TTL made".
      ...(filtered
        ? {
            filters: [
              FilterCriteria.filter({
                userIdentity: { type: FilterRule.isEqual('Service'), principalId: FilterRule.isEqual('dynamodb.amazonaws.com') },
              }),
            ],
          }
        : {}),
    }),
  );
}

beforeAll(async () => {
  const dir = synthFixture((app) => {
    const stack = new Stack(app, 'Ttl');
    const expiringTable = new Table(stack, 'Expiring', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.NUMBER },
      timeToLiveAttribute: 'expiresAt',
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const keysOnlyTable = new Table(stack, 'KeysOnly', {
      partitionKey: { name: 'id', type: AttributeType.BINARY },
      timeToLiveAttribute: 'ttl',
      stream: StreamViewType.KEYS_ONLY,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    new Table(stack, 'Plain', { partitionKey: { name: 'pk', type: AttributeType.STRING }, removalPolicy: RemovalPolicy.DESTROY });
    recorder(stack, 'AllRecords', expiringTable);
    recorder(stack, 'TtlRecords', expiringTable, true);
    recorder(stack, 'KeysOnlyRecords', keysOnlyTable);
  });
  t = await startCloud(dir, { clockFactor: 0, clockStart: START });
  const table = (prefix: string) => t.cloud.tables.find((x) => x.resource.logicalId.startsWith(prefix))!;
  [expiring, keysOnly, plain] = [table('Expiring'), table('KeysOnly'), table('Plain')];
  client = new DynamoDBClient(clientConfig(t.cloud, 'dynamodb'));
});

afterAll(async () => {
  client?.destroy();
  await t?.stop();
});

const key = (pk: string) => ({ pk: { S: pk }, sk: { N: '1' } });

async function put(pk: string, expiresAt?: AttributeValue): Promise<void> {
  await client.send(new PutItemCommand({ TableName: expiring.name, Item: { ...key(pk), ...(expiresAt ? { expiresAt } : {}) } }));
}

async function exists(pk: string): Promise<boolean> {
  const { Item } = await client.send(new GetItemCommand({ TableName: expiring.name, Key: key(pk), ConsistentRead: true }));
  return Item !== undefined;
}

interface Recorded {
  eventName: string;
  keys: Record<string, Record<string, string>>;
  userIdentity?: { type: string; principalId: string };
}

/** The records the function whose logical id starts with `fn` printed. */
function recorded(fn: string): Recorded[] {
  const name = [...t.cloud.lambda.functions.values()].find((f) => f.spec.resource.logicalId.startsWith(fn))!.spec.name;
  return t.output
    .filter((line) => line.startsWith(`[${name}] `))
    .flatMap((line) => line.split('\n'))
    .map((line) => /RECORD (\{.*\})/.exec(line)?.[1])
    .filter((json): json is string => json !== undefined)
    .map((json) => JSON.parse(json) as Recorded);
}

const removals = (fn: string) => recorded(fn).filter((r) => r.eventName === 'REMOVE');

describe('DynamoDB TTL in the local cloud', () => {
  it('sweeps only the tables whose template enables TTL', () => {
    expect(t.cloud.ttlSweeper.tables.map((s) => [s.table.name, s.ttlAttribute, s.keyAttributes])).toEqual([
      [expiring.name, 'expiresAt', ['pk', 'sk']],
      [keysOnly.name, 'ttl', ['id']],
    ]);
    expect(t.cloud.ttlSweeper.stats.has(plain.name)).toBe(false);
  });

  it('deletes an item once the clock passes its TTL, and keeps unexpired, non-numeric, missing and ancient TTLs', async () => {
    await put('soon', { N: String(NOW_S + 10) });
    await put('later', { N: String(NOW_S + 3600) });
    await put('string', { S: String(NOW_S - 100) });
    await put('list', { L: [{ N: String(NOW_S - 100) }] });
    await put('missing');
    // More than 5 years before both the virtual and the real now: AWS ignores it, and so do both jobs.
    await put('ancient', { N: String(Date.parse('2000-01-01T00:00:00Z') / 1000) });
    await put('by-app', { N: String(NOW_S + 3600) });
    await client.send(new DeleteItemCommand({ TableName: expiring.name, Key: key('by-app') }));

    await t.cloud.clock.settle();
    expect(await exists('soon')).toBe(true); // not expired yet

    await t.cloud.clock.advance(60);
    expect(await exists('soon')).toBe(false);
    for (const pk of ['later', 'string', 'list', 'missing', 'ancient']) expect(await exists(pk), pk).toBe(true);

    await t.cloud.clock.advance(3600);
    expect(await exists('later')).toBe(false);
    for (const pk of ['string', 'list', 'missing', 'ancient']) expect(await exists(pk), pk).toBe(true);
    expect(t.cloud.ttlSweeper.stats.get(expiring.name)).toMatchObject({ deleted: 2 });
  });

  it("tags the REMOVE records of TTL deletions with AWS's service identity, and only those", async () => {
    const ttlIdentity = { type: 'Service', principalId: 'dynamodb.amazonaws.com' };
    const all = (await eventually(() => {
      const found = removals('AllRecords');
      return found.length >= 3 ? found : undefined;
    }))!;
    const byKey = Object.fromEntries(all.map((r) => [r.keys.pk!.S, r.userIdentity]));
    expect(byKey).toEqual({ soon: ttlIdentity, later: ttlIdentity, 'by-app': undefined });
    expect(
      recorded('AllRecords')
        .filter((r) => r.eventName !== 'REMOVE')
        .every((r) => r.userIdentity === undefined),
    ).toBe(true);
    // A mapping filtering on the identity, as AWS documents, gets the TTL deletions and nothing else.
    const filtered = (await eventually(() => {
      const found = recorded('TtlRecords');
      return found.length >= 2 ? found : undefined;
    }))!;
    expect(filtered.map((r) => [r.eventName, r.keys.pk!.S])).toEqual([
      ['REMOVE', 'soon'],
      ['REMOVE', 'later'],
    ]);
  });

  it('tags TTL deletions on a KEYS_ONLY stream with a binary key too', async () => {
    const id = new Uint8Array([0, 1, 254, 255]);
    await client.send(
      new PutItemCommand({ TableName: keysOnly.name, Item: { id: { B: id }, ttl: { N: String(t.cloud.clock.now() / 1000 - 1) } } }),
    );
    await t.cloud.clock.advance(31);
    const [removal] = (await eventually(() => {
      const found = removals('KeysOnlyRecords');
      return found.length > 0 ? found : undefined;
    }))!;
    expect(removal).toEqual({
      eventName: 'REMOVE',
      keys: { id: { B: Buffer.from(id).toString('base64') } },
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    });
  });

  it('keeps an item whose TTL was extended after the scan saw it expired (the delete is conditional)', async () => {
    const expired = String(Math.floor(t.cloud.clock.now() / 1000) - 5);
    await put('extended', { N: expired });
    // What a sweep does between its scan and its delete, with the TTL extended in between.
    await client.send(
      new UpdateItemCommand({
        TableName: expiring.name,
        Key: key('extended'),
        UpdateExpression: 'SET expiresAt = :later',
        ExpressionAttributeValues: { ':later': { N: String(NOW_S + 30 * 86_400) } },
      }),
    );
    expect(await t.cloud.ttlSweeper.deleteExpired(expiring.name, key('extended'), expired)).toBe(false);
    await t.cloud.clock.advance(60);
    expect(await exists('extended')).toBe(true);
    // The same delete with the current value goes through.
    await put('expired-now', { N: expired });
    expect(await t.cloud.ttlSweeper.deleteExpired(expiring.name, key('expired-now'), expired)).toBe(true);
    expect(await exists('expired-now')).toBe(false);
  });

  it("turns the records of DynamoDB Local's own (wall-clock) TTL deletions into REMOVE records with the TTL identity", async () => {
    const deletedBySweeper = t.cloud.ttlSweeper.stats.get(expiring.name)!.deleted;
    // Expired by the wall clock: DynamoDB Local's job deletes it within seconds. The frozen
    // virtual clock has not moved since the last sweep, so the sweeper does not run meanwhile.
    await put('wall-clock', { N: String(Math.floor(Date.now() / 1000) - 60) });
    await eventually(async () => !(await exists('wall-clock')), 30_000, 250);
    expect(t.cloud.ttlSweeper.stats.get(expiring.name)!.deleted).toBe(deletedBySweeper);
    const removal = await eventually(() => removals('AllRecords').find((r) => r.keys.pk!.S === 'wall-clock'));
    expect(removal).toEqual({
      eventName: 'REMOVE',
      keys: key('wall-clock'),
      userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' },
    });
    await eventually(() => recorded('TtlRecords').some((r) => r.keys.pk!.S === 'wall-clock'));
  });

  it('sweeps periodically while virtual time runs, without an advance', async () => {
    const sweepsBefore = t.cloud.ttlSweeper.stats.get(expiring.name)!.sweeps;
    await put('running-clock', { N: String(Math.floor(t.cloud.clock.now() / 1000) + 60) });
    t.cloud.clock.scale(600); // ten virtual minutes per real second
    try {
      await eventually(async () => !(await exists('running-clock')), 10_000, 100);
    } finally {
      t.cloud.clock.scale(0);
    }
    expect(t.cloud.ttlSweeper.stats.get(expiring.name)!.sweeps).toBeGreaterThan(sweepsBefore);
  });
});
