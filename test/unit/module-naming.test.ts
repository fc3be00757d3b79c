/**
 * The naming convention of lambdas/shared (docs/architecture.md): in a feature folder, a module
 * that calls an AWS service is an adapter and its name starts with that service (`dynamo-`, `sqs-`,
 * `apigw-`, `secrets-`, `eventbridge-`, `scheduler-`, `ses-`); every other module is domain logic (or handler glue) and
 * imports no AWS SDK client, so it is tested without AWS. Type-only imports do not count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SHARED = join(import.meta.dirname, '../../lambdas/shared');
const ADAPTER_PREFIXES = ['dynamo-', 'sqs-', 'apigw-', 'secrets-', 'eventbridge-', 'scheduler-', 'ses-', 'sfn-'];
const SDK_VALUE_IMPORT = /^import (?!type )[^;]*from '@aws-sdk\/(client-[a-z0-9-]+|lib-dynamodb)';/m;

const featureModules = readdirSync(SHARED, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((folder) =>
    readdirSync(join(SHARED, folder.name))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => ({ path: `${folder.name}/${file}`, file, source: readFileSync(join(SHARED, folder.name, file), 'utf8') })),
  );

describe('lambdas/shared feature folders', () => {
  it('has modules to check', () => {
    expect(featureModules.length).toBeGreaterThan(20);
  });

  it('names every module that imports an AWS SDK client as an adapter of that service', () => {
    const unmarked = featureModules
      .filter(({ source }) => SDK_VALUE_IMPORT.test(source))
      .filter(({ file }) => !ADAPTER_PREFIXES.some((prefix) => file.startsWith(prefix)))
      .map(({ path }) => path);
    expect(unmarked).toEqual([]);
  });

  it('finds the adapters by their imports (the check above is not vacuous)', () => {
    const adapters = featureModules.filter(({ source }) => SDK_VALUE_IMPORT.test(source)).map(({ path }) => path);
    expect(adapters).toEqual(
      expect.arrayContaining(['realtime/dynamo-topic-log.ts', 'realtime/sqs-job-queue.ts', 'identity/secrets-reader.ts']),
    );
  });
});
