import { describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppFunction, type AppFunctionProps } from '../../lib/constructs/app-function';
import { SKIP_BUNDLING, SYNTH_TIMEOUT } from './support';

const ENTRY = 'http/health.ts';

/** A fresh stack with two tables; function code is not bundled (these tests read the template). */
function fixture() {
  const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
  const table = (id: string) => {
    const t = new Table(stack, id, {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    t.addGlobalSecondaryIndex({
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
    });
    return t;
  };
  const fn = (id = 'Fn', props: Partial<AppFunctionProps> = {}) =>
    new AppFunction(stack, id, { entry: ENTRY, serviceName: 'test', ...props });
  return { stack, domain: table('Domain'), realtime: table('Realtime'), fn };
}

/** All Allow statements of the stack's IAM policies, flattened. */
function statements(stack: Stack): { Action: string | string[]; Resource: unknown }[] {
  return Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement,
  );
}

function tableStatements(stack: Stack) {
  return statements(stack).filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
}

describe('AppFunction', { timeout: SYNTH_TIMEOUT }, () => {
  it('fixes runtime, architecture, defaults, source maps and Powertools settings', () => {
    const { stack, fn } = fixture();
    fn();
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 10,
      MemorySize: 256,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'test',
          POWERTOOLS_METRICS_NAMESPACE: 'RealtimePlatform',
          POWERTOOLS_LOG_LEVEL: 'INFO',
        },
      },
    });
  });

  it('honours timeout, memory and log retention props', () => {
    const { stack, fn } = fixture();
    fn('Fn', { timeout: Duration.seconds(3), memorySize: 512, logRetention: RetentionDays.ONE_WEEK });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 3, MemorySize: 512 });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('logs to its own log group with a retention, not through the deprecated logRetention', () => {
    const { stack, fn } = fixture();
    fn();
    const template = Template.fromStack(stack);
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } }));
    expect(logGroupId).toBeDefined();
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
    template.resourceCountIs('Custom::LogRetention', 0);
  });

  it('runs with a role that has no AWS managed policy and may only write its own log group', () => {
    const { stack, fn } = fixture();
    fn();
    const template = Template.fromStack(stack);
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup'));
    expect(statements(stack)).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
      },
    ]);
  });

  it('bindTable W sets the env var and grants writes on the table only', () => {
    const { stack, realtime, fn } = fixture();
    fn().bindTable(realtime, 'W', 'REALTIME_TABLE_NAME');
    const realtimeId = stack.getLogicalId(realtime.node.defaultChild as never);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REALTIME_TABLE_NAME: { Ref: realtimeId } }) },
    });
    const [statement] = tableStatements(stack);
    expect(statement.Action).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem']));
    expect(statement.Action).not.toContain('dynamodb:GetItem');
    expect(statement.Action).not.toContain('dynamodb:Query');
    // The table ARN and nothing else: no `<table>/index/*` wildcard.
    expect(statement.Resource).toEqual([{ 'Fn::GetAtt': [realtimeId, 'Arn'] }]);
  });

  it('bindTable R grants reads but no writes, RW grants both', () => {
    const reader = fixture();
    reader.fn().bindTable(reader.domain, 'R', 'DOMAIN_TABLE_NAME');
    const readActions = tableStatements(reader.stack).flatMap((s) => [s.Action].flat());
    expect(readActions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(readActions).not.toContain('dynamodb:PutItem');

    const writer = fixture();
    writer.fn().bindTable(writer.domain, 'RW', 'DOMAIN_TABLE_NAME');
    const rwActions = tableStatements(writer.stack).flatMap((s) => [s.Action].flat());
    expect(rwActions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem']));
  });

  it('binds two tables under distinct names, and has no default name', () => {
    const { stack, domain, realtime, fn } = fixture();
    // A generic default (it was TABLE_NAME) let one table go by two names; the caller names it.
    // @ts-expect-error envName is required
    expect(() => fn('One').bindTable(domain, 'R')).toThrow(/not a usable environment variable name/);
    fn('Two').bindTable(domain, 'RW', 'DOMAIN_TABLE_NAME').bindTable(realtime, 'W', 'REALTIME_TABLE_NAME');
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DOMAIN_TABLE_NAME: Match.anyValue(), REALTIME_TABLE_NAME: Match.anyValue() }),
      },
    });
  });

  it('refuses to bind the same variable twice or to use a reserved or malformed name', () => {
    const { domain, realtime, fn } = fixture();
    const f = fn().bindTable(domain, 'R', 'DOMAIN_TABLE_NAME');
    expect(() => f.bindTable(realtime, 'R', 'DOMAIN_TABLE_NAME')).toThrow(/already bound/);
    for (const name of ['table_name', 'AWS_REGION', 'NODE_OPTIONS', '1TABLE']) {
      expect(() => f.bindTable(realtime, 'R', name)).toThrow(/not a usable environment variable name/);
    }
  });

  it('grantIndexQuery allows Query on the named index only', () => {
    const { stack, domain, fn } = fixture();
    fn().bindTable(domain, 'R', 'DOMAIN_TABLE_NAME').grantIndexQuery(domain, 'gsi1');
    const domainId = stack.getLogicalId(domain.node.defaultChild as never);
    expect(statements(stack)).toContainEqual({
      Effect: 'Allow',
      Action: 'dynamodb:Query',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [domainId, 'Arn'] }, '/index/gsi1']] },
    });
  });

  it('validates its props', () => {
    const { fn } = fixture();
    expect(() => fn('Missing', { entry: 'http/nope.ts' })).toThrow(/does not exist/);
    expect(() => fn('Clash', { environment: { NODE_OPTIONS: '--inspect' } })).toThrow(/may not set NODE_OPTIONS/);
    expect(() => fn('Tiny', { memorySize: 64 })).toThrow(/memorySize/);
    expect(() => fn('Nameless', { serviceName: ' ' })).toThrow(/serviceName/);
  });

  it('passes cdk-nag with table bindings', () => {
    const { stack, domain, realtime, fn } = fixture();
    fn().bindTable(domain, 'RW', 'DOMAIN_TABLE_NAME').bindTable(realtime, 'W', 'REALTIME_TABLE_NAME');
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations).toEqual([]);
  });
});
