import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadRequestError, RateLimitedError } from '../../lambdas/shared/errors';
import { MAX_BODY_BYTES, parseJsonBody } from '../../lambdas/shared/http/body';
import { authorizedPrincipal } from '../../lambdas/shared/http/principal';
import { toErrorResponse } from '../../lambdas/shared/http/response';
import { AuthService } from '../../lambdas/shared/identity/auth-service';
import { EmailTaken, InvalidCredentials, InvalidToken, TooManyAttempts } from '../../lambdas/shared/identity/errors';
import { DynamoLoginThrottle } from '../../lambdas/shared/identity/dynamo-login-throttle';
import { DynamoRefreshTokenStore } from '../../lambdas/shared/identity/dynamo-refresh-tokens';
import { DynamoUserStore } from '../../lambdas/shared/identity/dynamo-users';
import { loginBodySchema, signupBodySchema } from '../../lambdas/shared/identity/schemas';
import { AccessTokens } from '../../lambdas/shared/identity/tokens';
import { FakeDynamo } from '../support/fake-dynamo';

function service() {
  const db = new FakeDynamo();
  const accessTokens = new AccessTokens(async () => new TextEncoder().encode('k'.repeat(64)));
  const auth = new AuthService({
    users: new DynamoUserStore(db, 'domain'),
    refreshTokens: new DynamoRefreshTokenStore(db, 'domain'),
    throttle: new DynamoLoginThrottle(db, 'domain'),
    accessTokens,
  });
  return { db, auth, accessTokens };
}

const ADA = { email: 'ada@example.com', password: 'analytical-engine', name: 'Ada' };

describe('AuthService', () => {
  it('signs up: user without hash, a verifiable access token and a refresh token', async () => {
    const { auth, accessTokens, db } = service();
    const session = await auth.signup(ADA);
    expect(session.user).toEqual({ id: expect.any(String), email: ADA.email, name: 'Ada', role: 'user', createdAt: expect.any(String) });
    expect(JSON.stringify(session)).not.toContain('scrypt');
    expect(session.expiresIn).toBe(3600);
    expect(await accessTokens.verify(session.accessToken)).toEqual({ userId: session.user.id, role: 'user' });
    expect(session.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(db.items('domain'))).not.toContain(ADA.password);
    await expect(auth.signup({ ...ADA, email: 'ADA@example.com' })).rejects.toThrow(EmailTaken);
  });

  it('logs in; wrong password and unknown email give the same InvalidCredentials', async () => {
    const { auth } = service();
    const { user } = await auth.signup(ADA);
    expect((await auth.login({ email: ADA.email, password: ADA.password })).user).toEqual(user);
    await expect(auth.login({ email: ADA.email, password: 'wrong-password' })).rejects.toThrow(InvalidCredentials);
    await expect(auth.login({ email: 'nobody@example.com', password: ADA.password })).rejects.toThrow(InvalidCredentials);
  });

  it('answers the 6th attempt after 5 failures with TooManyAttempts, even with the right password', async () => {
    const { auth } = service();
    await auth.signup(ADA);
    for (let i = 0; i < 5; i++) {
      await expect(auth.login({ email: ADA.email, password: `wrong-${i}` })).rejects.toThrow(InvalidCredentials);
    }
    await expect(auth.login({ email: ADA.email, password: ADA.password })).rejects.toThrow(TooManyAttempts);
  });

  it('rotates refresh tokens: each works once', async () => {
    const { auth } = service();
    const first = await auth.signup(ADA);
    const second = await auth.refresh(first.refreshToken);
    expect(second.user.id).toBe(first.user.id);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await expect(auth.refresh(first.refreshToken)).rejects.toThrow(InvalidToken);
    await expect(auth.refresh('garbage')).rejects.toThrow(InvalidToken);
  });

  it('logout revokes only the caller’s own refresh token', async () => {
    const { auth } = service();
    const ada = await auth.signup(ADA);
    const bob = await auth.signup({ ...ADA, email: 'bob@example.com' });
    await auth.logout(bob.user.id, ada.refreshToken);
    await expect(auth.refresh(ada.refreshToken)).resolves.toBeDefined();
    const again = await auth.login({ email: ADA.email, password: ADA.password });
    await auth.logout(ada.user.id, again.refreshToken);
    await expect(auth.refresh(again.refreshToken)).rejects.toThrow(InvalidToken);
  });
});

