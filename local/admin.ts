/**
 * The local administrator `npm start` creates for this project (not for `--assembly` apps): an
 * `admin` user in the domain table, with credentials printed and kept in `.local/admin.json`
 * (mode 0600) so they survive restarts with `--persist`. Uses the same domain code as the
 * sign-up handler (password hashing, the user store), so the account is one like any other.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hashPassword, verifyPassword } from '../lambdas/shared/identity/password';
import { DynamoUserStore, userKey } from '../lambdas/shared/identity/dynamo-users';
import type { Endpoints } from '@realtime/local-cloud';

export interface AdminCredentials {
  readonly email: string;
  readonly password: string;
}

export const DEFAULT_ADMIN_EMAIL = 'admin@local.test';

/** Creates (or repairs) the local admin and returns its credentials; undefined when the app has no domain table. */
export async function ensureLocalAdmin(
  endpoints: Endpoints,
  stateDir: string,
  region = 'us-east-1',
): Promise<AdminCredentials | undefined> {
  const tableName = Object.values(endpoints.outputs)
    .map((outputs) => outputs.DomainTableName)
    .find((name): name is string => typeof name === 'string');
  if (!tableName || !endpoints.services.dynamodb) return undefined;

  const file = join(stateDir, 'admin.json');
  const credentials: AdminCredentials = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as AdminCredentials)
    : { email: DEFAULT_ADMIN_EMAIL, password: randomBytes(18).toString('base64url') };

  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: endpoints.services.dynamodb, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
  );
  try {
    const store = new DynamoUserStore(client, tableName);
    const existing = await store.findByEmail(credentials.email);
    if (!existing) {
      await store.create({
        email: credentials.email,
        name: 'Local admin',
        passwordHash: await hashPassword(credentials.password),
        role: 'admin',
      });
    } else if (existing.role !== 'admin' || !(await verifyPassword(credentials.password, existing.passwordHash))) {
      // A persisted database from another run: make the account match the credentials on disk.
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: userKey(existing.id),
          UpdateExpression: 'SET #role = :admin, passwordHash = :hash',
          ExpressionAttributeNames: { '#role': 'role' },
          ExpressionAttributeValues: { ':admin': 'admin', ':hash': await hashPassword(credentials.password) },
        }),
      );
    }
  } finally {
    client.destroy();
  }
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  return credentials;
}
