import { describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AppFunction } from '../../lib/constructs/app-function';
import { RealtimeGateway } from '../../lib/constructs/realtime-gateway';
import { resourcesOf, SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

const { statelessTemplate: template } = synthApp({ stage: 'dev' });

/** Logical id of the function whose description starts with `prefix`. */
function functionId(prefix: string): string {
  const matches = resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) => String(fn.Properties?.Description).startsWith(prefix));
  expect(matches).toHaveLength(1);
  return matches[0][0];
}

/** The route with `routeKey`, and the function its integration invokes. */
function route(routeKey: string) {
  const [[routeId, routeResource]] = resourcesOf(template, 'AWS::ApiGatewayV2::Route').filter(
    ([, r]) => r.Properties?.RouteKey === routeKey,
  );
  const target = JSON.stringify(routeResource.Properties?.Target);
  const [, integration] = resourcesOf(template, 'AWS::ApiGatewayV2::Integration').find(([id]) => target.includes(id))!;
  return { routeId, props: routeResource.Properties!, integrationUri: JSON.stringify(integration.Properties?.IntegrationUri) };
}

/** Actions granted to the role of the function with logical id `fnId`. */
function grantedActions(fnId: string): string[] {
  const fn = template.findResources('AWS::Lambda::Function')[fnId];
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement)
    .flatMap((s) => [s.Action].flat());
}

describe('RealtimeGateway', { timeout: SYNTH_TIMEOUT }, () => {
  it('routes frames on their type', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.type',
    });
  });

  it('has the built-in routes $connect, $disconnect and $default, each on its own function', () => {
    const keys = resourcesOf(template, 'AWS::ApiGatewayV2::Route')
      .map(([, r]) => r.Properties?.RouteKey)
      .filter((key) => String(key).startsWith('$'));
    expect(keys.sort()).toEqual(['$connect', '$default', '$disconnect']);
    expect(route('$connect').integrationUri).toContain(functionId('WebSocket $connect'));
    expect(route('$disconnect').integrationUri).toContain(functionId('WebSocket $disconnect'));
    expect(route('$default').integrationUri).toContain(functionId('WebSocket $default'));
  });

  it('makes $default two-way so its error frame goes back to the sender', () => {
    const { routeId, props } = route('$default');
    expect(props.RouteResponseSelectionExpression).toBe('$default');
    template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
      RouteId: { Ref: routeId },
      RouteResponseKey: '$default',
    });
    // $default, unsubscribe and ping answer on the route response; subscribe posts its frames.
    template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', 3);
    expect(route('subscribe').props.RouteResponseSelectionExpression).toBeUndefined();
  });

  it('deploys a stage named after the app stage, with throttling and JSON access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RealtimeGatewayAccessLogs'), 'Arn'] },
        Format: Match.serializedJson(Match.objectLike({ connectionId: '$context.connectionId', routeKey: '$context.routeKey' })),
      },
    });
  });

  it('outputs the wss URL including the stage', () => {
    template.hasOutput('WebSocketUrl', {
      Value: { 'Fn::Join': ['', Match.arrayWith(['wss://', '/dev'])] },
    });
  });

  it('lets $connect write and $disconnect delete connection records in the realtime table', () => {
    for (const prefix of ['WebSocket $connect', 'WebSocket $disconnect']) {
      const fnId = functionId(prefix);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            REALTIME_TABLE_NAME: { 'Fn::ImportValue': Match.stringLikeRegexp('StorageRealtimeTable') },
          }),
        },
      });
      const actions = grantedActions(fnId);
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem']));
      expect(actions).not.toContain('dynamodb:Scan');
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:PutItem']),
            Resource: [{ 'Fn::ImportValue': Match.stringLikeRegexp('StorageRealtimeTable.*Arn') }],
          }),
        ]),
      },
    });
  });

  it('gives every frame route its frame limit: the counter table, @connections to close, and the limit (defaults)', () => {
    for (const prefix of ['WebSocket $default', 'WebSocket subscribe', 'WebSocket unsubscribe', 'WebSocket ping']) {
      const fnId = functionId(prefix);
      const vars = template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;
      expect(vars, prefix).toMatchObject({
        FRAME_RATE_LIMIT: '240',
        FRAME_RATE_WINDOW_SECONDS: '60',
        FRAME_RATE_CLOSE_AFTER: '480',
        REALTIME_TABLE_NAME: { 'Fn::ImportValue': expect.stringMatching(/StorageRealtimeTable/) },
        WEBSOCKET_CALLBACK_URL: expect.anything(),
      });
      expect(grantedActions(fnId), prefix).toEqual(expect.arrayContaining(['dynamodb:UpdateItem', 'execute-api:ManageConnections']));
    }
  });

  it('tells $connect and $disconnect the per-user connection cap, and lets them query slots', () => {
    for (const prefix of ['WebSocket $connect', 'WebSocket $disconnect']) {
      const fnId = functionId(prefix);
      const vars = template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;
      expect(vars.MAX_CONNECTIONS_PER_USER, prefix).toBe('20');
      expect(grantedActions(fnId), prefix).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem']));
    }
  });

  it('tells the ticket function (Identity) its per-user budget, 60 a minute by default', () => {
    const fnId = functionId('POST /api/v1/realtime/ticket');
    const vars = template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;
    expect(vars.TICKETS_PER_USER_PER_MINUTE).toBe('60');
    expect(grantedActions(fnId)).toEqual(expect.arrayContaining(['dynamodb:UpdateItem']));
  });

  it('grants ManageConnections only to the functions that push frames or close connections, and Scan to none', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const pushing = Object.keys(policies)
      .filter((id) => JSON.stringify(policies[id]).includes('execute-api:ManageConnections'))
      .sort();
    expect(pushing).toEqual([
      expect.stringMatching(/^FanoutStreamRole/),
      expect.stringMatching(/^FanoutWorkerRole/),
      expect.stringMatching(/^RealtimeGatewayDefaultRole/),
      expect.stringMatching(/^RealtimeGatewayPingRole/),
      expect.stringMatching(/^RealtimeGatewaySubscribeRole/),
      expect.stringMatching(/^RealtimeGatewayUnsubscribeRole/),
    ]);
    expect(JSON.stringify(policies)).not.toContain('dynamodb:Scan');
  });

  it('routes subscribe, unsubscribe and ping to their own functions', () => {
    for (const key of ['subscribe', 'unsubscribe', 'ping']) {
      expect(route(key).integrationUri).toContain(functionId(`WebSocket ${key}`));
    }
  });
});

