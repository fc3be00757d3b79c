/**
 * Typed errors shared by every handler (STYLE 8). Domain code throws these; exactly one place per
 * transport maps them to a status: `http/response.ts` for HTTP, `realtime/frames.ts` for frames.
 * Anything that is not an `AppError` is a bug and surfaces as `internal` without its details.
 */
import type { z } from 'zod';
import { fieldIssues, type FieldIssue } from './validation';

/** Codes shared by the HTTP error body and WebSocket error frames (DESIGN.md sections 3 and 4). */
export const APP_ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'invalid_credentials',
  'forbidden',
  'not_found',
  'conflict',
  'rate_limited',
  'too_many_subscriptions',
  // Billing (DESIGN.md sections 4 and 5).
  'card_declined',
  'insufficient_funds',
  'already_subscribed',
  'no_payment_due',
  'idempotency_key_reused',
  'request_in_progress',
  'payment_provider_unavailable',
  // Bookings (DESIGN.md section 6).
  'slot_taken',
  'booking_conflict',
  'cutoff_passed',
  'subscription_required',
  'internal',
] as const;

export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

export class AppError extends Error {
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details: readonly FieldIssue[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Input failed validation; `details` name the offending fields. */
export class BadRequestError extends AppError {
  constructor(message: string, details: readonly FieldIssue[] = []) {
    super('bad_request', message, details);
  }

  static fromZod(error: z.ZodError, message = 'Request is invalid'): BadRequestError {
    return new BadRequestError(message, fieldIssues(error));
  }
}

/** The caller is not authenticated (no, bad or expired token). */
export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required') {
    super('unauthorized', message);
  }
}

/** The caller is authenticated but may not do this (another user's topic, a non-admin producer). */
export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed') {
    super('forbidden', message);
  }
}

/** The thing asked for does not exist, or is not the caller's (the two look the same). */
export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super('not_found', message);
  }
}

/** A connection that already holds the most subscriptions it may (DESIGN.md section 3). */
export class TooManySubscriptionsError extends AppError {
  constructor(readonly limit: number) {
    super('too_many_subscriptions', `A connection may hold at most ${limit} subscriptions; unsubscribe first`);
  }
}

/**
 * Too many requests of one kind; the client may retry after `retryAfterSeconds`. The HTTP mapping
 * turns it into 429 with a `Retry-After` header.
 */
export class RateLimitedError extends AppError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('rate_limited', message);
  }
}
