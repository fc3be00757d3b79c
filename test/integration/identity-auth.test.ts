/**
 * The auth service with its DynamoDB adapters, against DynamoDB Local: sign-up, login and its
 * lockout, refresh-token rotation and logout, on real conditional writes.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { AuthService } from '../../lambdas/shared/identity/auth-service';
import { DynamoLoginThrottle } from '../../lambdas/shared/identity/dynamo-login-throttle';
import { DynamoRefreshTokenStore } from '../../lambdas/shared/identity/dynamo-refresh-tokens';
import { DynamoUserStore } from '../../lambdas/shared/identity/dynamo-users';
import { EmailTaken, InvalidCredentials, InvalidToken, TooManyAttempts } from '../../lambdas/shared/identity/errors';
import { AccessTokens } from '../../lambdas/shared/identity/tokens';
import { useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;

useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
});

function service() {
  const db = local.db;
  const accessTokens = new AccessTokens(async () => new TextEncoder().encode('k'.repeat(64)));
  const auth = new AuthService({
    users: new DynamoUserStore(db, table),
    refreshTokens: new DynamoRefreshTokenStore(db, table),
    throttle: new DynamoLoginThrottle(db, table),
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
    expect(JSON.stringify((await db.send(new ScanCommand({ TableName: table }))).Items)).not.toContain(ADA.password);
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
