/**
 * HttpApi: the public HTTP API (API Gateway v2, DESIGN.md section 4) and its routes. It owns the
 * API, its `$default` stage (throttling, JSON access logs), CORS, and the health route; later
 * issues add their routes with `addRoute`.
 *
 * Relies on: AppFunction for route handlers; every route either has an authorizer or states why
 * it is public.
 */
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AppFunction } from './app-function';

export interface HttpApiProps {
  /** Deployment stage, reported by the health route. */
  readonly stage: string;
  /**
   * Origins allowed by CORS: `*` or full origins such as `https://app.example.com`.
   * @default ['*']
   */
  readonly corsAllowOrigins?: readonly string[];
  /**
   * Default throttling of every route (requests per second, and burst).
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;
  /** Retention of access logs and of the route functions' logs. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export interface AddRouteOptions {
  /** Path such as `/api/v1/content/{id}`. */
  readonly path: string;
  /** Methods routed to `handler` on `path` (one route each). */
  readonly methods: readonly apigwv2.HttpMethod[];
  /** The function that answers, with payload format 2.0. */
  readonly handler: IFunction;
  /** @default - none: then `publicReason` is required */
  readonly authorizer?: apigwv2.IHttpRouteAuthorizer;
  /**
   * Why this route needs no authorizer; recorded as the cdk-nag acknowledgment.
   * @default - none: then `authorizer` is required
   */
  readonly publicReason?: string;
}

/**
 * What a route group needs from the HTTP API: a way to add its routes. Constructs take this
 * rather than `HttpApi`, so they depend on the one method they call.
 */
export interface IHttpApiRoutes {
  /** Routes `methods` on `path` to a Lambda function; throws if the route has neither an authorizer nor a public reason. */
  addRoute(options: AddRouteOptions): apigwv2.HttpRoute[];
}

/** HTTP API context variables for the access log; one JSON object per request. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    requestTime: '$context.requestTime',
    method: '$context.httpMethod',
    path: '$context.path',
    routeKey: '$context.routeKey',
    status: '$context.status',
    protocol: '$context.protocol',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    error: '$context.error.message',
  }),
);

export class HttpApi extends Construct implements IHttpApiRoutes {
  public readonly api: apigwv2.IHttpApi;
  /** Base URL of the API, ending in `/`. */
  public readonly url: string;
  public readonly healthFunction: IFunction;

  private readonly httpApi: apigwv2.HttpApi;
  private readonly logRetention: RetentionDays;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    if (props.stage.trim() === '') {
      throw new Error(`HttpApi ${id}: stage must not be empty`);
    }

    const allowOrigins = [...(props.corsAllowOrigins ?? ['*'])];
    const badOrigins = allowOrigins.filter((origin) => origin !== '*' && !/^https?:\/\/[^/]+$/.test(origin));
    if (allowOrigins.length === 0 || badOrigins.length > 0) {
      throw new Error(
        `HttpApi ${id}: corsAllowOrigins must be '*' or origins like https://app.example.com ` +
          `(scheme and host, no path); got ${JSON.stringify(allowOrigins)}`,
      );
    }
    this.logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.httpApi = new apigwv2.HttpApi(this, 'Api', {
      // A label for the console, not an identifier: API names need not be unique.
      apiName: `${Stack.of(this).stackName}-${id}`,
      description: `Realtime platform HTTP API (${props.stage})`,
      corsPreflight: {
        allowOrigins,
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key'],
        allowMethods: [
          apigwv2.CorsHttpMethod.GET,
          apigwv2.CorsHttpMethod.POST,
          apigwv2.CorsHttpMethod.PUT,
          apigwv2.CorsHttpMethod.DELETE,
          apigwv2.CorsHttpMethod.OPTIONS,
        ],
        maxAge: Duration.hours(1),
      },
      // The default stage is created below: the one HttpApi would create takes no throttling or
      // access-log settings.
      createDefaultStage: false,
    });
    this.api = this.httpApi;

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: this.logRetention });
    const stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
    this.url = stage.url;

    const health = new AppFunction(this, 'Health', {
      entry: 'http/health.ts',
      serviceName: 'http-api',
      description: 'GET /api/v1/health',
      logRetention: this.logRetention,
      environment: { STAGE: props.stage },
    });
    this.healthFunction = health;
    this.addRoute({
      path: '/api/v1/health',
      methods: [apigwv2.HttpMethod.GET],
      handler: health,
      publicReason: 'Health check for load balancers and uptime probes: public by design, returns no data.',
    });
  }

  /** Routes `methods` on `path` to a Lambda function (payload format 2.0). */
  public addRoute(options: AddRouteOptions): apigwv2.HttpRoute[] {
    const publicReason = options.publicReason?.trim();
    if (options.authorizer === undefined && !publicReason) {
      throw new Error(`HttpApi ${this.node.id}: route ${options.path} has no authorizer; pass one, or a publicReason`);
    }
    const routes = this.httpApi.addRoutes({
      path: options.path,
      methods: [...options.methods],
      // Created inside each route's scope, so this id only has to be unique per route.
      integration: new HttpLambdaIntegration('Integration', options.handler),
      authorizer: options.authorizer,
    });
    if (options.authorizer === undefined && publicReason) {
      for (const route of routes) {
        Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: publicReason });
      }
    }
    return routes;
  }
}
