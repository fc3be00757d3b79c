/**
 * RealtimeGateway: the WebSocket API clients hold open (DESIGN.md sections 2 and 3;
 * docs/protocol.md). Frames are routed on their `type` (`$request.body.type`):
 *
 * - `$connect` records the connection and its user in the realtime table; it is guarded by the
 *   ticket authorizer (`connectAuthorizer`, identity source `route.request.querystring.ticket`), so
 *   a connect without a valid ticket is refused before the route runs,
 * - `$disconnect` forgets the connection and its subscriptions,
 * - `subscribe` registers a subscription and sends `subscribed` and any replay through
 *   `@connections` (so they arrive before live data),
 * - `unsubscribe` and `ping` answer through the two-way route response (`unsubscribed`, `pong`),
 * - `$default` answers unroutable frames with an error frame (two-way).
 *
 * Two-way routes need no `@connections` access to answer; functions that push frames (subscribe,
 * fan-out) get it through `bindConnectionsApi`.
 *
 * Limits (docs/protocol.md, "Limits"; lambdas/shared/realtime/limits.ts): every frame route
 * (`$default`, subscribe, unsubscribe, ping) counts its connection's frames in the realtime table
 * and closes a connection far over its limit, so each gets the table, `@connections` and the
 * `FRAME_RATE_*` variables; `$connect` and `$disconnect` claim and release the user's connection
 * slots (`MAX_CONNECTIONS_PER_USER`).
 *
 * Relies on: the realtime table's `pk`/`sk` layout (`lambdas/shared/realtime/dynamo-subscription-registry.ts`), and
 * API Gateway's account-level CloudWatch Logs role in the target account and region: a WebSocket
 * stage cannot write access logs without it. The app creates that role when asked
 * (`ApiGatewayLogsRole`, in the stateful stack, which deploys before the stack holding this).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AppFunction } from './app-function';
import { DEFAULT_FRAME_RATE_LIMIT, DEFAULT_MAX_CONNECTIONS_PER_USER, LIMIT_ENV } from '../../lambdas/shared/realtime/limits';
import { acknowledgeWildcardResources } from './nag';
import { integerInRange } from './validate';

/** The per-connection frame limit (docs/protocol.md, "Limits"). */
export interface FrameRateLimitProps {
  /** Frames a connection may send per window; the next ones are answered `rate_limited`. */
  readonly frames: number;
  /**
   * Length of the fixed window: whole seconds, from 1 second to 1 hour.
   * @default Duration.minutes(1)
   */
  readonly window?: Duration;
  /** Frames in one window past which the connection is closed; at least `frames`. @default 2 × frames */
  readonly closeAfter?: number;
}

export interface RealtimeGatewayProps {
  /** Deployment stage; also the WebSocket stage name, so the URL is `wss://…/{stage}`. */
  readonly stage: string;
  /** Table that holds connections, subscriptions, topic heads and the replay log. */
  readonly realtimeTable: ITable;
  /**
   * The `$connect` authorizer: a Lambda REQUEST authorizer that receives the `ticket` query
   * parameter and answers an IAM policy with context `{userId, role}`. Required: the WebSocket
   * contract refuses connections without a ticket (DESIGN.md section 3).
   */
  readonly connectAuthorizer: IFunction;
  /**
   * Default throttling of every route (messages per second, and burst).
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** Retention of access logs and of the route functions' logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Frames one connection may send: each costs a Lambda invocation, and the stage-wide throttle
   * above is all API Gateway offers. Generous enough to subscribe to 100 topics at connect.
   * @default { frames: 240, window: Duration.minutes(1), closeAfter: 480 }
   */
  readonly frameRateLimit?: FrameRateLimitProps;
  /**
   * Open connections one user may hold at once; `$connect` refuses the next with 429.
   * @default 20
   */
  readonly maxConnectionsPerUser?: number;
}

/**
 * What a function that pushes frames to clients needs from the gateway. Constructs take this
 * rather than `RealtimeGateway`, so they depend on the one method they call.
 */
export interface IConnectionsApi {
  /** `https://…/{stage}`: the `@connections` endpoint. */
  readonly callbackUrl: string;
  /**
   * Sets `envName` on `fn` to the `@connections` endpoint and grants ManageConnections on this
   * stage only (STYLE 4: the variable and the grant together). `envName` defaults to
   * `WEBSOCKET_CALLBACK_URL`, the name every handler reads.
   */
  bindConnectionsApi(fn: AppFunction, envName?: string): void;
}

