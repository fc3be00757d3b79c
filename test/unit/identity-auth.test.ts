import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BadRequestError, RateLimitedError } from '../../lambdas/shared/errors';
import { MAX_BODY_BYTES, parseJsonBody } from '../../lambdas/shared/http/body';
import { authorizedPrincipal } from '../../lambdas/shared/http/principal';
import { toErrorResponse } from '../../lambdas/shared/http/response';
import { EmailTaken, InvalidCredentials, InvalidToken, TooManyAttempts } from '../../lambdas/shared/identity/errors';
import { loginBodySchema, signupBodySchema } from '../../lambdas/shared/identity/schemas';

const ADA = { email: 'ada@example.com', password: 'analytical-engine', name: 'Ada' };

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
    const fields = (value: unknown) => badRequest(() => parseJsonBody(body(value), signupBodySchema)).details.map((d) => d.field);
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
