/**
 * The local Secrets Manager through the real `@aws-sdk/client-secrets-manager`: secrets from a CDK
 * fixture (a generated signing key with a JSON template, a plain value, CDK's default generated
 * secret), lookup by name / ARN / partial ARN, generated values that survive a restart with the
 * same state directory (and differ with another), the API's versions and staging labels,
 * deletion on the virtual clock and restore, GetRandomPassword options, and error names.
 *
 * The harness wires the service the way the local cloud does: a control server serving its JSON
 * protocol, a frozen virtual clock, the model of the fixture's templates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretValue, Stack } from 'aws-cdk-lib';
import { AccountRootPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretCommand,
  type GetRandomPasswordCommandInput,
} from '@aws-sdk/client-secrets-manager';
import { synthFixture, rejection } from '../src/testing';
import { loadAssembly } from '../src/assembly';
import { CloudModel, type ModelResource } from '../src/model';
import { VirtualClock } from '../src/clock';
import { ControlServer } from '../src/control';
import { Targets } from '../src/targets';
import type { LambdaService } from '../src/lambda/service';
import { reportTemplateCoverage } from '../src/coverage';
import { generateSecretString, PUNCTUATION, SecretsManagerService, STATE_FILE } from '../src/secretsmanager/service';

const START = Date.parse('2030-01-01T00:00:00Z');

interface Instance {
  readonly service: SecretsManagerService;
  readonly client: SecretsManagerClient;
  stop(): Promise<void>;
}

let assembly: string;
let model: CloudModel;
let clock: VirtualClock;
let main: Instance;
let client: SecretsManagerClient;
const stateDir = mkdtempSync(join(tmpdir(), 'secretsmanager-state-'));
const instances: Instance[] = [];

/** Starts the service on its own control server (a fresh model: a restart of the local cloud). */
async function boot(dir: string | undefined, m: CloudModel = new CloudModel(loadAssembly(assembly))): Promise<Instance> {
  const logs: string[] = [];
  const service = new SecretsManagerService(
    { model: m, clock, targets: new Targets(), lambda: undefined as unknown as LambdaService, log: (line) => logs.push(line) },
    dir ? { stateDir: dir } : {},
  );
  const control = new ControlServer({ host: '127.0.0.1', port: 0, clock, context: { region: m.region, accountId: m.accountId } });
  control.registerJson(service.jsonService);
  const url = await control.start();
  await service.start();
  m.assertValid();
  const c = new SecretsManagerClient({ endpoint: url, region: m.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const instance = {
    service,
    client: c,
    stop: async () => {
      c.destroy();
      await service.stop();
      await control.stop();
    },
  };
  instances.push(instance);
  return instance;
}

const secret = (logicalPrefix: string): ModelResource =>
  model.resources.find((r) => r.type === 'AWS::SecretsManager::Secret' && r.logicalId.startsWith(logicalPrefix))!;

async function signingKey(c: SecretsManagerClient): Promise<string> {
  const out = await c.send(new GetSecretValueCommand({ SecretId: secret('SigningKey').arn }));
  return (JSON.parse(out.SecretString!) as { key: string }).key;
}

beforeAll(async () => {
  assembly = synthFixture((app) => {
    const stack = new Stack(app, 'Identity');
    const signing = new Secret(stack, 'SigningKey', {
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ alg: 'HS256' }),
        generateStringKey: 'key',
        passwordLength: 64,
        excludePunctuation: true,
      },
    });
    signing.addToResourcePolicy(
      new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['*'], principals: [new AccountRootPrincipal()] }),
    );
    new Secret(stack, 'Plain', { secretStringValue: SecretValue.unsafePlainText('plain-value'), description: 'a literal' });
    new Secret(stack, 'Generated');
  });
  model = new CloudModel(loadAssembly(assembly));
  reportTemplateCoverage(model);
  clock = new VirtualClock({ factor: 0, start: START });
  main = await boot(stateDir, model);
  client = main.client;
});

afterAll(async () => {
  for (const i of instances) await i.stop();
  clock.stop();
});

