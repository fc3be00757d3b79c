/**
 * The house wrapper of HTTP API (payload 2.0) handlers (STYLE 15), so that a handler module is its
 * use case alone:
 *
 *   export const handler = httpRoute({
 *     caller: 'authorized',
 *     failureLog: 'Ticket request failed',
 *     handle: async ({ principal }) => json(201, await tickets.issue(principal)),
 *   });
 *
 * Before `handle`, in this order: the caller from the authorizer context (401 without one, 403
 * when `caller` names a role it lacks), the path parameters, the query string and the body, each
 * through its zod schema (400 naming the field). Whatever is thrown becomes the response through
 * `toErrorResponse`, the one mapping of typed errors to statuses: an `AppError` is a refusal
 * (logged and counted only when `refusals` asks), anything else is a bug or a failed dependency,
 * logged whole as `failureLog` and answered as a bare 500. Every log line carries the API Gateway
 * request id as correlation id (`instrument`); metrics are flushed on every exit.
 *
 * `httpRoutes` is the same for a function that serves several routes, chosen by route key.
 */
import type { z } from 'zod';
import { AppError, BadRequestError, ForbiddenError } from '../errors';
import type { Principal, Role } from '../identity/tokens';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit, type InstrumentedHandler } from '../observability';
import { fieldIssues } from '../validation';
import { parseJsonBody, type RawBody } from './body';
import { authorizedPrincipal } from './principal';
import { errorResponse, toErrorResponse, type HttpResponse } from './response';

/**
 * The parts of a payload 2.0 event the wrapper reads. Declared here rather than imported from
 * `aws-lambda`, like `HttpResponse`; structurally it is API Gateway's event.
 */
export interface HttpEvent extends RawBody {
  readonly routeKey?: string;
  readonly pathParameters?: Readonly<Record<string, string | undefined>>;
  /** Payload 2.0 joins a repeated parameter's values with commas. */
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  /** Names lower-cased, as payload 2.0 delivers them. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly requestContext?: { readonly requestId?: string };
}

/** Any authorized caller, or only callers with one role (refused with `refusal` as a 403). */
export type CallerRule = 'authorized' | { readonly role: Role; readonly refusal: string };

type Parsed<S> = S extends z.ZodType ? z.infer<S> : undefined;

export interface HttpRequest<C, P, B, Q = undefined> {
  readonly event: HttpEvent;
  /** The caller, from the authorizer context; undefined on a public route. */
  readonly principal: C extends CallerRule ? Principal : undefined;
  readonly path: Parsed<P>;
  readonly body: Parsed<B>;
  readonly query: Parsed<Q>;
}

export interface HttpRoute<
  C extends CallerRule | undefined,
  P extends z.ZodType | undefined,
  B extends z.ZodType | undefined,
  Q extends z.ZodType | undefined = undefined,
> {
  /** Who may call. @default - anyone: the route is public */
  readonly caller?: C;
  /** Schema of the path parameters; a failure is `Invalid <parameter>: <problem>`. @default - none read */
  readonly path?: P;
  /** Schema of the JSON body. @default - no body read */
  readonly body?: B;
  /** Schema of the query string parameters; a failure is `Invalid <parameter>: <problem>`. @default - none read */
  readonly query?: Q;
  readonly handle: (request: HttpRequest<C, P, B, Q>) => Promise<HttpResponse>;
}

export interface HttpRouteOptions {
  /** Logged at error level, with the error, when a request fails on anything but a typed error. */
  readonly failureLog: string;
  /**
   * Typed errors are logged at info level as `log` with the route key and code, and counted as
   * `${metricPrefix}${code}`. @default - not logged: a refusal is the client's business
   */
  readonly refusals?: { readonly log: string; readonly metricPrefix: string };
}

export type HttpHandler = InstrumentedHandler<HttpEvent, HttpResponse>;

/** One route per function. */
export function httpRoute<
  C extends CallerRule | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(route: HttpRoute<C, P, B, Q> & HttpRouteOptions): HttpHandler {
  return instrument<HttpEvent, HttpResponse>((event) => answer(event, route as AnyRoute, route), { correlationId: apiGatewayRequestId });
}

/** Several routes in one function, by route key (`POST /api/v1/auth/login`); others are a 404. */
export function httpRoutes(routes: Readonly<Record<string, AnyRoute>>, options: HttpRouteOptions): HttpHandler {
  return instrument<HttpEvent, HttpResponse>(
    async (event) => {
      const route = event.routeKey !== undefined && Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
      if (!route) return errorResponse('not_found', `No route ${event.routeKey}`);
      return answer(event, route, options);
    },
    { correlationId: apiGatewayRequestId },
  );
}

/** A route of `httpRoutes`, typed from its own schemas. */
export function route<
  C extends CallerRule | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(definition: HttpRoute<C, P, B, Q>): AnyRoute {
  return definition as AnyRoute;
}

// What the wrapper runs; each route's own types were checked where it was declared.
type AnyRoute = HttpRoute<CallerRule | undefined, z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;
type AnyRequest = HttpRequest<CallerRule | undefined, z.ZodType, z.ZodType, z.ZodType>;

async function answer(event: HttpEvent, route: AnyRoute, options: HttpRouteOptions): Promise<HttpResponse> {
  try {
    const principal = route.caller === undefined ? undefined : callerOf(event, route.caller);
    const path = route.path === undefined ? undefined : parseParameters(event.pathParameters, route.path);
    const query = route.query === undefined ? undefined : parseParameters(event.queryStringParameters, route.query);
    const body = route.body === undefined ? undefined : parseJsonBody(event, route.body);
    return await route.handle({ event, principal, path, query, body } as AnyRequest);
  } catch (error) {
    if (!(error instanceof AppError)) {
      logger.error(options.failureLog, error as Error);
    } else if (options.refusals) {
      logger.info(options.refusals.log, { routeKey: event.routeKey, code: error.code });
      metrics.addMetric(`${options.refusals.metricPrefix}${error.code}`, MetricUnit.Count, 1);
    }
    return toErrorResponse(error);
  }
}

function callerOf(event: HttpEvent, rule: CallerRule): Principal {
  const principal = authorizedPrincipal(event);
  if (rule !== 'authorized' && principal.role !== rule.role) throw new ForbiddenError(rule.refusal);
  return principal;
}

/** Path or query parameters: API Gateway leaves the object out when there are none. */
function parseParameters(parameters: HttpEvent['pathParameters'], schema: z.ZodType): unknown {
  const parsed = schema.safeParse(parameters ?? {});
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  throw new BadRequestError(`Invalid ${issues[0]!.field}: ${issues[0]!.message}`, issues);
}
