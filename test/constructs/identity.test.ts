import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { resourcesOf, SYNTH_TIMEOUT, synthApp } from './support';

const { statelessTemplate: template, statefulTemplate } = synthApp({ stage: 'dev' });

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

/** Logical id of the function whose description starts with `prefix`. */
function functionId(prefix: string): string {
  const matches = resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) => String(fn.Properties?.Description).startsWith(prefix));
  expect(matches, prefix).toHaveLength(1);
  return matches[0]![0];
}

function statements(fnId: string): Statement[] {
  const fn = template.findResources('AWS::Lambda::Function')[fnId];
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

function envOf(fnId: string): Record<string, unknown> {
  return template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;
}

function routeAuth(routeKey: string) {
  const [[, route]] = resourcesOf(template, 'AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties?.RouteKey === routeKey);
  return { type: route.Properties?.AuthorizationType, authorizerId: JSON.stringify(route.Properties?.AuthorizerId ?? null) };
}

const AUTH = 'POST /api/v1/auth/';
const AUTHORIZER = 'HTTP API authorizer';
const TICKET = 'POST /api/v1/realtime/ticket';
const CONNECT_AUTHORIZER = 'Ticket authorizer of WebSocket $connect';

describe('SigningKey (stateful stack)', { timeout: SYNTH_TIMEOUT }, () => {
  it('generates JSON {"key": <64 alphanumerics>} in Secrets Manager', () => {
    statefulTemplate.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: '{}',
        GenerateStringKey: 'key',
        PasswordLength: 64,
        ExcludePunctuation: true,
        IncludeSpace: false,
      },
    });
  });
});

describe('Identity', { timeout: SYNTH_TIMEOUT }, () => {
  it('leaves signup, login and refresh public and puts logout and ticket behind the bearer authorizer', () => {
    for (const path of ['signup', 'login', 'refresh']) {
      expect(routeAuth(`POST /api/v1/auth/${path}`).type, path).toBe('NONE');
    }
    const [[authorizerId]] = resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer').filter(
      ([, a]) => a.Properties?.AuthorizerType === 'REQUEST' && a.Properties?.EnableSimpleResponses === true,
    );
    for (const key of ['POST /api/v1/auth/logout', 'POST /api/v1/realtime/ticket']) {
      expect(routeAuth(key), key).toEqual({ type: 'CUSTOM', authorizerId: JSON.stringify({ Ref: authorizerId }) });
    }
  });

  it('configures the HTTP authorizer: REQUEST, payload 2.0, simple responses, cached 5 min per Authorization header', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
      AuthorizerUri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [functionId(AUTHORIZER), 'Arn'] }])] }),
    });
  });

  it('guards WebSocket $connect with the ticket authorizer on the ticket query parameter', () => {
    const { type, authorizerId } = routeAuth('$connect');
    expect(type).toBe('CUSTOM');
    const [[wsAuthorizerId, wsAuthorizer]] = resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer').filter(
      ([, a]) => JSON.stringify(a.Properties?.IdentitySource) === JSON.stringify(['route.request.querystring.ticket']),
    );
    expect(authorizerId).toBe(JSON.stringify({ Ref: wsAuthorizerId }));
    expect(JSON.stringify(wsAuthorizer.Properties?.AuthorizerUri)).toContain(functionId(CONNECT_AUTHORIZER));
    expect(routeAuth('$disconnect').type).toBe('NONE');
  });

  it('lets the auth function and the authorizer read the signing secret, and only them', () => {
    const secretRef = { 'Fn::ImportValue': Match.stringLikeRegexp('SigningKeySecret') };
    for (const prefix of [AUTH, AUTHORIZER]) {
      const fnId = functionId(prefix);
      expect(envOf(fnId).SIGNING_SECRET_ARN, prefix).toEqual({ 'Fn::ImportValue': expect.stringMatching(/SigningKeySecret/) });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: template.findResources('AWS::Lambda::Function')[fnId].Properties.Role['Fn::GetAtt'][0] }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: secretRef }),
          ]),
        },
      });
    }
    for (const prefix of [TICKET, CONNECT_AUTHORIZER, 'WebSocket $connect:']) {
      const fnId = functionId(prefix);
      expect(envOf(fnId).SIGNING_SECRET_ARN, prefix).toBeUndefined();
      expect(JSON.stringify(statements(fnId)), prefix).not.toContain('secretsmanager');
    }
  });

  it('binds tables least-privilege: auth on the domain table, tickets on the realtime table, authorizer on none', () => {
    const auth = envOf(functionId(AUTH));
    expect(auth.DOMAIN_TABLE_NAME).toEqual({ 'Fn::ImportValue': expect.stringMatching(/StorageDomainTable/) });
    expect(auth.REALTIME_TABLE_NAME).toBeUndefined();
    for (const prefix of [TICKET, CONNECT_AUTHORIZER]) {
      const env = envOf(functionId(prefix));
      expect(env.REALTIME_TABLE_NAME, prefix).toEqual({ 'Fn::ImportValue': expect.stringMatching(/StorageRealtimeTable/) });
      expect(env.DOMAIN_TABLE_NAME, prefix).toBeUndefined();
      const actions = statements(functionId(prefix)).flatMap((s) => [s.Action].flat());
      expect(actions, prefix).toContain('dynamodb:DeleteItem');
      expect(actions, prefix).not.toContain('dynamodb:Scan');
    }
    const authorizerActions = statements(functionId(AUTHORIZER)).flatMap((s) => [s.Action].flat());
    expect(authorizerActions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    expect(Object.keys(envOf(functionId(AUTHORIZER))).filter((k) => k.endsWith('TABLE_NAME'))).toEqual([]);
  });

  it('grants no wildcard action to any function', () => {
    const actions = resourcesOf(template, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement.flatMap((s) => [s.Action].flat()),
    );
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('gives the auth function the memory scrypt needs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^POST /api/v1/auth/'),
      MemorySize: 1024,
    });
  });
});
