/**
 * The frame limiter every frame route runs (frame-route.ts), from the function's environment: the
 * limit (limits.ts, `FRAME_RATE_*`), its counter in the realtime table and the `@connections`
 * close. `RealtimeGateway` sets these on every frame route's function.
 *
 * Relies on: FRAME_RATE_LIMIT (unset: no limit), and with it FRAME_RATE_WINDOW_SECONDS and
 * FRAME_RATE_CLOSE_AFTER (optional), REALTIME_TABLE_NAME and WEBSOCKET_CALLBACK_URL (required).
 */
import { createDocumentClient } from '../dynamodb';
import { requireEnv } from '../env';
import { ApiGatewayCloser } from './apigw-frame-limit';
import { connectionsEndpoint } from './apigw-poster';
import { DynamoFrameCounter } from './dynamo-limits';
import { FrameLimiter, frameRateLimitFromEnv } from './limits';

export function frameLimiterFromEnvironment(env: NodeJS.ProcessEnv = process.env): FrameLimiter | undefined {
  const limit = frameRateLimitFromEnv(env);
  if (!limit) return undefined;
  return new FrameLimiter(
    limit,
    new DynamoFrameCounter(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME', env)),
    new ApiGatewayCloser({ endpoint: connectionsEndpoint(requireEnv('WEBSOCKET_CALLBACK_URL', env), env) }),
  );
}
