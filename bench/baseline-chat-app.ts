/**
 * The baseline the real-time fan-out is compared with: the `sendmessage` function of AWS's
 * `simple-websockets-chat-app` sample (github.com/aws-samples/simple-websockets-chat-app,
 * `sendmessage/app.js`), ported from SDK v2 to v3 with nothing else changed in kind:
 *
 *   1. `Scan` the connections table (hash key `connectionId`) for every connection id;
 *   2. `Promise.all` of `PostToConnection` to every one of them, unbounded;
 *   3. on 410 (gone), delete that connection's item; any other error fails the call.
 *
 * It posts `JSON.parse(event.body).data` as is, so its frames are whatever the sender put there
 * (the benchmark sends `{"type":"bench-baseline",...}`), not our protocol's data frames: no seq,
 * no replay log, no ordering, no per-topic subscriptions (every connection gets every message).
 *
 * Differences from the deployed sample, all in its favour or neutral, stated where measured:
 * - it runs in the benchmark's process, not in a Lambda execution environment (no invoke, no
 *   worker thread at lower priority) and is called directly, with no DynamoDB stream hop between
 *   the write and the fan-out (the sample has no write at all: the sender's frame *is* the call);
 * - its clients are built once (a warm Lambda reusing them); the sample builds the management API
 *   client on every invocation from `event.requestContext`;
 * - the Scan follows `LastEvaluatedKey`; the sample reads only the first page (1 MB), which at
 *   the benchmark's sizes (≤ 10,000 ids of ~20 bytes) is the whole table anyway;
 * - "unbounded" is as unbounded as the SDK lets it be: the v3 Node.js HTTP handler keeps at most
 *   50 sockets per client (as v2's agent did), so the rest of the posts queue inside the SDK.
 * The Scan asks for `ReturnConsumedCapacity: 'TOTAL'` so read capacity per message can be compared.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';

export interface ChatAppOptions {
  /** DynamoDB endpoint (the local cloud's `services.dynamodb`). */
  readonly dynamodbEndpoint: string;
  /** The WebSocket stage's `@connections` callback URL, e.g. http://127.0.0.1:3001/local. */
  readonly callbackUrl: string;
  readonly tableName: string;
  readonly region: string;
}

/** What one `sendmessage` call did. */
export interface SendMessageOutcome {
  readonly statusCode: number;
  readonly connections: number;
  readonly posted: number;
  readonly gone: number;
  /** The Scan's ConsumedCapacity.CapacityUnits, summed over its pages. */
  readonly readCapacityUnits: number;
  /** The sample answers a failure with `{statusCode: 500, body: e.stack}`; here its first line. */
  readonly body: string;
  /**
   * Posts that failed with anything but 410 (the sample fails the call on the first and never
   * learns about the rest): counted here, by error, so lost frames can be explained.
   */
  readonly failedPosts: number;
  readonly failures: Record<string, number>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The sample's connections table: `connectionId` (S) hash key, on-demand, as its template has it. */
export class ChatAppConnectionsTable {
  private readonly client: DynamoDBClient;
  readonly db: DynamoDBDocumentClient;

  constructor(private readonly options: ChatAppOptions) {
    this.client = new DynamoDBClient({ endpoint: options.dynamodbEndpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
    this.db = DynamoDBDocumentClient.from(this.client);
  }

  async create(): Promise<void> {
    await this.client.send(
      new CreateTableCommand({
        TableName: this.options.tableName,
        AttributeDefinitions: [{ AttributeName: 'connectionId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'connectionId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitUntilTableExists({ client: this.client, maxWaitTime: 30 }, { TableName: this.options.tableName });
  }

  /** What the sample's `onconnect` function does for each connection: one item per connection id. */
  async add(connectionIds: readonly string[]): Promise<void> {
    for (let i = 0; i < connectionIds.length; i += 25) {
      let requests = connectionIds.slice(i, i + 25).map((connectionId) => ({ PutRequest: { Item: { connectionId } } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`could not write ${requests.length} baseline connection items`);
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.options.tableName]: requests } }));
        requests = (out.UnprocessedItems?.[this.options.tableName] ?? []) as typeof requests;
      }
    }
  }

  async drop(): Promise<void> {
    await this.client.send(new DeleteTableCommand({ TableName: this.options.tableName })).catch(() => undefined);
    this.client.destroy();
  }
}

/**
 * The sample's `sendmessage` handler. Takes an API Gateway WebSocket event whose body is
 * `{"action":"sendmessage","data":"..."}`.
 */
export function createSendMessageHandler(options: ChatAppOptions): {
  handler: (event: { body: string }) => Promise<SendMessageOutcome>;
  destroy: () => void;
} {
  const dynamodb = new DynamoDBClient({ endpoint: options.dynamodbEndpoint, region: options.region, credentials: LOCAL_CREDENTIALS });
  const ddb = DynamoDBDocumentClient.from(dynamodb);
  // SDK defaults otherwise (3 attempts for throttling and 5xx), as the sample has them.
  const api = new ApiGatewayManagementApiClient({ endpoint: options.callbackUrl, region: options.region, credentials: LOCAL_CREDENTIALS });

  const handler = async (event: { body: string }): Promise<SendMessageOutcome> => {
    const items: { connectionId: string }[] = [];
    let readCapacityUnits = 0;
    try {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await ddb.send(
          new ScanCommand({
            TableName: options.tableName,
            ProjectionExpression: 'connectionId',
            ReturnConsumedCapacity: 'TOTAL',
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...((page.Items ?? []) as { connectionId: string }[]));
        readCapacityUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (e) {
      return { statusCode: 500, connections: 0, posted: 0, gone: 0, readCapacityUnits, body: errorLine(e), failedPosts: 0, failures: {} };
    }

    const postData = (JSON.parse(event.body) as { data: string }).data;
    let posted = 0;
    let gone = 0;
    let failedPosts = 0;
    const failures: Record<string, number> = {};
    const postCalls = items.map(async ({ connectionId }) => {
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(postData) }));
        posted++;
      } catch (e) {
        // v2's `e.statusCode === 410`; SDK v3 reports the status in `$metadata`.
        if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 410) {
          gone++;
          await ddb.send(new DeleteCommand({ TableName: options.tableName, Key: { connectionId } }));
        } else {
          failedPosts++;
          const line = errorLine(e);
          failures[line] = (failures[line] ?? 0) + 1;
          throw e;
        }
      }
    });
    try {
      await Promise.all(postCalls);
    } catch (e) {
      // The sample returns here, with the other posts still in flight; the bench waits for them
      // (allSettled) only to report the final counts.
      await Promise.allSettled(postCalls);
      return { statusCode: 500, connections: items.length, posted, gone, readCapacityUnits, body: errorLine(e), failedPosts, failures };
    }
    return { statusCode: 200, connections: items.length, posted, gone, readCapacityUnits, body: 'Data sent.', failedPosts, failures };
  };

  return {
    handler,
    destroy: () => {
      api.destroy();
      dynamodb.destroy();
    },
  };
}

function errorLine(e: unknown): string {
  const error = e as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
  const status = error?.$metadata?.httpStatusCode ? ` HTTP ${error.$metadata.httpStatusCode}` : '';
  const attempts = error?.$metadata?.attempts ? `, ${error.$metadata.attempts} attempts` : '';
  return `${error?.name ?? 'Error'}: ${error?.message ?? String(e)}${error?.code ? ` (${error.code})` : ''}${status}${attempts}`;
}
