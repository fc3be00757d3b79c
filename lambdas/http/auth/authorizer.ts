/**
 * The HTTP API Lambda authorizer (REQUEST, payload 2.0, simple responses). Identity source
 * `$request.header.Authorization`, so API Gateway caches the decision per token (5 minutes, set in
 * `lib/constructs/identity.ts`). A valid bearer access token → `{isAuthorized: true, context:
 * {userId, role}}`, which routes read from `requestContext.authorizer.lambda`. Anything else (no
 * bearer scheme, bad signature, expired, wrong issuer or audience) → `Unauthorized`, which API
 * Gateway answers with 401.
 *
 * Not an `httpRoute`: an authorizer answers a decision, not a response, and refuses by throwing
 * the exact error API Gateway expects, so `instrument` alone wraps it.
 *
 * Relies on: SIGNING_SECRET_ARN (read).
 */
import { requireEnv } from '../../shared/env';
import { AppError } from '../../shared/errors';
import { secretsManagerReader } from '../../shared/identity/secrets-reader';
import { SigningKeyProvider } from '../../shared/identity/signing-key';
import { AccessTokens, bearerToken, type Role } from '../../shared/identity/tokens';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../../shared/observability';

const signingKey = new SigningKeyProvider(requireEnv('SIGNING_SECRET_ARN'), secretsManagerReader());
const accessTokens = new AccessTokens(() => signingKey.key());

/** The parts of the payload 2.0 REQUEST authorizer event used here. */
interface AuthorizerEvent {
  readonly headers?: Record<string, string | undefined>;
  readonly requestContext?: { readonly requestId?: string };
}

interface SimpleAuthorizerResult {
  readonly isAuthorized: boolean;
  readonly context: { readonly userId: string; readonly role: Role };
}

export const handler = instrument<AuthorizerEvent, SimpleAuthorizerResult>(
  async (event) => {
    // Payload 2.0 lower-cases header names.
    const token = bearerToken(event.headers?.authorization);
    try {
      if (token === undefined) throw new AppError('unauthorized', 'No bearer token');
      const principal = await accessTokens.verify(token);
      return { isAuthorized: true, context: { userId: principal.userId, role: principal.role } };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      logger.info('Token refused', { reason: error.message });
      metrics.addMetric('TokenRefused', MetricUnit.Count, 1);
      // The exact message API Gateway turns into 401 (any other error is a 500).
      throw new Error('Unauthorized');
    }
  },
  { correlationId: apiGatewayRequestId },
);
