import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Token } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { isEphemeralStage, validateStage } from '../../lib/stage';
import { resourcesOf, SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

// One real synth (with bundling, into a directory we can inspect) and one cheap prod synth.
const outdir = mkdtempSync(join(tmpdir(), 'realtime-cdk-'));
const dev = synthApp({ stage: 'dev', outdir });
const prod = synthApp({ stage: 'prod', context: SKIP_BUNDLING });
const templates: [string, Template][] = [
  ['stateful', dev.statefulTemplate],
  ['stateless', dev.statelessTemplate],
];

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the app', { timeout: SYNTH_TIMEOUT }, () => {
  it('names the stacks after the stage and leaves them environment-agnostic', () => {
    expect(dev.stateful.stackName).toBe('Realtime-dev-Stateful');
    expect(dev.stateless.stackName).toBe('Realtime-dev-Stateless');
    for (const stack of [dev.stateful, dev.stateless]) {
      expect(Token.isUnresolved(stack.account)).toBe(true);
      expect(Token.isUnresolved(stack.region)).toBe(true);
    }
  });

  it('takes the stage from context, and a stage prop wins over it', () => {
    const fromContext = buildApp({ context: { ...SKIP_BUNDLING, stage: 'qa' } });
    expect(fromContext.node.children.map((c) => c.node.id)).toEqual(
      expect.arrayContaining(['Realtime-qa-Stateful', 'Realtime-qa-Stateless']),
    );
    const overridden = buildApp({ stage: 'pr-7', context: { ...SKIP_BUNDLING, stage: 'qa' } });
    expect(overridden.node.tryFindChild('Realtime-pr-7-Stateful')).toBeDefined();
  });

  it('refuses a missing or malformed stage with a clear error', () => {
    expect(() => buildApp({ context: SKIP_BUNDLING })).toThrow(/Missing stage.*-c stage=dev/);
    for (const stage of ['Dev', 'dev_1', '-dev', 'dev-', 'a'.repeat(33), 'dev stage']) {
      expect(() => validateStage(stage), stage).toThrow(/Invalid stage/);
    }
    expect(validateStage('pr-42')).toBe('pr-42');
  });

  it('treats dev-like stages as ephemeral and everything else as keeping data', () => {
    expect(['dev', 'test', 'ci', 'local', 'dev-alice', 'pr-42'].filter(isEphemeralStage)).toHaveLength(6);
    expect(['prod', 'staging', 'qa', 'prod-eu', 'developer'].filter(isEphemeralStage)).toEqual([]);
  });

  it('passes the tables to the stateless stack as strong cross-stack references', () => {
    expect(dev.stateless.dependencies).toContain(dev.stateful);
    expect(JSON.stringify(dev.statelessTemplate.toJSON())).toContain('Fn::ImportValue');
  });

  it('tags resources with project and stage', () => {
    const tags = Match.arrayWith([
      { Key: 'project', Value: 'realtime-platform' },
      { Key: 'stage', Value: 'dev' },
    ]);
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', { Tags: tags });
    dev.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', { Tags: tags });
    dev.statelessTemplate.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      Tags: { project: 'realtime-platform', stage: 'dev' },
    });
  });

  it.each(templates)('sets no physical names in the %s stack', (_, template) => {
    // A physical name is a literal string; references to generated names (a Lambda permission's
    // FunctionName, say) are intrinsic objects and fine.
    const physicalNames = ['TableName', 'FunctionName', 'RoleName', 'LogGroupName', 'QueueName', 'TopicName'];
    const resources = template.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>;
    for (const [id, resource] of Object.entries(resources)) {
      const named = physicalNames.filter((name) => typeof resource.Properties?.[name] === 'string');
      expect(named, id).toEqual([]);
    }
  });

  it('tells every function a table under the same environment variable name', () => {
    // Table (by construct id) -> the names functions receive its name under; the value is the
    // import of the table's Ref from the stateful stack.
    const names = new Map<string, Set<string>>();
    const strays: string[] = [];
    for (const [id, fn] of resourcesOf(dev.statelessTemplate, 'AWS::Lambda::Function')) {
      const vars = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const [name, value] of Object.entries(vars)) {
        const table = /ExportsOutputRef(Storage(?:Domain|Realtime)Table)/.exec(JSON.stringify(value))?.[1];
        if (table) names.set(table, (names.get(table) ?? new Set()).add(name));
        else if (name.endsWith('TABLE_NAME')) strays.push(`${id}: ${name}`);
      }
    }
    expect(Object.fromEntries([...names].map(([table, vars]) => [table, [...vars]]))).toEqual({
      StorageDomainTable: ['DOMAIN_TABLE_NAME'],
      StorageRealtimeTable: ['REALTIME_TABLE_NAME'],
    });
    expect(strays).toEqual([]);
    // ...and the handlers read the tables under those names only (the publish function once read
    // the domain table as TABLE_NAME, which the template alone could not show).
    const lambdasDir = join(import.meta.dirname, '../../lambdas');
    const read = new Set(
      readdirSync(lambdasDir, { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .flatMap((file) =>
          [...readFileSync(join(lambdasDir, file), 'utf8').matchAll(/['"`]([A-Z0-9_]*TABLE_NAME)['"`]/g)].map((m) => m[1]),
        ),
    );
    expect([...read].sort()).toEqual(['DOMAIN_TABLE_NAME', 'REALTIME_TABLE_NAME']);
  });

  it('grants no wildcard actions', () => {
    const actions = [dev.statefulTemplate, dev.statelessTemplate].flatMap((template) =>
      resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, policy]) =>
        (policy.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) => [s.Action].flat()),
      ),
    );
    expect(actions).toContain('dynamodb:PutItem');
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('gives every log group a retention, and lets only ephemeral stages delete them', () => {
    const devGroups = Object.values(dev.statelessTemplate.findResources('AWS::Logs::LogGroup'));
    expect(devGroups).toHaveLength(25); // 22 functions + 2 access logs + the dunning state machine's
    for (const group of devGroups) {
      expect(group.Properties.RetentionInDays).toBe(30);
      expect(group.DeletionPolicy).toBe('Delete');
    }
    for (const group of Object.values(prod.statelessTemplate.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(30);
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });

  it('runs every function on Node.js 22 / ARM64 with source maps and the index.handler of an ESM bundle', () => {
    const functions = resourcesOf(dev.statelessTemplate, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(22); // 15 behind the APIs, fan-out's two, the domain-event publisher, the charge worker, the reconciliation, the notifier, the dunning step
    for (const [id, fn] of functions) {
      expect(fn.Properties, id).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }) },
      });
      const key = (fn.Properties!.Code as { S3Key: string }).S3Key;
      const assetDir = join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
      expect(existsSync(join(assetDir, 'index.mjs')), `${id}: ${assetDir}/index.mjs`).toBe(true);
      expect(existsSync(join(assetDir, 'index.mjs.map')), `${id}: source map`).toBe(true);
    }
  });

  it('outputs the API URLs, table names and event bus name', () => {
    expect(Object.keys(dev.statelessTemplate.findOutputs('*'))).toEqual(expect.arrayContaining(['HttpApiUrl', 'WebSocketUrl']));
    expect(Object.keys(dev.statefulTemplate.findOutputs('*'))).toEqual(
      expect.arrayContaining(['DomainTableName', 'RealtimeTableName', 'EventBusName']),
    );
  });
});
