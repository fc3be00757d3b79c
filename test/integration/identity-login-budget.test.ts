/**
 * The login attempt budget under concurrency, against DynamoDB Local: a burst of simultaneous
 * logins for one email may check at most `MAX_FAILURES` passwords per window, whatever the order
 * the requests run in (finding 1 of issue 11: with the check, the verification and the count as
 * separate steps, 26 concurrent logins had 9-12 passwords checked).
 *
 * Verifications are counted by wrapping the password module's verifiers (the real scrypt still
 * runs), so the count covers every path, known email or not.
 */
import { describe, expect, it, vi } from 'vitest';
import { AuthService } from '../../lambdas/shared/identity/auth-service';
import { DynamoLoginThrottle } from '../../lambdas/shared/identity/dynamo-login-throttle';
import { DynamoRefreshTokenStore } from '../../lambdas/shared/identity/dynamo-refresh-tokens';
import { DynamoUserStore } from '../../lambdas/shared/identity/dynamo-users';
import { InvalidCredentials, TooManyAttempts } from '../../lambdas/shared/identity/errors';
import { MAX_FAILURES } from '../../lambdas/shared/identity/login-lockout';
import { AccessTokens } from '../../lambdas/shared/identity/tokens';
import { useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

const verifications = vi.hoisted(() => ({ count: 0 }));

vi.mock('../../lambdas/shared/identity/password', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lambdas/shared/identity/password')>();
  return {
    ...real,
    verifyPassword: async (password: string, stored: string) => {
      verifications.count++;
      return real.verifyPassword(password, stored);
    },
    verifyAgainstDummy: async (password: string) => {
      verifications.count++;
      return real.verifyAgainstDummy(password);
    },
  };
});

let local: LocalDynamo;
let table: string;

useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
  verifications.count = 0;
});

function service() {
  return new AuthService({
    users: new DynamoUserStore(local.db, table),
    refreshTokens: new DynamoRefreshTokenStore(local.db, table),
    throttle: new DynamoLoginThrottle(local.db, table),
    accessTokens: new AccessTokens(async () => new TextEncoder().encode('k'.repeat(64))),
  });
}

const ADA = { email: 'ada@example.com', password: 'analytical-engine', name: 'Ada' };

/** Each login's outcome: 'ok', 'invalid' (a password was checked and refused) or 'locked'. */
async function outcomes(auth: AuthService, attempts: readonly { email: string; password: string }[]) {
  const settled = await Promise.allSettled(attempts.map((attempt) => auth.login(attempt)));
  return settled.map((result) => {
    if (result.status === 'fulfilled') return 'ok';
    if (result.reason instanceof InvalidCredentials) return 'invalid';
    if (result.reason instanceof TooManyAttempts) return 'locked';
    throw result.reason;
  });
}

const count = (list: readonly string[], value: string) => list.filter((v) => v === value).length;

describe('login attempt budget', () => {
  it(`checks at most ${MAX_FAILURES} passwords for 40 concurrent wrong logins, then refuses the right one`, async () => {
    const auth = service();
    await auth.signup(ADA);
    verifications.count = 0;

    const wrong = Array.from({ length: 40 }, (_, i) => ({ email: i % 2 ? ADA.email : ADA.email.toUpperCase(), password: `wrong-${i}` }));
    const results = await outcomes(auth, wrong);

    // At most the budget, and no fewer: the budget is not refused early either.
    expect(verifications.count).toBe(MAX_FAILURES);
    expect(count(results, 'invalid')).toBe(MAX_FAILURES);
    expect(count(results, 'locked')).toBe(40 - MAX_FAILURES);
    await expect(auth.login({ email: ADA.email, password: ADA.password })).rejects.toThrow(TooManyAttempts);
    expect(verifications.count).toBeLessThanOrEqual(MAX_FAILURES);
  }, 60_000);

  it('budgets an email without an account the same way', async () => {
    const auth = service();
    const results = await outcomes(
      auth,
      Array.from({ length: 26 }, (_, i) => ({ email: 'nobody@example.com', password: `guess-${i}` })),
    );
    expect(verifications.count).toBeLessThanOrEqual(MAX_FAILURES);
    expect(count(results, 'invalid')).toBe(verifications.count);
    expect(count(results, 'locked')).toBe(26 - verifications.count);
  }, 60_000);

  it('resets the budget on a successful login', async () => {
    const auth = service();
    await auth.signup(ADA);
    for (let i = 0; i < MAX_FAILURES - 1; i++) {
      await expect(auth.login({ email: ADA.email, password: `wrong-${i}` })).rejects.toThrow(InvalidCredentials);
    }
    await expect(auth.login({ email: ADA.email, password: ADA.password })).resolves.toBeDefined();
    const results = await outcomes(
      auth,
      Array.from({ length: 10 }, (_, i) => ({ email: ADA.email, password: `again-${i}` })),
    );
    expect(count(results, 'invalid')).toBe(MAX_FAILURES);
    expect(count(results, 'locked')).toBe(10 - MAX_FAILURES);
  }, 60_000);
});
