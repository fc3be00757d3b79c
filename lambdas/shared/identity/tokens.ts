/**
 * Access tokens and opaque random tokens.
 *
 * - Access token: a JWT signed with HS256 and the key from `SigningKeyProvider`; 1 hour; claims
 *   `sub` (user id), `role`, `iat`, `exp`, `jti`, plus a fixed issuer and audience so a token minted
 *   for something else with the same key is refused. Verified with jose, HS256 only (no `none`, no
 *   algorithm confusion), with a small clock tolerance.
 * - Opaque tokens (refresh tokens, realtime tickets): 32 random bytes, base64url. Only their SHA-256
 *   is stored, so a leaked table does not leak usable tokens; a fast hash is right here because the
 *   input already has 256 bits of entropy.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { InvalidToken, type TokenRefusal } from './errors';

export const ROLES = ['user', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ACCESS_TOKEN_TTL_SECONDS = 60 * 60;
export const TOKEN_ISSUER = 'realtime-platform';
export const TOKEN_AUDIENCE = 'realtime-platform-api';
/** Clock skew tolerated between the signer and the verifier. */
export const CLOCK_TOLERANCE_SECONDS = 5;

/** Who a verified token (or ticket) speaks for. */
export interface Principal {
  readonly userId: string;
  readonly role: Role;
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly jti: string;
}

const claimsSchema = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  jti: z.string().min(1),
  iat: z.number(),
  exp: z.number(),
});

export class AccessTokens {
  constructor(
    private readonly key: () => Promise<Uint8Array>,
    private readonly clock: Clock = systemClock,
  ) {}

  async issue(principal: Principal): Promise<IssuedAccessToken> {
    const now = epochSeconds(this.clock());
    const jti = randomUUID();
    const token = await new SignJWT({ role: principal.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(principal.userId)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
      .setJti(jti)
      .sign(await this.key());
    return { token, expiresIn: ACCESS_TOKEN_TTL_SECONDS, jti };
  }

  /** The principal of a valid token; `InvalidToken` for anything else (never another error type). */
  async verify(token: string): Promise<Principal> {
    const key = await this.key();
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        currentDate: this.clock(),
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new InvalidToken('Token has expired', 'expired');
      if (error instanceof joseErrors.JOSEError) throw new InvalidToken('Token is invalid', refusalOf(error));
      throw error;
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new InvalidToken('Token is invalid', 'malformed');
    return { userId: claims.data.sub, role: claims.data.role };
  }
}

/** Why jose refused a token (its error classes), for the refusal's log line. */
function refusalOf(error: joseErrors.JOSEError): TokenRefusal {
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) return 'algorithm';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return 'wrong_claims';
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return 'malformed';
  return 'invalid';
}

/** `Authorization: Bearer <token>` → the token; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(header?.trim() ?? '');
  return match?.[1];
}

/** 32 random bytes, base64url (43 characters). */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Shape of `newOpaqueToken` output; anything else is rejected before touching the table. */
export const OPAQUE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What is stored in place of an opaque token. */
export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
