/**
 * Domain errors of identity. Each is an `AppError`, so `http/response.ts` maps it to its status
 * without knowing about identity.
 */
import { AppError, RateLimitedError, UnauthorizedError } from '../errors';

/** Sign-up with an email (in any letter case) that already has an account. → 409 */
export class EmailTaken extends AppError {
  constructor() {
    super('conflict', 'An account with this email already exists', [{ field: 'email', message: 'Already registered' }]);
  }
}

/**
 * Wrong email or wrong password; deliberately the same error for both, so a response never tells
 * whether an email has an account. → 401
 */
export class InvalidCredentials extends AppError {
  constructor() {
    super('invalid_credentials', 'Email or password is incorrect');
  }
}

/** The email's login attempts for the window are spent (login-lockout.ts). → 429 with Retry-After */
export class TooManyAttempts extends RateLimitedError {
  constructor(retryAfterSeconds: number) {
    super('Too many failed login attempts; try again later', retryAfterSeconds);
  }
}

/**
 * Why a credential was refused, for logs and metrics only: a client is never told more than 401.
 * `malformed` (not a JWT, or claims of the wrong shape), `bad_signature` (another key, or tampered),
 * `algorithm` (`none`, or any algorithm but HS256), `expired`, `wrong_claims` (issuer, audience, a
 * required claim missing), `invalid` (anything else, e.g. a used refresh token).
 */
export type TokenRefusal = 'malformed' | 'bad_signature' | 'algorithm' | 'expired' | 'wrong_claims' | 'invalid';

/** An access token, refresh token or ticket that is missing, forged, expired, used or revoked. → 401 */
export class InvalidToken extends UnauthorizedError {
  constructor(
    message = 'Token is invalid or expired',
    readonly reason: TokenRefusal = 'invalid',
  ) {
    super(message);
  }
}
