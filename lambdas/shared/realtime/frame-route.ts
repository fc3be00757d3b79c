/**
 * The house wrapper of WebSocket message routes (STYLE 15): subscribe, unsubscribe, ping and
 * `$default`. A handler module is its use case alone:
 *
 *   export const handler = frameRoute({
 *     frame: pingFrameSchema,
 *     failureLog: 'Ping failed',
 *     handle: async () => ({ type: 'pong' }),
 *   });
 *
 * Before `handle`, in this order: the connection and its user from the event (the `$connect`
 * ticket authorizer's context, which API Gateway repeats on every message; parsed, not cast, so a
 * route deployed without the authorizer refuses to act rather than acting for nobody); the
 * connection's frame limit (limits.ts: every frame counts, whatever it holds; over the limit the
 * frame is answered `rate_limited` and not handled, and far over it the connection is closed and
 * nothing is answered; when the counter cannot be reached the frame is handled: the limit guards
 * the stage's budget, it is not worth failing frames for); the frame
 * (size, JSON, then the route's zod schema: a `bad_request` error frame naming the field); the
 * user, when `requireUser` (an `unauthorized` error frame). What `handle` returns is the answer;
 * what it throws becomes an error frame through `toErrorFrame`, the one mapping of typed errors to
 * frame codes, echoing the frame's subscription id; anything but an `AppError` is also logged
 * whole as `failureLog`. Answers go back in the route response (a two-way route) or, with
 * `replyVia`, through `@connections`: for a route whose other frames go that way and must stay in
 * order with them. Every log line carries the API Gateway request id as correlation id.
 *
 * `$connect`, `$disconnect` and the authorizers are not frame routes: they have no frame to parse
 * and cannot answer with one (refusing means failing the invocation), so they use `instrument`.
 */
import { z } from 'zod';
import { AppError, UnauthorizedError } from '../errors';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit, type InstrumentedHandler } from '../observability';
import { parseClientFrame, serializeFrame, subscriptionIdSchema, toErrorFrame, type ErrorFrame, type ServerFrame } from './frames';
import { frameLimiterFromEnvironment } from './frame-limit-wiring';
import { FrameRateLimited, type FrameAdmission, type FrameLimiter } from './limits';
import type { ConnectionPoster } from './poster';
import type { Subscriber } from './topics';

const messageEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
    /** When API Gateway received the frame (ms): orders one connection's frames (subscriptions.ts). */
    requestTimeEpoch: z.number().int().nonnegative(),
    authorizer: z.object({ userId: z.string().min(1), role: z.string().min(1) }).optional(),
  }),
  body: z.string().optional(),
});

export interface FrameRequest<F, U extends boolean> {
  readonly connectionId: string;
  /**
   * When API Gateway received the frame (epoch ms). API Gateway may run one connection's frames
   * in any order; this is the order the client sent them in, to the millisecond.
   */
  readonly receivedAt: number;
  /** The user the connection was opened for; always there when the route requires one. */
  readonly who: U extends true ? Subscriber : Subscriber | undefined;
  readonly frame: F;
}

export interface FrameRoute<S extends z.ZodType, U extends boolean> {
  /** Schema of the route's frame. */
  readonly frame: S;
  /** Refuse a connection that carries no user with `unauthorized`. @default false */
  readonly requireUser?: U;
  /** Answer through `@connections` instead of the route response. @default - the route response */
  readonly replyVia?: ConnectionPoster;
  /** Logged at error level, with the error, when handling fails on anything but a typed error. */
  readonly failureLog: string;
  /**
   * An error frame answered without handling (the frame does not parse, or `handle` answers with
   * one) is counted as `metric` and, with `log`, logged at info level with the connection and
   * code. @default - neither
   */
  readonly rejected?: { readonly metric: string; readonly log?: string };
  /** Counted for each frame whose handling threw. @default - not counted */
  readonly refusedMetric?: string;
  /**
   * The per-connection frame limit. `null`: none.
   * @default - the environment's (`frameLimiterFromEnvironment`: none when FRAME_RATE_LIMIT is unset)
   */
  readonly limiter?: FrameLimiter | null;
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler that answers nothing ends without a return (subscribe.ts), and such a Promise<void> is not assignable to Promise<ServerFrame | undefined>
  readonly handle: (request: FrameRequest<z.infer<S>, U>) => Promise<ServerFrame | void>;
}

