/**
 * The set-up the end-to-end files share: the platform launched once for the file, as `npm start`
 * runs it, a client of its APIs, a document client on its DynamoDB, and the connections the file
 * opened, all closed (connections first, then the cloud) when its tests are done.
 *
 * `usePlatform()` registers the hooks and answers at once; its fields are set in `beforeAll`, so
 * read them inside tests and hooks only. Hooks the file registers after it run after the launch
 * and, being `afterAll` hooks, before the stop.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LaunchedCloud } from '@realtime/local-cloud';
import { clientConfig } from '@realtime/local-cloud/testing';
import { afterAll, beforeAll } from 'vitest';
import { launchPlatform } from '../../local/launch';
import { type LiveConnection, PlatformClient, type Session } from './realtime-client';

export interface Platform {
  readonly cloud: LaunchedCloud;
  readonly client: PlatformClient;
  /** The local admin `npm start` created, logged in: only with `usePlatform({ admin: true })`. */
  readonly admin: Session;
  readonly db: DynamoDBDocumentClient;
  /** The outputs of the stateful stack (table and bus names). */
  readonly stateful: Readonly<Record<string, unknown>>;
  /** Opens a WebSocket connection as `session`; it is terminated when the file's tests are done. */
  connect(session: Session): Promise<LiveConnection>;
}

export function usePlatform(options: { readonly admin?: boolean } = {}): Platform {
  let cloud: LaunchedCloud | undefined;
  let client: PlatformClient | undefined;
  let admin: Session | undefined;
  let db: DynamoDBDocumentClient | undefined;
  const open: LiveConnection[] = [];

  beforeAll(async () => {
    cloud = await launchPlatform();
    client = new PlatformClient(cloud.endpoints.httpUrl!, cloud.endpoints.wsUrl!);
    if (options.admin) admin = await client.admin(cloud.stateDir);
    db = DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig(cloud, 'dynamodb')));
  }, 180_000);

  afterAll(async () => {
    for (const c of open) c.ws.terminate();
    db?.destroy();
    await cloud?.stop();
  });

  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined)
      throw new Error(`usePlatform: no ${what} (set in beforeAll${what === 'admin' ? ', with { admin: true }' : ''})`);
    return value;
  };
  return {
    get cloud() {
      return ready(cloud, 'cloud');
    },
    get client() {
      return ready(client, 'client');
    },
    get admin() {
      return ready(admin, 'admin');
    },
    get db() {
      return ready(db, 'db');
    },
    get stateful() {
      return ready(cloud, 'cloud').endpoints.outputs['Realtime-local-Stateful'] ?? {};
    },
    async connect(session) {
      const c = await ready(client, 'client').connect(session);
      open.push(c);
      return c;
    },
  };
}
