/**
 * The HTTP API Lambda authorizer (REQUEST, payload 2.0, simple responses). Identity source
 * `$request.header.Authorization`, so API Gateway caches the decision per token (5 minutes, set in
 * `lib/constructs/identity.ts`); a request without that header is answered 401 by API Gateway
 * without invoking this. A valid bearer access token → `{isAuthorized: true, context: {userId,
 * role}}`, which routes read from `requestContext.authorizer.lambda`. Anything else (no bearer
 * scheme, malformed, bad signature, another algorithm, expired, wrong issuer or audience) is a
 * refusal: logged at info with its reason, counted in `TokenRefused`, and answered 401 by API
 * Gateway.
 *
 * A refusal is thrown as `AuthorizerRefusal` (message `Unauthorized`), not returned as
 * `{isAuthorized: false}`: API Gateway answers the latter with 403, the former with the 401 the
 * API documents. The cost is that Lambda counts the invocation as failed; `instrument` logs it as
 * an outcome, not an error (observability.ts says more).
 *
 * Not an `httpRoute`: an authorizer answers a decision, not a response.
 *
 * Relies on: SIGNING_SECRET_ARN (read).
 */
import { requireEnv } from '../../shared/env';
import { InvalidToken } from '../../shared/identity/errors';
import { secretsManagerReader } from '../../shared/identity/secrets-reader';
import { SigningKeyProvider } from '../../shared/identity/signing-key';
import { AccessTokens, bearerToken, type Principal, type Role } from '../../shared/identity/tokens';
import { AuthorizerRefusal, apiGatewayRequestId, instrument, metrics, MetricUnit } from '../../shared/observability';

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

function refuse(reason: string): never {
  metrics.addMetric('TokenRefused', MetricUnit.Count, 1);
  throw new AuthorizerRefusal(reason);
}

export const handler = instrument<AuthorizerEvent, SimpleAuthorizerResult>(
  async (event) => {
    // Payload 2.0 lower-cases header names.
    const token = bearerToken(event.headers?.authorization);
    if (token === undefined) refuse('no_bearer_token');
    let principal: Principal;
    try {
      principal = await accessTokens.verify(token);
    } catch (error) {
      // Anything else (the signing key unreadable) is a failure: a 500, logged as an error.
      if (error instanceof InvalidToken) refuse(error.reason);
      throw error;
    }
    return { isAuthorized: true, context: { userId: principal.userId, role: principal.role } };
  },
  { correlationId: apiGatewayRequestId },
);