/** What a WebSocket route answers API Gateway: a body is sent to the client on two-way routes. */
export interface FrameRouteResult {
  readonly statusCode: 200;
  readonly body?: string;
}

export function frameRoute<S extends z.ZodType, U extends boolean = false>(
  route: FrameRoute<S, U>,
): InstrumentedHandler<unknown, FrameRouteResult> {
  // At cold start: a function configured for a limit but missing its table fails here, by name.
  const limiter = route.limiter === undefined ? frameLimiterFromEnvironment() : route.limiter;

  /** Counts the frame; a counter that fails lets it through (logged and counted). */
  const admit = async (connectionId: string, receivedAt: number): Promise<FrameAdmission | undefined> => {
    if (!limiter) return undefined;
    try {
      return await limiter.admit(connectionId, receivedAt);
    } catch (error) {
      logger.error('Frame limit unavailable; frame handled', error as Error);
      metrics.addMetric('FrameLimitUnavailable', MetricUnit.Count, 1);
      return undefined;
    }
  };

  const rejected = (connectionId: string, frame: ErrorFrame): ErrorFrame => {
    if (route.rejected?.log !== undefined) logger.info(route.rejected.log, { connectionId, code: frame.code });
    if (route.rejected) metrics.addMetric(route.rejected.metric, MetricUnit.Count, 1);
    return frame;
  };

  // biome-ignore lint/suspicious/noConfusingVoidType: passes on what `route.handle` answers, nothing included (see FrameRoute.handle)
  const handle = async (request: FrameRequest<z.infer<S>, boolean>): Promise<ServerFrame | void> => {
    const { connectionId, who, frame } = request;
    try {
      if (route.requireUser && !who) throw new UnauthorizedError('The connection carries no user');
      const reply = await route.handle(request as FrameRequest<z.infer<S>, U>);
      return reply?.type === 'error' ? rejected(connectionId, reply) : reply;
    } catch (error) {
      if (!(error instanceof AppError)) logger.error(route.failureLog, error as Error);
      if (route.refusedMetric !== undefined) metrics.addMetric(route.refusedMetric, MetricUnit.Count, 1);
      // Echo the subscription id only when it is one we could have issued frames for.
      const id = subscriptionIdSchema.safeParse((frame as { id?: unknown }).id);
      return toErrorFrame(error, id.success ? id.data : undefined);
    }
  };

  return instrument(
    async (event) => {
      const { requestContext, body } = messageEventSchema.parse(event);
      const { connectionId, requestTimeEpoch: receivedAt, authorizer } = requestContext;
      const who = authorizer ? { userId: authorizer.userId, role: authorizer.role } : undefined;
      const admission = await admit(connectionId, receivedAt);
      if (admission?.verdict === 'close') {
        logger.warn('Connection closed: frames far over the limit', { connectionId, userId: who?.userId, frames: admission.count });
        metrics.addMetric('ConnectionClosedForFrameRate', MetricUnit.Count, 1);
        return { statusCode: 200 };
      }
      const parsed = parseClientFrame(body, route.frame);
      let reply: ServerFrame | undefined;
      if (admission?.verdict === 'rate_limited') {
        metrics.addMetric('FrameRateLimited', MetricUnit.Count, 1);
        // Echo the subscription id when the frame names one, so a client waiting for its answer gets one.
        const id = parsed.ok ? subscriptionIdSchema.safeParse((parsed.frame as { id?: unknown }).id) : undefined;
        reply = toErrorFrame(new FrameRateLimited(limiter!.limit, admission.retryAfterSeconds), id?.success ? id.data : undefined);
      } else {
        reply = parsed.ok
          ? ((await handle({ connectionId, receivedAt, who, frame: parsed.frame })) ?? undefined)
          : rejected(connectionId, parsed.error);
      }
      if (route.replyVia) {
        if (reply) await route.replyVia.post(connectionId, reply);
        return { statusCode: 200 };
      }
      return reply ? { statusCode: 200, body: serializeFrame(reply) } : { statusCode: 200 };
    },
    { correlationId: apiGatewayRequestId },
  );
}