describe('RealtimeGateway.bindConnectionsApi', { timeout: SYNTH_TIMEOUT }, () => {
  const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
  const table = new Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: AttributeType.STRING },
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  const connectAuthorizer = new AppFunction(stack, 'Authorizer', { entry: 'realtime/connect-authorizer.ts', serviceName: 'test' });
  const gateway = new RealtimeGateway(stack, 'Gateway', { stage: 'test', realtimeTable: table, connectAuthorizer });
  const pusher = new AppFunction(stack, 'Pusher', { entry: 'realtime/default.ts', serviceName: 'test' });
  gateway.bindConnectionsApi(pusher);
  const pusherTemplate = Template.fromStack(stack);

  it('sets the callback URL and grants ManageConnections on this stage only', () => {
    pusherTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          WEBSOCKET_CALLBACK_URL: { 'Fn::Join': ['', Match.arrayWith(['https://', '/test'])] },
        }),
      },
    });
    pusherTemplate.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'execute-api:ManageConnections',
            Resource: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^/test/\\*/@connections/\\*$')])] },
          }),
        ]),
      },
    });
  });

  it('acknowledges exactly the wildcard that grant produces, so cdk-nag stays clean', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations).toEqual([]);
  });
});

describe('RealtimeGateway props', { timeout: SYNTH_TIMEOUT }, () => {
  const setUp = () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
    const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    const connectAuthorizer = new AppFunction(stack, 'Authorizer', { entry: 'realtime/connect-authorizer.ts', serviceName: 'test' });
    return { stack, realtimeTable: table, connectAuthorizer, stage: 'test' };
  };

  it('rejects a stage name API Gateway cannot use in the URL', () => {
    const { stack, ...props } = setUp();
    expect(() => new RealtimeGateway(stack, 'Gateway', { ...props, stage: 'dev/1' })).toThrow(/stage must be/);
  });

  it('sets the limits it is given on the functions that enforce them', () => {
    const { stack, ...props } = setUp();
    new RealtimeGateway(stack, 'Gateway', {
      ...props,
      frameRateLimit: { frames: 50, window: Duration.seconds(10) },
      maxConnectionsPerUser: 3,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^WebSocket ping'),
      Environment: {
        Variables: Match.objectLike({ FRAME_RATE_LIMIT: '50', FRAME_RATE_WINDOW_SECONDS: '10', FRAME_RATE_CLOSE_AFTER: '100' }),
      },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^WebSocket \\$connect'),
      Environment: { Variables: Match.objectLike({ MAX_CONNECTIONS_PER_USER: '3' }) },
    });
  });

  it.each([
    [{ frameRateLimit: { frames: 0 } }, /frameRateLimit.frames must be an integer from 1/],
    [{ frameRateLimit: { frames: 10, window: Duration.hours(2) } }, /frameRateLimit.window must be an integer from 1 to 3600 seconds/],
    [{ frameRateLimit: { frames: 10, closeAfter: 5 } }, /frameRateLimit.closeAfter must be an integer from 10/],
    [{ maxConnectionsPerUser: 0 }, /maxConnectionsPerUser must be an integer from 1 to 1000/],
  ])('rejects a limit that makes no sense: %j', (limits, message) => {
    const { stack, ...props } = setUp();
    expect(() => new RealtimeGateway(stack, 'Gateway', { ...props, ...limits })).toThrow(message);
  });
});
