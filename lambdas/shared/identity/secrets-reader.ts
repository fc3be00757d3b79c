/**
 * The Secrets Manager adapter of `SecretReader` (signing-key.ts): a secret's current string value.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretReader } from './signing-key';

/** Reads a secret's current string value with the SDK (client created once, at first use). */
export function secretsManagerReader(client = new SecretsManagerClient({})): SecretReader {
  return async (secretId) => {
    const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (output.SecretString === undefined) {
      throw new Error(`Secret ${secretId} has no string value`);
    }
    return output.SecretString;
  };
}
