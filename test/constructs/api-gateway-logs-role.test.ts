import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';
import { ApiGatewayLogsRole } from '../../lib/constructs/api-gateway-logs-role';
import { AppFunction } from '../../lib/constructs/app-function';
import { RealtimeGateway } from '../../lib/constructs/realtime-gateway';
import { resourcesOf, SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

// Neither the role nor the stage ordering depends on function code.
const withRole = synthApp({ stage: 'dev', context: { ...SKIP_BUNDLING, apiGatewayCloudWatchRole: 'true' } });
const without = synthApp({ stage: 'dev', context: SKIP_BUNDLING });

const MANAGED_POLICY = 'AmazonAPIGatewayPushToCloudWatchLogs';

describe('API Gateway account logging role', { timeout: SYNTH_TIMEOUT }, () => {
  it('is not created by default: the setting is one per account and region', () => {
    for (const template of [without.statefulTemplate, without.statelessTemplate]) {
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
      expect(JSON.stringify(template.toJSON())).not.toContain(MANAGED_POLICY);
    }
  });

  it('with -c apiGatewayCloudWatchRole=true, sets the account to a role API Gateway assumes with the logging policy', () => {
    const template = withRole.statefulTemplate;
    const [[roleId]] = resourcesOf(template, 'AWS::IAM::Role');
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResourceProperties('AWS::ApiGateway::Account', { CloudWatchRoleArn: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Action: 'sts:AssumeRole', Principal: { Service: 'apigateway.amazonaws.com' } })],
      },
      ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::aws:policy/service-role/${MANAGED_POLICY}`]] }],
    });
    // In the stateful stack only; the stateless one has no role of its own for it.
    withRole.statelessTemplate.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('retains both when they leave the stack, so the setting never names a deleted role', () => {
    const template = withRole.statefulTemplate;
    for (const type of ['AWS::ApiGateway::Account', 'AWS::IAM::Role']) {
      const resources = Object.values(template.findResources(type));
      expect(
        resources.map((r) => [r.DeletionPolicy, r.UpdateReplacePolicy]),
        type,
      ).toEqual([['Retain', 'Retain']]);
    }
  });

  it('is in place before the WebSocket stage: the stateless stack deploys after the stateful one', () => {
    expect(withRole.stateless.dependencies).toContain(withRole.stateful);
  });

  it('keeps cdk-nag clean, the managed policy acknowledged with its reason', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(withRole.stateful);
    expect(report.violations).toEqual([]);
  });

  it('accepts true or false and refuses anything else', () => {
    const app = (value: unknown) => buildApp({ stage: 'dev', context: { ...SKIP_BUNDLING, apiGatewayCloudWatchRole: value } });
    expect(() => app('false')).not.toThrow();
    expect(() => app(true)).not.toThrow();
    expect(() => app('yes')).toThrow(/apiGatewayCloudWatchRole.*true or false/);
  });
});

describe('RealtimeGateway with the logging role', { timeout: SYNTH_TIMEOUT }, () => {
  it('creates its stage after the account setting and the role', () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
    const logsRole = new ApiGatewayLogsRole(stack, 'LogsRole');
    const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const connectAuthorizer = new AppFunction(stack, 'Authorizer', { entry: 'realtime/connect-authorizer.ts', serviceName: 'test' });
    new RealtimeGateway(stack, 'Gateway', { stage: 'test', realtimeTable: table, connectAuthorizer, apiGatewayLogsRole: logsRole });

    const template = Template.fromStack(stack);
    const [[accountId]] = resourcesOf(template, 'AWS::ApiGateway::Account');
    const [roleId] = Object.keys(template.findResources('AWS::IAM::Role', { Properties: { ManagedPolicyArns: Match.anyValue() } }));
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage.DependsOn).toEqual(expect.arrayContaining([accountId, roleId]));
  });
});