describe('template secrets', () => {
  it('classifies the template: secrets emulated, the resource policy without local effect', () => {
    const types = model.diagnostics.items.map((d) => `${d.severity} ${d.message}`);
    expect(types.some((t) => t.startsWith('ignored AWS::SecretsManager::ResourcePolicy'))).toBe(true);
    expect(model.diagnostics.items.some((d) => d.message.includes('AWS::SecretsManager::Secret is not emulated'))).toBe(false);
    expect(model.diagnostics.errors).toEqual([]);
  });

  it('answers GetSecretValue by name, full ARN and partial ARN', async () => {
    const plain = secret('Plain');
    expect(plain.arn).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:.+-[a-z0-9]{6}$/);
    const partial = plain.arn!.slice(0, -7);
    for (const id of [plain.physicalId, plain.arn!, partial, plain.ref]) {
      const out = await client.send(new GetSecretValueCommand({ SecretId: id }));
      expect(out.SecretString).toBe('plain-value');
      expect(out.ARN).toBe(plain.arn);
      expect(out.Name).toBe(plain.physicalId);
      expect(out.VersionStages).toEqual(['AWSCURRENT']);
      expect(out.CreatedDate).toBeInstanceOf(Date);
      expect(out.CreatedDate!.getTime()).toBe(START);
    }
    const described = await client.send(new DescribeSecretCommand({ SecretId: partial }));
    expect(described.Description).toBe('a literal');
    expect(Object.values(described.VersionIdsToStages!)).toEqual([['AWSCURRENT']]);
  });

  it('generates the signing key as GenerateSecretString says: template kept, 64 characters, no punctuation', async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secret('SigningKey').physicalId }));
    const value = JSON.parse(out.SecretString!) as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual(['alg', 'key']);
    expect(value.alg).toBe('HS256');
    expect(value.key).toHaveLength(64);
    expect(value.key).toMatch(/^[A-Za-z0-9]+$/);
    // RequireEachIncludedType defaults to true.
    expect(value.key).toMatch(/[a-z]/);
    expect(value.key).toMatch(/[A-Z]/);
    expect(value.key).toMatch(/[0-9]/);
  });

  it("generates CDK's default secret: 32 characters of every type", async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secret('Generated').arn }));
    const value = out.SecretString!;
    expect(value).toHaveLength(32);
    expect(value).toMatch(/[a-z]/);
    expect(value).toMatch(/[A-Z]/);
    expect(value).toMatch(/[0-9]/);
    expect([...value].some((c) => PUNCTUATION.includes(c))).toBe(true);
    expect(value).not.toContain(' ');
  });

  it('rejects a GenerateSecretString CloudFormation would reject', () => {
    expect(() => generateSecretString({ SecretStringTemplate: '{}' })).toThrow(/together/);
    expect(() => generateSecretString({ SecretStringTemplate: '[1]', GenerateStringKey: 'k' })).toThrow(/JSON object/);
    expect(() => generateSecretString({ PasswordLength: 2 })).toThrow(/too short/);
    expect(generateSecretString({ PasswordLength: 10, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true })).toMatch(
      /^[0-9]{10}$/,
    );
  });

  it('keeps generated values across a restart with the same state directory, in a 0600 file', async () => {
    const before = await signingKey(client);
    const file = join(stateDir, STATE_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { secrets: object }).secrets)).toContain(secret('SigningKey').arn);
    const restarted = await boot(stateDir);
    expect(await signingKey(restarted.client)).toBe(before);
    const a = await client.send(new GetSecretValueCommand({ SecretId: secret('SigningKey').arn }));
    const b = await restarted.client.send(new GetSecretValueCommand({ SecretId: secret('SigningKey').arn }));
    expect(b.VersionId).toBe(a.VersionId);
  });

  it('generates other values with another state directory, and without one', async () => {
    const before = await signingKey(client);
    const other = await boot(mkdtempSync(join(tmpdir(), 'secretsmanager-other-')));
    const memory = await boot(undefined);
    const otherKey = await signingKey(other.client);
    const memoryKey = await signingKey(memory.client);
    expect(otherKey).not.toBe(before);
    expect(memoryKey).not.toBe(before);
    expect(memoryKey).not.toBe(otherKey);
  });

  it('lists and batch-reads the template secrets', async () => {
    const list = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['Identity-'] }] }));
    expect(list.SecretList!.map((s) => s.ARN).sort()).toEqual(
      model
        .ofType('AWS::SecretsManager::Secret')
        .map((r) => r.arn)
        .sort(),
    );
    const first = await client.send(new ListSecretsCommand({ MaxResults: 2, Filters: [{ Key: 'name', Values: ['Identity-'] }] }));
    expect(first.SecretList).toHaveLength(2);
    const second = await client.send(
      new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken, Filters: [{ Key: 'name', Values: ['Identity-'] }] }),
    );
    expect(second.SecretList).toHaveLength(1);
    expect(second.NextToken).toBeUndefined();
    const batch = await client.send(new BatchGetSecretValueCommand({ SecretIdList: [secret('Plain').arn!, 'missing-secret'] }));
    expect(batch.SecretValues!.map((v) => v.SecretString)).toEqual(['plain-value']);
    expect(batch.Errors).toEqual([expect.objectContaining({ SecretId: 'missing-secret', ErrorCode: 'ResourceNotFoundException' })]);
  });
});

