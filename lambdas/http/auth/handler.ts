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
import { createDocumentClient } from '../../shared/dynamodb';
import { requireEnv } from '../../shared/env';
import { json, noContent } from '../../shared/http/response';
import { httpRoutes, route } from '../../shared/http/route';
import { AuthService, type Session } from '../../shared/identity/auth-service';
import type { DocumentClientLike } from '../../shared/identity/dynamo';
import { DynamoLoginThrottle } from '../../shared/identity/dynamo-login-throttle';
import { DynamoRefreshTokenStore } from '../../shared/identity/dynamo-refresh-tokens';
import { DynamoUserStore } from '../../shared/identity/dynamo-users';
import { primeDummyHash } from '../../shared/identity/password';
import { loginBodySchema, logoutBodySchema, refreshBodySchema, signupBodySchema } from '../../shared/identity/schemas';
import { secretsManagerReader } from '../../shared/identity/secrets-reader';
import { SigningKeyProvider } from '../../shared/identity/signing-key';
import { AccessTokens } from '../../shared/identity/tokens';
import { metrics, MetricUnit } from '../../shared/observability';

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

export const handler = httpRoutes(
  {
    'POST /api/v1/auth/signup': route({
      body: signupBodySchema,
      handle: async ({ body }) => {
        const session = await auth.signup(body);
        metrics.addMetric('UserSignedUp', MetricUnit.Count, 1);
        return json(201, sessionBody(session));
      },
    }),
    'POST /api/v1/auth/login': route({ body: loginBodySchema, handle: async ({ body }) => json(200, sessionBody(await auth.login(body))) }),
    'POST /api/v1/auth/refresh': route({
      body: refreshBodySchema,
      handle: async ({ body }) => json(200, sessionBody(await auth.refresh(body.refreshToken))),
    }),
    'POST /api/v1/auth/logout': route({
      caller: 'authorized',
      body: logoutBodySchema,
      handle: async ({ principal, body }) => {
        await auth.logout(principal.userId, body.refreshToken);
        return noContent();
      },
    }),
  },
  { failureLog: 'Auth request failed', refusals: { log: 'Auth request refused', metricPrefix: 'AuthRefused_' } },
);
