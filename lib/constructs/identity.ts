/**
 * Identity: sign-up, login, tokens and the authorizers (DESIGN.md sections 2-4; docs/auth.md).
 *
 * - `Auth`: the auth route group (signup, login, refresh public; logout authorized), on the
 *   domain table (users, email items, refresh tokens, login attempts) and the signing key.
 * - `Authorizer`: the HTTP API Lambda authorizer (simple responses, cached 5 minutes per
 *   `Authorization` header), exposed as `authorizer` for every other route group.
 * - `Ticket`: `POST /api/v1/realtime/ticket`, writing 60-second tickets to the realtime table, at
 *   most `ticketsPerUserPerMinute` per user (a counter in the same table).
 * - `ConnectAuthorizer`: consumes a ticket on WebSocket `$connect`; handed to `RealtimeGateway`.
 *
 * Relies on: the signing secret from the stateful stack (`SigningKey`), HttpApi.addRoute.
 */
import { Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_TICKETS_PER_MINUTE, LIMIT_ENV } from '../../lambdas/shared/realtime/limits';
import { AppFunction } from './app-function';
import type { IHttpApiRoutes } from './http-api';
import { integerInRange } from './validate';

export interface IdentityProps {
  /** The API the auth and ticket routes are added to (`HttpApi`). */
  readonly httpApi: IHttpApiRoutes;
  /** Users, email items, refresh tokens and login attempts. */
  readonly domainTable: ITable;
  /** Realtime tickets. */
  readonly realtimeTable: ITable;
  /** JSON `{"key": ...}`: the HMAC key access tokens are signed with. */
  readonly signingSecret: ISecret;
  /**
   * How long API Gateway caches an authorizer decision per token. Longer saves invocations but
   * lets a token be accepted up to this long past its expiry.
   * @default Duration.minutes(5)
   */
  readonly authorizerCacheTtl?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Tickets one user may get per minute (`POST /api/v1/realtime/ticket`); past it 429 with
   * `Retry-After` (docs/protocol.md, "Limits").
   * @default 60
   */
  readonly ticketsPerUserPerMinute?: number;
}

/** Environment variable that carries the signing secret's ARN. */
export const SIGNING_SECRET_ENV = 'SIGNING_SECRET_ARN';

export class Identity extends Construct {
  /** The HTTP API authorizer for every route that needs a signed-in user. */
  public readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** The WebSocket `$connect` authorizer function (ticket check). */
  public readonly connectAuthorizer: IFunction;
  public readonly authFunction: IFunction;
  public readonly authorizerFunction: IFunction;
  public readonly ticketFunction: IFunction;

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    const cacheTtl = props.authorizerCacheTtl ?? Duration.minutes(5);
    if (cacheTtl.toSeconds() > 3600) {
      throw new Error(`Identity ${id}: authorizerCacheTtl may be at most 1 hour (API Gateway's limit)`);
    }
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    const identityFunction = (fnId: string, entry: string, description: string, memorySize?: number) =>
      new AppFunction(this, fnId, { entry, serviceName: 'identity', description, memorySize, logRetention });

    // scrypt (32 MiB, CPU-bound) is the cost of signup and login; Lambda CPU scales with memory.
    const auth = identityFunction('Auth', 'http/auth/handler.ts', 'POST /api/v1/auth/{signup,login,refresh,logout}', 1024);
    auth.bindTable(props.domainTable, 'RW', 'DOMAIN_TABLE_NAME');
    this.bindSigningKey(auth, props.signingSecret);

    const authorizerFn = identityFunction('Authorizer', 'http/auth/authorizer.ts', 'HTTP API authorizer: verifies the bearer access token');
    this.bindSigningKey(authorizerFn, props.signingSecret);
    this.authorizer = new HttpLambdaAuthorizer('BearerToken', authorizerFn, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: cacheTtl,
    });

    const ticket = identityFunction('Ticket', 'realtime/ticket.ts', 'POST /api/v1/realtime/ticket: issues a WebSocket ticket');
    ticket.bindTable(props.realtimeTable, 'W', 'REALTIME_TABLE_NAME');
    const ticketsPerMinute = integerInRange(
      `Identity ${id}`,
      'ticketsPerUserPerMinute',
      props.ticketsPerUserPerMinute ?? DEFAULT_TICKETS_PER_MINUTE,
      1,
      100_000,
    );
    ticket.bindEnvironment(LIMIT_ENV.ticketsPerMinute, String(ticketsPerMinute));

    const connectAuthorizer = identityFunction(
      'ConnectAuthorizer',
      'realtime/connect-authorizer.ts',
      'Ticket authorizer of WebSocket $connect: consumes the ticket',
    );
    // W covers DeleteItem, which with ReturnValues ALL_OLD is all consuming a ticket takes.
    connectAuthorizer.bindTable(props.realtimeTable, 'W', 'REALTIME_TABLE_NAME');

    const post = [apigwv2.HttpMethod.POST];
    const publicBecause = (what: string) =>
      `${what}: the caller has no access token yet, so the route cannot require one. ` +
      'Abuse is bounded by stage throttling and, for login, per-email throttling (docs/auth.md).';
    props.httpApi.addRoute({ path: '/api/v1/auth/signup', methods: post, handler: auth, publicReason: publicBecause('Sign-up') });
    props.httpApi.addRoute({ path: '/api/v1/auth/login', methods: post, handler: auth, publicReason: publicBecause('Login') });
    props.httpApi.addRoute({
      path: '/api/v1/auth/refresh',
      methods: post,
      handler: auth,
      publicReason: publicBecause('Refresh (the access token may have expired; the refresh token in the body is the credential)'),
    });
    props.httpApi.addRoute({ path: '/api/v1/auth/logout', methods: post, handler: auth, authorizer: this.authorizer });
    props.httpApi.addRoute({ path: '/api/v1/realtime/ticket', methods: post, handler: ticket, authorizer: this.authorizer });

    this.authFunction = auth;
    this.authorizerFunction = authorizerFn;
    this.ticketFunction = ticket;
    this.connectAuthorizer = connectAuthorizer;
  }

  /** Read access to the signing secret and its ARN in SIGNING_SECRET_ARN (STYLE 4: together). */
  private bindSigningKey(fn: AppFunction, secret: ISecret): void {
    fn.bindEnvironment(SIGNING_SECRET_ENV, secret.secretArn);
    secret.grantRead(fn);
  }
}
