/**
 * Logging and metrics, set up once and used the same way by every handler (STYLE 10):
 *
 *   export const handler = instrument(async (event) => { ... }, { correlationId: apiGatewayRequestId });
 *
 * Routes get it through their house wrapper (`httpRoute` in http/route.ts, `frameRoute` in
 * realtime/frame-route.ts); `$connect`, `$disconnect`, authorizers and batch consumers call it.
 *
 * Powertools Logger writes structured JSON with the Lambda context and a correlation id; Metrics
 * writes CloudWatch EMF. Service name, namespace and log level come from POWERTOOLS_SERVICE_NAME,
 * POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_LOG_LEVEL, which `AppFunction` sets.
 *
 * `Context` is the Lambda invocation context, not an event type: domain code never sees it.
 */
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const logger = new Logger();
export const metrics = new Metrics();
export { MetricUnit };

/**
 * The request id API Gateway (HTTP and WebSocket) puts in the event and also writes to its access
 * logs, so a log line can be matched to its access-log entry.
 */
export function apiGatewayRequestId(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const requestContext = (event as { requestContext?: { requestId?: unknown } }).requestContext;
  return typeof requestContext?.requestId === 'string' ? requestContext.requestId : undefined;
}

/**
 * An authorizer's refusal of a credential (a bad token, an unknown ticket): an outcome, not a
 * failure. `instrument` logs it once at info with its reason, and no stack, where any other thrown
 * error is logged at error.
 *
 * It is still thrown, because API Gateway answers 401 only to an authorizer whose invocation fails
 * with exactly the message `Unauthorized`; a returned refusal (`{isAuthorized: false}` from an HTTP
 * API simple-response authorizer, a Deny policy from a WebSocket REQUEST authorizer) is a 403, and
 * the API documents 401. So Lambda still counts these invocations in the function's `Errors`
 * metric; the authorizers' `TokenRefused` / `TicketRefused` metrics count refusals apart, so real
 * failures can be told from them. The error carries no stack frames either, since the Lambda
 * runtime prints the stack of whatever a handler throws.
 */
export class AuthorizerRefusal extends Error {
  constructor(readonly reason: string) {
    super('Unauthorized');
    this.stack = 'Error: Unauthorized';
  }
}

export interface InstrumentOptions<TEvent> {
  /**
   * Picks the correlation id out of the event. (A function rather than Powertools' JMESPath
   * search, which needs the separate @aws-lambda-powertools/jmespath package.)
   * @default - no correlation id
   */
  readonly correlationId?: (event: TEvent) => string | undefined;
}

export type InstrumentedHandler<TEvent, TResult> = (event: TEvent, context: Context) => Promise<TResult>;

/**
 * Wraps a handler: adds the Lambda context and correlation id to every log line, records the cold
 * start, logs an unhandled error once before Lambda sees it (an `AuthorizerRefusal` at info, as an
 * outcome), and flushes metrics on every exit.
 */
export function instrument<TEvent, TResult>(
  handler: InstrumentedHandler<TEvent, TResult>,
  options: InstrumentOptions<TEvent> = {},
): InstrumentedHandler<TEvent, TResult> {
  return async (event, context) => {
    logger.addContext(context);
    const correlationId = options.correlationId?.(event);
    if (correlationId !== undefined) {
      logger.setCorrelationId(correlationId);
    }
    metrics.captureColdStartMetric();
    try {
      return await handler(event, context);
    } catch (error) {
      if (error instanceof AuthorizerRefusal) {
        logger.info('Credentials refused', { reason: error.reason });
      } else {
        logger.error('Unhandled error', error as Error);
      }
      throw error;
    } finally {
      // An invocation that recorded nothing must not emit an empty EMF document (and a warning).
      if (metrics.hasStoredMetrics()) {
        metrics.publishStoredMetrics();
      }
      logger.resetKeys();
    }
  };
}
