/**
 * HTTP responses for API Gateway HTTP API (payload format 2.0) handlers. The shape is declared
 * here rather than imported from `aws-lambda` so domain code stays free of Lambda event types;
 * it is structurally what API Gateway expects.
 *
 * Errors always have the body `{"error":{"code","message","details"}}` (DESIGN.md section 4), and
 * `toErrorResponse` is the one place that maps error classes to HTTP statuses.
 */
import { AppError, RateLimitedError, type AppErrorCode } from '../errors';
import type { FieldIssue } from '../validation';

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface ErrorBody {
  readonly error: {
    readonly code: AppErrorCode;
    readonly message: string;
    readonly details: readonly FieldIssue[];
  };
}

export const HTTP_STATUS_BY_CODE: Readonly<Record<AppErrorCode, number>> = {
  bad_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  // A WebSocket-only condition; were it ever to reach HTTP, it is a conflict with existing state.
  too_many_subscriptions: 409,
  // A decline is the customer's problem: 402 with the decline code.
  card_declined: 402,
  insufficient_funds: 402,
  already_subscribed: 409,
  no_payment_due: 409,
  idempotency_key_reused: 409,
  request_in_progress: 409,
  // Every provider failed (not a decline): nothing was charged, the client may retry later.
  payment_provider_unavailable: 503,
  // The slot's seats are all taken, or the user already holds an overlapping booking: retry elsewhere.
  slot_taken: 409,
  booking_conflict: 409,
  // Too late to cancel or reschedule under the service's rules: the booking itself is fine.
  cutoff_passed: 409,
  // Booking needs access (an `active` or `past_due` subscription): authenticated, not allowed.
  subscription_required: 403,
  internal: 500,
};

const JSON_HEADERS = {
  'content-type': 'application/json',
  // API responses are per-user and change often; nothing between us and the client may cache them.
  'cache-control': 'no-store',
} as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** 204 No Content: no body, still not cacheable. */
export function noContent(): HttpResponse {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

export function errorBody(code: AppErrorCode, message: string, details: readonly FieldIssue[] = []): ErrorBody {
  return { error: { code, message, details } };
}

export function errorResponse(code: AppErrorCode, message: string, details: readonly FieldIssue[] = []): HttpResponse {
  return json(HTTP_STATUS_BY_CODE[code], errorBody(code, message, details));
}

/**
 * Maps anything thrown by a handler to a response. Unknown errors become a generic 500: their
 * message and stack may contain internals, so they go to the log, never to the client.
 */
export function toErrorResponse(error: unknown): HttpResponse {
  if (error instanceof RateLimitedError) {
    // Whole seconds, at least 1: `Retry-After: 0` would invite an immediate retry.
    const retryAfter = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
    return json(429, errorBody(error.code, error.message, error.details), { 'retry-after': retryAfter });
  }
  if (error instanceof AppError) {
    return errorResponse(error.code, error.message, error.details);
  }
  return errorResponse('internal', 'Internal server error');
}
