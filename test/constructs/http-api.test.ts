import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpApi } from '../../lib/constructs/http-api';
import { resourcesOf, SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

const { statelessTemplate: template } = synthApp({ stage: 'dev' });

describe('HttpApi', { timeout: SYNTH_TIMEOUT }, () => {
  it('is an HTTP API with CORS for the headers and methods clients use', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
        AllowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      },
    });
  });

  it('routes GET /api/v1/health to the health function', () => {
    const [[, route]] = resourcesOf(template, 'AWS::ApiGatewayV2::Route').filter(
      ([, r]) => r.Properties?.RouteKey === 'GET /api/v1/health',
    );
    const [[healthId]] = resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) =>
      String(fn.Properties?.Description).includes('/api/v1/health'),
    );
    const target = JSON.stringify(route.Properties?.Target);
    const [, integration] = resourcesOf(template, 'AWS::ApiGatewayV2::Integration').find(([id]) => target.includes(id))!;
    expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    expect(JSON.stringify(integration.Properties?.IntegrationUri)).toContain(healthId);
  });

  it('tells the health function its stage and nothing about tables', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'GET /api/v1/health',
      Environment: { Variables: Match.objectLike({ STAGE: 'dev', DOMAIN_TABLE_NAME: Match.absent() }) },
    });
  });

  it('deploys the $default stage with throttling and JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('HttpApiAccessLogs'), 'Arn'] },
        Format: Match.serializedJson(Match.objectLike({ requestId: '$context.requestId', status: '$context.status' })),
      },
    });
  });

  it('outputs the API URL', () => {
    template.hasOutput('HttpApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://'])] } });
  });
});

describe('HttpApi props and routes', { timeout: SYNTH_TIMEOUT }, () => {
  const stack = () => new Stack(new App({ context: SKIP_BUNDLING }), 'Test');

  it('uses the configured CORS origins', () => {
    const s = stack();
    new HttpApi(s, 'Http', { stage: 'test', corsAllowOrigins: ['https://app.example.com'] });
    Template.fromStack(s).hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com'] }),
    });
  });

  it('rejects origins that are not scheme://host', () => {
    expect(() => new HttpApi(stack(), 'Http', { stage: 'test', corsAllowOrigins: ['app.example.com'] })).toThrow(/corsAllowOrigins/);
    expect(() => new HttpApi(stack(), 'Http', { stage: 'test', corsAllowOrigins: [] })).toThrow(/corsAllowOrigins/);
  });

  it('refuses a route with neither an authorizer nor a reason to be public', () => {
    const api = new HttpApi(stack(), 'Http', { stage: 'test' });
    expect(() => api.addRoute({ path: '/api/v1/things', methods: [HttpMethod.GET], handler: api.healthFunction })).toThrow(/no authorizer/);
  });
});
