/**
 * Shared pieces of the real-time integration tests (`test/integration/realtime-*.test.ts`): a
 * DynamoDB Local per test file with a fresh `pk`/`sk` table per test, a recording stand-in for
 * API Gateway's `@connections` API, and builders of the stream changes fan-out consumes.
 *
 * Only the poster is faked: the registry, the log and fan-out run against a real DynamoDB, because
 * their guarantees (strong reads, conditional transactions, conflicts) are DynamoDB's.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbServer } from '@realtime/local-cloud';
import type { DomainChange } from '../../lambdas/shared/cdc/change';
import { TOPIC_EVENT_ENTITY } from '../../lambdas/shared/realtime/cdc';
import { ConnectionStore } from '../../lambdas/shared/realtime/dynamo-connections';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { ServerFrame } from '../../lambdas/shared/realtime/frames';
import type { ConnectionPoster, PostOutcome } from '../../lambdas/shared/realtime/poster';
import type { TopicEvent } from '../../lambdas/shared/realtime/topic-log';

/** A global secondary index of string keys, projecting `include` (keys only when empty). */
export interface LocalIndex {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly include?: readonly string[];
}

export interface LocalDynamo {
  readonly server: DynamoDbServer;
  readonly raw: DynamoDBClient;
  readonly db: DynamoDBDocumentClient;
  /** Creates an empty `pk`/`sk` table with a new name, and the given string-keyed indexes. */
  newTable(indexes?: readonly LocalIndex[]): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The hooks every DynamoDB Local test file needs: one server for the file, a fresh table for each
 * test. `onTable` receives both before each test (build the stores under test there).
 */
export function useLocalDynamo(
  onTable: (local: LocalDynamo, table: string) => void | Promise<void>,
  indexes: readonly LocalIndex[] = [],
): void {
  let local: LocalDynamo | undefined;
  beforeAll(async () => {
    local = await startLocalDynamo();
  });
  afterAll(async () => {
    await local?.stop();
  });
  beforeEach(async () => {
    await onTable(local!, await local!.newTable(indexes));
  });
}

export async function startLocalDynamo(): Promise<LocalDynamo> {
  const server = await DynamoDbServer.start();
  const raw = new DynamoDBClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const db = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  let tables = 0;
  return {
    server,
    raw,
    db,
    async newTable(indexes = []) {
      const name = `realtime-${++tables}`;
      const indexKeys = [...new Set(indexes.flatMap((index) => [index.partitionKey, index.sortKey]))];
      await raw.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: ['pk', 'sk', ...indexKeys].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          ...(indexes.length > 0
            ? {
                GlobalSecondaryIndexes: indexes.map((index) => ({
                  IndexName: index.name,
                  KeySchema: [
                    { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                    { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
                  ],
                  Projection: index.include?.length
                    ? { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: [...index.include] }
                    : { ProjectionType: 'KEYS_ONLY' as const },
                })),
              }
            : {}),
        }),
      );
      return name;
    },
    async stop() {
      db.destroy();
      await server.stop();
    },
  };
}

/** Records a connection as `$connect` does (the registry refuses subscriptions without it). */
export async function connect(db: DynamoDBDocumentClient, table: string, connectionId: string, userId = 'u1'): Promise<void> {
  await new ConnectionStore(db, table).put(connectionId, { userId, role: 'user' });
}

export async function getItem(
  db: DynamoDBDocumentClient,
  table: string,
  pk: string,
  sk: string,
): Promise<Record<string, unknown> | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: { pk, sk }, ConsistentRead: true }));
  return out.Item;
}

export async function deleteItem(db: DynamoDBDocumentClient, table: string, pk: string, sk: string): Promise<void> {
  await db.send(new DeleteCommand({ TableName: table, Key: { pk, sk } }));
}

/** Every item of one partition, in sort-key order. */
export async function partition(db: DynamoDBDocumentClient, table: string, pk: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

export interface PostedFrame {
  readonly connectionId: string;
  /** The frame as the client would parse it (string frames are parsed). */
  readonly frame: ServerFrame;
}

/**
 * A `ConnectionPoster` that records every frame it accepts. Connections in `gone` answer 'gone'
 * (and record nothing); `hook` runs before each post and may answer for it or throw.
 */
export class RecordingPoster implements ConnectionPoster {
  readonly posted: PostedFrame[] = [];
  readonly gone = new Set<string>();
  hook?: (connectionId: string, frame: ServerFrame) => Promise<PostOutcome | undefined> | Promise<void> | PostOutcome | void;

  async post(connectionId: string, frame: ServerFrame | string): Promise<PostOutcome> {
    const parsed = typeof frame === 'string' ? (JSON.parse(frame) as ServerFrame) : frame;
    const answer = await this.hook?.(connectionId, parsed);
    if (answer) return answer;
    if (this.gone.has(connectionId)) return 'gone';
    this.posted.push({ connectionId, frame: parsed });
    return 'sent';
  }

  framesTo(connectionId: string): ServerFrame[] {
    return this.posted.filter((p) => p.connectionId === connectionId).map((p) => p.frame);
  }

  /** The seqs of the data frames a connection received, in arrival order. */
  seqsTo(connectionId: string, subId?: string): number[] {
    return this.framesTo(connectionId).flatMap((f) => (f.type === 'data' && (subId === undefined || f.id === subId) ? [f.seq] : []));
  }
}

/** A producer's `TopicEvent` INSERT as the domain table's stream reports it (topic-events.ts shape). */
export function topicEventChange(
  id: string,
  topic: string,
  event = 'price.changed',
  payload: Record<string, unknown> = { n: id },
  options: { readonly coalesce?: boolean; readonly createdAt?: string } = {},
): DomainChange {
  const createdAt = options.createdAt ?? '2026-11-21T10:00:00.000Z';
  return {
    id,
    type: 'INSERT',
    occurredAt: createdAt,
    newImage: {
      pk: `TOPIC#${topic}`,
      sk: `EVENT#${createdAt}#${id}`,
      entity: TOPIC_EVENT_ENTITY,
      topic,
      event,
      payload,
      ...(options.coalesce ? { coalesce: true } : {}),
      createdAt,
      publishedBy: 'admin-1',
      expiresAt: 1_900_000_000,
    },
  };
}

/** `n` distinct unnumbered events, `src` `<prefix>-1 … <prefix>-n`. */
export function events(prefix: string, n: number, from = 1): TopicEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    src: `${prefix}-${from + i}`,
    event: 'tick',
    payload: { i: from + i },
    ts: '2026-11-21T10:00:00.000Z',
  }));
}
