/**
 * The auth route group of the HTTP API (DESIGN.md section 4):
 *
 *   POST /api/v1/auth/signup   {email, password, name} → 201 session
 *   POST /api/v1/auth/login    {email, password}       → 200 session; 401 invalid_credentials; 429
 *   POST /api/v1/auth/refresh  {refreshToken}          → 200 session (the refresh token rotates)
 *   POST /api/v1/auth/logout   {refreshToken}          → 204 (authorized; revokes the token)
 *
 * A session is `{user, accessToken, refreshToken, expiresIn}`. Parsing, one domain call, mapping:
 * the logic is in `lambdas/shared/identity/`.
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write: users, refresh tokens, login attempts),
 * SIGNING_SECRET_ARN (read: the token-signing key).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../../shared/dynamodb';
import { requireEnv } from '../../shared/env';
import { AppError } from '../../shared/errors';
import { parseJsonBody } from '../../shared/http/body';
import { authorizedPrincipal } from '../../shared/http/principal';
import { errorResponse, json, noContent, toErrorResponse, type HttpResponse } from '../../shared/http/response';
import { AuthService, type Session } from '../../shared/identity/auth-service';
import type { DocumentClientLike } from '../../shared/identity/dynamo';
import { DynamoLoginThrottle } from '../../shared/identity/dynamo-login-throttle';
import { primeDummyHash } from '../../shared/identity/password';
import { DynamoRefreshTokenStore } from '../../shared/identity/dynamo-refresh-tokens';
import { loginBodySchema, logoutBodySchema, refreshBodySchema, signupBodySchema } from '../../shared/identity/schemas';
import { secretsManagerReader } from '../../shared/identity/secrets-reader';
import { SigningKeyProvider } from '../../shared/identity/signing-key';
import { AccessTokens } from '../../shared/identity/tokens';
import { DynamoUserStore } from '../../shared/identity/dynamo-users';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../../shared/observability';

const tableName = requireEnv('DOMAIN_TABLE_NAME');
const signingKey = new SigningKeyProvider(requireEnv('SIGNING_SECRET_ARN'), secretsManagerReader());
const db: DocumentClientLike = createDocumentClient();
const auth = new AuthService({
  users: new DynamoUserStore(db, tableName),
  refreshTokens: new DynamoRefreshTokenStore(db, tableName),
  throttle: new DynamoLoginThrottle(db, tableName),
  accessTokens: new AccessTokens(() => signingKey.key()),
});
primeDummyHash();

const sessionBody = (session: Session) => ({
  user: session.user,
  accessToken: session.accessToken,
  refreshToken: session.refreshToken,
  expiresIn: session.expiresIn,
});

const routes: Record<string, (event: APIGatewayProxyEventV2) => Promise<HttpResponse>> = {
  'POST /api/v1/auth/signup': async (event) => {
    const session = await auth.signup(parseJsonBody(event, signupBodySchema));
    metrics.addMetric('UserSignedUp', MetricUnit.Count, 1);
    return json(201, sessionBody(session));
  },
  'POST /api/v1/auth/login': async (event) => json(200, sessionBody(await auth.login(parseJsonBody(event, loginBodySchema)))),
  'POST /api/v1/auth/refresh': async (event) =>
    json(200, sessionBody(await auth.refresh(parseJsonBody(event, refreshBodySchema).refreshToken))),
  'POST /api/v1/auth/logout': async (event) => {
    const { userId } = authorizedPrincipal(event);
    await auth.logout(userId, parseJsonBody(event, logoutBodySchema).refreshToken);
    return noContent();
  },
};

export const handler = instrument<APIGatewayProxyEventV2, HttpResponse>(
  async (event) => {
    const route = routes[event.routeKey];
    if (!route) return errorResponse('not_found', `No route ${event.routeKey}`);
    try {
      return await route(event);
    } catch (error) {
      if (error instanceof AppError) {
        logger.info('Auth request refused', { routeKey: event.routeKey, code: error.code });
        metrics.addMetric(`AuthRefused_${error.code}`, MetricUnit.Count, 1);
      } else {
        // A bug or a dependency failure: logged whole here, answered as a bare 500.
        logger.error('Auth request failed', error as Error);
      }
      return toErrorResponse(error);
    }
  },
  { correlationId: apiGatewayRequestId },
);