function badRequest(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error('expected a BadRequestError');
}

describe('request bodies', () => {
  const body = (value: unknown) => ({ body: typeof value === 'string' ? value : JSON.stringify(value) });

  it('accepts a valid signup, trimming and lower-casing the email', () => {
    expect(parseJsonBody(body({ ...ADA, email: ' Ada@Example.COM ' }), signupBodySchema)).toEqual(ADA);
  });

  it('names unknown, missing and wrongly typed fields', () => {
    expect(badRequest(() => parseJsonBody(body({ ...ADA, admin: true, role: 'admin' }), signupBodySchema)).details).toEqual([
      { field: 'admin', message: 'Unknown field' },
      { field: 'role', message: 'Unknown field' },
    ]);
    const fields = (value: unknown) =>
      badRequest(() => parseJsonBody(body(value), signupBodySchema)).details.map((d) => d.field);
    expect(fields({ email: ADA.email })).toEqual(['password', 'name']);
    expect(fields({ ...ADA, password: 12345678 })).toEqual(['password']);
    expect(fields({ ...ADA, email: 'not-an-email' })).toEqual(['email']);
    expect(fields({ ...ADA, password: 'short' })).toEqual(['password']);
    expect(fields({ ...ADA, password: 'x'.repeat(129) })).toEqual(['password']);
    expect(fields([])).toEqual(['(root)']);
  });

  it('refuses malformed JSON, a missing body and an oversize body as bad_request', () => {
    expect(badRequest(() => parseJsonBody(body('{"email":'), loginBodySchema)).message).toMatch(/not valid JSON/);
    expect(badRequest(() => parseJsonBody({}, loginBodySchema)).details).toEqual([{ field: '(body)', message: expect.any(String) }]);
    const huge = body({ ...ADA, name: 'x'.repeat(MAX_BODY_BYTES) });
    expect(badRequest(() => parseJsonBody(huge, signupBodySchema)).message).toMatch(/exceeds 65536 bytes/);
  });

  it('decodes base64 bodies', () => {
    const raw = { body: Buffer.from(JSON.stringify({ email: 'a@b.co', password: 'x' })).toString('base64'), isBase64Encoded: true };
    expect(parseJsonBody(raw, loginBodySchema)).toEqual({ email: 'a@b.co', password: 'x' });
  });

  it('works with any schema', () => {
    expect(parseJsonBody(body({ n: 1 }), z.strictObject({ n: z.number() }))).toEqual({ n: 1 });
  });
});

describe('error mapping of identity errors', () => {
  it('maps EmailTaken to 409, InvalidCredentials to 401 invalid_credentials, InvalidToken to 401', () => {
    expect(toErrorResponse(new EmailTaken()).statusCode).toBe(409);
    const invalid = toErrorResponse(new InvalidCredentials());
    expect(invalid.statusCode).toBe(401);
    expect(JSON.parse(invalid.body)).toEqual({ error: { code: 'invalid_credentials', message: expect.any(String), details: [] } });
    expect(toErrorResponse(new InvalidToken()).statusCode).toBe(401);
  });

  it('maps TooManyAttempts to 429 with Retry-After in whole seconds', () => {
    const response = toErrorResponse(new TooManyAttempts(12.2));
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('13');
    expect(toErrorResponse(new RateLimitedError('x', 0)).headers['retry-after']).toBe('1');
  });
});

describe('authorizedPrincipal', () => {
  it('reads the user from the Lambda authorizer context', () => {
    const event = { requestContext: { authorizer: { lambda: { userId: 'u1', role: 'admin' } } }, body: '{"userId":"u2"}' };
    expect(authorizedPrincipal(event)).toEqual({ userId: 'u1', role: 'admin' });
  });

  it('refuses an event without authorizer context as unauthorized', () => {
    expect(() => authorizedPrincipal({ requestContext: {} })).toThrow(/Authentication required/);
  });
});
