import { describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { InvalidToken } from '../../lambdas/shared/identity/errors';
import { SigningKeyProvider } from '../../lambdas/shared/identity/signing-key';
import {
  AccessTokens,
  ACCESS_TOKEN_TTL_SECONDS,
  bearerToken,
  hashOpaqueToken,
  newOpaqueToken,
  OPAQUE_TOKEN_PATTERN,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
} from '../../lambdas/shared/identity/tokens';

const KEY = new TextEncoder().encode('k'.repeat(64));
const OTHER_KEY = new TextEncoder().encode('o'.repeat(64));
const T0 = new Date('2026-11-21T10:00:00.000Z');

function tokensAt(now: () => Date, key = KEY) {
  return new AccessTokens(async () => key, now);
}

describe('AccessTokens', () => {
  it('issues an HS256 JWT with sub, role, iat, exp (1 h), jti, issuer and audience', async () => {
    const issued = await tokensAt(() => T0).issue({ userId: 'u1', role: 'admin' });
    expect(issued.expiresIn).toBe(ACCESS_TOKEN_TTL_SECONDS);
    expect(decodeProtectedHeader(issued.token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(issued.token);
    expect(claims).toEqual({
      sub: 'u1',
      role: 'admin',
      iss: TOKEN_ISSUER,
      aud: TOKEN_AUDIENCE,
      iat: T0.getTime() / 1000,
      exp: T0.getTime() / 1000 + 3600,
      jti: issued.jti,
    });
    const other = await tokensAt(() => T0).issue({ userId: 'u1', role: 'admin' });
    expect(other.jti).not.toBe(issued.jti);
  });

  it('verifies its own tokens', async () => {
    const tokens = tokensAt(() => T0);
    const { token } = await tokens.issue({ userId: 'u1', role: 'user' });
    expect(await tokens.verify(token)).toEqual({ userId: 'u1', role: 'user' });
  });

  it('refuses an expired token, with a small clock tolerance', async () => {
    const { token } = await tokensAt(() => T0).issue({ userId: 'u1', role: 'user' });
    const at = (seconds: number) => tokensAt(() => new Date(T0.getTime() + seconds * 1000));
    expect(await at(3600 + 4).verify(token)).toMatchObject({ userId: 'u1' });
    await expect(at(3600 + 6).verify(token)).rejects.toThrow(InvalidToken);
    await expect(at(3600 + 6).verify(token)).rejects.toThrow(/expired/);
  });

  it('refuses a token signed with another key, a tampered payload and garbage', async () => {
    const verifier = tokensAt(() => T0);
    const foreign = (await tokensAt(() => T0, OTHER_KEY).issue({ userId: 'u1', role: 'user' })).token;
    const [header, , signature] = (await verifier.issue({ userId: 'u1', role: 'user' })).token.split('.');
    const elevated = Buffer.from(JSON.stringify({ ...decodeJwt(foreign), role: 'admin' })).toString('base64url');
    for (const token of [foreign, `${header}.${elevated}.${signature}`, 'not-a-jwt', '']) {
      await expect(verifier.verify(token), token).rejects.toThrow(InvalidToken);
    }
  });

  it('refuses alg none, a wrong audience and a role outside user|admin', async () => {
    const verifier = tokensAt(() => T0);
    const now = T0.getTime() / 1000;
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ sub: 'u1', role: 'admin', iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, iat: now, exp: now + 60, jti: 'j' }),
    ).toString('base64url')}.`;
    const sign = (claims: Record<string, unknown>, audience = TOKEN_AUDIENCE) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('u1')
        .setIssuer(TOKEN_ISSUER)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti('j')
        .sign(KEY);
    for (const token of [none, await sign({ role: 'user' }, 'someone-else'), await sign({ role: 'root' })]) {
      await expect(verifier.verify(token)).rejects.toThrow(InvalidToken);
    }
  });
});

describe('SigningKeyProvider', () => {
  it('reads the secret once and caches the key', async () => {
    let reads = 0;
    const provider = new SigningKeyProvider('arn:secret', async (id) => {
      reads++;
      expect(id).toBe('arn:secret');
      return JSON.stringify({ key: 'x'.repeat(64) });
    });
    const [a, b] = await Promise.all([provider.key(), provider.key()]);
    await provider.key();
    expect(reads).toBe(1);
    expect(a).toBe(b);
    expect(new TextDecoder().decode(a)).toBe('x'.repeat(64));
  });

  it('does not cache a failure, and never puts the secret text in the error', async () => {
    const answers = ['not json {"key":"leak"', JSON.stringify({ key: 'short' }), JSON.stringify({ key: 'y'.repeat(40) })];
    const provider = new SigningKeyProvider('arn:s', async () => answers.shift()!);
    await expect(provider.key()).rejects.toThrow(/is not JSON/);
    await expect(provider.key()).rejects.not.toThrow(/leak/);
    expect(new TextDecoder().decode(await provider.key())).toBe('y'.repeat(40));
  });
});

describe('opaque tokens and bearer headers', () => {
  it('makes 43-character base64url tokens and hashes them', () => {
    const token = newOpaqueToken();
    expect(token).toMatch(OPAQUE_TOKEN_PATTERN);
    expect(newOpaqueToken()).not.toBe(token);
    expect(hashOpaqueToken(token)).toHaveLength(43);
    expect(hashOpaqueToken(token)).not.toBe(token);
  });

  it('takes the token out of a Bearer header only', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