/** WebSocket context variables for the access log; one JSON object per connect, message, disconnect. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    connectionId: '$context.connectionId',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    messageId: '$context.messageId',
    status: '$context.status',
    requestTime: '$context.requestTime',
    connectedAt: '$context.connectedAt',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    integrationLatency: '$context.integrationLatency',
    error: '$context.error.message',
  }),
);

export class RealtimeGateway extends Construct implements IConnectionsApi {
  public readonly api: apigwv2.IWebSocketApi;
  public readonly stage: apigwv2.IWebSocketStage;
  /** `wss://…/{stage}`: where clients connect. */
  public readonly url: string;
  /** `https://…/{stage}`: the `@connections` endpoint for pushing frames to clients. */
  public readonly callbackUrl: string;
  public readonly connectFunction: IFunction;
  public readonly disconnectFunction: IFunction;
  public readonly defaultFunction: IFunction;
  public readonly subscribeFunction: IFunction;
  public readonly unsubscribeFunction: IFunction;
  public readonly pingFunction: IFunction;

  private readonly webSocketStage: apigwv2.WebSocketStage;

  constructor(scope: Construct, id: string, props: RealtimeGatewayProps) {
    super(scope, id);
    // The stage name becomes part of the URL clients connect to.
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(props.stage)) {
      throw new Error(`RealtimeGateway ${id}: stage must be letters, digits, '-' or '_'; got ${JSON.stringify(props.stage)}`);
    }

    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const fn = (fnId: string, entry: string, description: string) =>
      new AppFunction(this, fnId, { entry, serviceName: 'realtime-gateway', description, logRetention });

    const limit = this.frameRateLimit(id, props.frameRateLimit);
    const maxConnectionsPerUser = integerInRange(
      `RealtimeGateway ${id}`,
      'maxConnectionsPerUser',
      props.maxConnectionsPerUser ?? DEFAULT_MAX_CONNECTIONS_PER_USER,
      1,
      1000,
    );

    // $connect queries the user's slots before claiming one; $disconnect finds the one it held.
    const connect = fn('Connect', 'realtime/connect.ts', 'WebSocket $connect: records the connection');
    connect.bindTable(props.realtimeTable, 'RW', 'REALTIME_TABLE_NAME');
    const disconnect = fn('Disconnect', 'realtime/disconnect.ts', 'WebSocket $disconnect: forgets the connection');
    disconnect.bindTable(props.realtimeTable, 'RW', 'REALTIME_TABLE_NAME');
    for (const f of [connect, disconnect]) f.bindEnvironment(LIMIT_ENV.connectionsPerUser, String(maxConnectionsPerUser));
    const fallback = fn('Default', 'realtime/default.ts', 'WebSocket $default: answers unroutable frames');
    fallback.bindTable(props.realtimeTable, 'W', 'REALTIME_TABLE_NAME');
    const subscribe = fn('Subscribe', 'realtime/subscribe.ts', 'WebSocket subscribe: registers, replays, goes live');
    subscribe.bindTable(props.realtimeTable, 'RW', 'REALTIME_TABLE_NAME');
    const unsubscribe = fn('Unsubscribe', 'realtime/unsubscribe.ts', 'WebSocket unsubscribe: removes a subscription');
    unsubscribe.bindTable(props.realtimeTable, 'RW', 'REALTIME_TABLE_NAME');
    const ping = fn('Ping', 'realtime/ping.ts', 'WebSocket ping: answers pong');
    ping.bindTable(props.realtimeTable, 'W', 'REALTIME_TABLE_NAME');
    const frameRoutes = [fallback, subscribe, unsubscribe, ping];
    for (const f of frameRoutes) {
      f.bindEnvironment(LIMIT_ENV.frames, String(limit.frames));
      f.bindEnvironment(LIMIT_ENV.windowSeconds, String(limit.windowSeconds));
      f.bindEnvironment(LIMIT_ENV.closeAfter, String(limit.closeAfter));
    }

    const api = new apigwv2.WebSocketApi(this, 'Api', {
      // A label for the console, not an identifier: API names need not be unique.
      apiName: `${Stack.of(this).stackName}-${id}`,
      description: `Realtime platform WebSocket API (${props.stage})`,
      routeSelectionExpression: '$request.body.type',
    });
    // API Gateway runs an authorizer only on $connect; every later frame travels on a connection
    // that already passed it. So only $connect carries one (the ticket authorizer).
    const onlyConnectAuthorizes =
      'API Gateway accepts an authorizer only on $connect; this route runs on a connection that already passed it.';
    this.addRoute(api, '$connect', connect, {
      authorizer: new WebSocketLambdaAuthorizer('Ticket', props.connectAuthorizer, {
        identitySource: ['route.request.querystring.ticket'],
      }),
    });
    this.addRoute(api, '$disconnect', disconnect, { authorizationReason: onlyConnectAuthorizes });
    this.addRoute(api, '$default', fallback, { authorizationReason: onlyConnectAuthorizes, returnResponse: true });
    this.addRoute(api, 'subscribe', subscribe, { authorizationReason: onlyConnectAuthorizes });
    this.addRoute(api, 'unsubscribe', unsubscribe, { authorizationReason: onlyConnectAuthorizes, returnResponse: true });
    this.addRoute(api, 'ping', ping, { authorizationReason: onlyConnectAuthorizes, returnResponse: true });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.webSocketStage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: api,
      stageName: props.stage,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 500, burstLimit: 1000 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });

    this.api = api;
    this.stage = this.webSocketStage;
    this.url = this.webSocketStage.url;
    this.callbackUrl = this.webSocketStage.callbackUrl;
    this.connectFunction = connect;
    this.disconnectFunction = disconnect;
    this.defaultFunction = fallback;
    this.subscribeFunction = subscribe;
    this.unsubscribeFunction = unsubscribe;
    this.pingFunction = ping;
    // After webSocketStage exists: the grant is scoped to the stage. Subscribe posts its frames;
    // every frame route may close a connection far over its frame limit.
    for (const f of frameRoutes) this.bindConnectionsApi(f);
  }

  /** The frame limit from props, checked (STYLE 2), in the units the functions read. */
  private frameRateLimit(id: string, props: FrameRateLimitProps | undefined) {
    const owner = `RealtimeGateway ${id}`;
    if (!props) return DEFAULT_FRAME_RATE_LIMIT;
    const frames = integerInRange(owner, 'frameRateLimit.frames', props.frames, 1, 1_000_000);
    const windowSeconds = integerInRange(
      owner,
      'frameRateLimit.window',
      (props.window ?? Duration.seconds(DEFAULT_FRAME_RATE_LIMIT.windowSeconds)).toSeconds(),
      1,
      3600,
      ' seconds',
    );
    const closeAfter = integerInRange(owner, 'frameRateLimit.closeAfter', props.closeAfter ?? 2 * frames, frames, 2_000_000);
    return { frames, windowSeconds, closeAfter };
  }

  /**
   * Lets a function push frames to connections (STYLE 4: env var and grant together): sets
   * `envName` to the `@connections` endpoint and grants ManageConnections on this stage only.
   * Call it with functions in the same stack as the gateway.
   */
  public bindConnectionsApi(fn: AppFunction, envName = 'WEBSOCKET_CALLBACK_URL'): void {
    fn.bindEnvironment(envName, this.callbackUrl);
    const grant = this.webSocketStage.grantManagementApiAccess(fn);
    if (fn.role === undefined) {
      throw new Error(`RealtimeGateway ${this.node.id}: ${fn.node.path} has no role to grant to`);
    }
    acknowledgeWildcardResources(
      fn.role,
      grant,
      'ManageConnections is scoped to this API and stage; connection ids are only known at run time ' +
        '(@connections/*) and the function needs POST, GET and DELETE on them (the method wildcard).',
    );
  }

  private addRoute(
    api: apigwv2.WebSocketApi,
    routeKey: string,
    handler: IFunction,
    options: ({ authorizer: apigwv2.IWebSocketRouteAuthorizer } | { authorizationReason: string }) & { returnResponse?: boolean },
  ): apigwv2.WebSocketRoute {
    const route = api.addRoute(routeKey, {
      // Created inside the route's scope, so this id only has to be unique per route.
      integration: new WebSocketLambdaIntegration('Integration', handler),
      authorizer: 'authorizer' in options ? options.authorizer : undefined,
      returnResponse: options.returnResponse,
    });
    if ('authorizationReason' in options) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: options.authorizationReason });
    }
    return route;
  }
}
