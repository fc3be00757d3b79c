import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app';
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

  it('is in place before the WebSocket stage: the stateless stack, which holds it, deploys after the stateful one', () => {
    // Stack order is what makes the stage wait for the setting; there is no resource-level DependsOn.
    withRole.statelessTemplate.resourceCountIs('AWS::ApiGatewayV2::Stage', 2);
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