describe('the API', () => {
  it('creates secrets, idempotently for the same token, and refuses a second with the same name', async () => {
    const token = '11111111-2222-3333-4444-555555555555';
    const created = await client.send(
      new CreateSecretCommand({ Name: 'app/db', SecretString: 'v1', ClientRequestToken: token, Tags: [{ Key: 'team', Value: 'id' }] }),
    );
    expect(created.ARN).toMatch(/:secret:app\/db-[A-Za-z0-9]{6}$/);
    expect(created.VersionId).toBe(token);
    const again = await client.send(new CreateSecretCommand({ Name: 'app/db', SecretString: 'v1', ClientRequestToken: token }));
    expect(again.ARN).toBe(created.ARN);
    expect((await rejection(client.send(new CreateSecretCommand({ Name: 'app/db', SecretString: 'other' })))).name).toBe(
      'ResourceExistsException',
    );
    const binary = await client.send(new CreateSecretCommand({ Name: 'app/bin', SecretBinary: new Uint8Array([0, 1, 2, 255]) }));
    const got = await client.send(new GetSecretValueCommand({ SecretId: binary.ARN }));
    expect(got.SecretString).toBeUndefined();
    expect([...got.SecretBinary!]).toEqual([0, 1, 2, 255]);
    expect(
      (await rejection(client.send(new CreateSecretCommand({ Name: 'x', SecretString: 'a', SecretBinary: new Uint8Array([1]) })))).name,
    ).toBe('InvalidParameterException');
    expect((await rejection(client.send(new CreateSecretCommand({ Name: 'bad name!' })))).name).toBe('InvalidParameterException');
  });

  it('moves AWSCURRENT and AWSPREVIOUS with each new version, and serves each stage and version', async () => {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: 'rotating', SecretString: 'one' }));
    const one = await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    const two = await client.send(new PutSecretValueCommand({ SecretId: ARN, SecretString: 'two' }));
    expect(two.VersionStages).toEqual(['AWSCURRENT']);
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('two');
    const previous = await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe('one');
    expect(previous.VersionId).toBe(one.VersionId);
    const pending = await client.send(
      new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'three', VersionStages: ['AWSPENDING'] }),
    );
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPENDING' }))).SecretString).toBe('three');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating' }))).SecretString).toBe('two');
    await client.send(new UpdateSecretCommand({ SecretId: 'rotating', SecretString: 'four', Description: 'rotated' }));
    const described = await client.send(new DescribeSecretCommand({ SecretId: 'rotating' }));
    expect(described.Description).toBe('rotated');
    const stages = Object.values(described.VersionIdsToStages!)
      .map((s) => s.join(','))
      .sort();
    expect(stages).toEqual(['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']);
    expect(described.VersionIdsToStages![one.VersionId!]).toBeUndefined();
    // A version without labels can still be read by its id.
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: one.VersionId }))).SecretString).toBe('one');
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: pending.VersionId }))).VersionStages).toEqual([
      'AWSPENDING',
    ]);
    // The same token with another value is refused; with the same value it is a no-op.
    const token = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
    await client.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'five', ClientRequestToken: token }));
    await client.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'five', ClientRequestToken: token }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('four');
    expect(
      (await rejection(client.send(new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'six', ClientRequestToken: token }))))
        .name,
    ).toBe('ResourceExistsException');
    const missingVersion = await rejection(
      client.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: '00000000-0000-0000-0000-000000000000' })),
    );
    expect(missingVersion.name).toBe('ResourceNotFoundException');
  });

  it('deletes with a recovery window on the virtual clock, restores, and force-deletes', async () => {
    await client.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'x' }));
    const deleted = await client.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }));
    expect(deleted.DeletionDate!.getTime()).toBe(clock.now() + 7 * 86_400_000);
    const marked = await rejection(client.send(new GetSecretValueCommand({ SecretId: 'doomed' })));
    expect(marked.name).toBe('InvalidRequestException');
    expect(marked.message).toContain('marked for deletion');
    expect((await client.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).DeletedDate).toBeInstanceOf(Date);
    expect((await client.send(new ListSecretsCommand({}))).SecretList!.map((s) => s.Name)).not.toContain('doomed');
    expect((await client.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList!.map((s) => s.Name)).toContain(
      'doomed',
    );
    expect((await rejection(client.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'y' })))).name).toBe(
      'InvalidRequestException',
    );
    await client.send(new RestoreSecretCommand({ SecretId: 'doomed' }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: 'doomed' }))).SecretString).toBe('x');

    await client.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }));
    await clock.advance(7 * 86_400 + 1);
    expect((await rejection(client.send(new GetSecretValueCommand({ SecretId: 'doomed' })))).name).toBe('ResourceNotFoundException');
    await client.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'again' }));
    await client.send(new DeleteSecretCommand({ SecretId: 'doomed', ForceDeleteWithoutRecovery: true }));
    expect((await rejection(client.send(new DescribeSecretCommand({ SecretId: 'doomed' })))).name).toBe('ResourceNotFoundException');
    expect((await rejection(client.send(new DeleteSecretCommand({ SecretId: 'app/db', RecoveryWindowInDays: 3 })))).name).toBe(
      'InvalidParameterException',
    );
    expect(
      (
        await rejection(
          client.send(new DeleteSecretCommand({ SecretId: 'app/db', RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })),
        )
      ).name,
    ).toBe('InvalidParameterException');
  });

  it('names errors the way the SDK models them', async () => {
    const missing = await rejection(client.send(new GetSecretValueCommand({ SecretId: 'no-such-secret' })));
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.message).toBe("Secrets Manager can't find the specified secret.");
    const otherAccount = await rejection(
      client.send(new GetSecretValueCommand({ SecretId: secret('Plain').arn!.replace('000000000000', '111111111111') })),
    );
    expect(otherAccount.name).toBe('ResourceNotFoundException');
    const { ARN } = await client.send(new CreateSecretCommand({ Name: 'empty' }));
    const noValue = await rejection(client.send(new GetSecretValueCommand({ SecretId: ARN })));
    expect(noValue.name).toBe('ResourceNotFoundException');
    expect(noValue.message).toContain('AWSCURRENT');
    expect((await rejection(client.send(new PutSecretValueCommand({ SecretId: 'empty' })))).name).toBe('InvalidParameterException');
    expect((await rejection(client.send(new ListSecretsCommand({ NextToken: '!!!' })))).name).toBe('InvalidNextTokenException');
  });
});

describe('GetRandomPassword', () => {
  const password = async (input: GetRandomPasswordCommandInput) => (await client.send(new GetRandomPasswordCommand(input))).RandomPassword!;

  it('defaults to 32 characters with every type', async () => {
    const value = await password({});
    expect(value).toHaveLength(32);
    for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/]) expect(value).toMatch(re);
    expect([...value].some((c) => PUNCTUATION.includes(c))).toBe(true);
  });

  it('honours the exclusions, spaces and the required types', async () => {
    expect(await password({ PasswordLength: 100, ExcludeUppercase: true, ExcludeLowercase: true, ExcludePunctuation: true })).toMatch(
      /^[0-9]{100}$/,
    );
    expect(
      await password({
        PasswordLength: 50,
        ExcludeNumbers: true,
        ExcludePunctuation: true,
        ExcludeCharacters: 'abcdefghijklmnopqrstuvwxyz',
      }),
    ).toMatch(/^[A-Z]{50}$/);
    const spaced = await password({ PasswordLength: 4096, IncludeSpace: true });
    expect(spaced).toHaveLength(4096);
    expect(spaced).toContain(' ');
    expect(await password({ PasswordLength: 1, RequireEachIncludedType: false })).toHaveLength(1);
    for (let i = 0; i < 20; i++) {
      const four = await password({ PasswordLength: 4 });
      for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/]) expect(four).toMatch(re);
    }
  });

  it('refuses impossible requests', async () => {
    for (const input of [
      { PasswordLength: 0 },
      { PasswordLength: 4097 },
      { PasswordLength: 3 },
      { ExcludeLowercase: true, ExcludeUppercase: true, ExcludeNumbers: true, ExcludePunctuation: true },
    ]) {
      expect((await rejection(password(input))).name).toBe('InvalidParameterException');
    }
  });
});
