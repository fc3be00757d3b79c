import { describe, expect, it } from 'vitest';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../../lambdas/shared/identity/password';

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashing (scrypt)', () => {
  it('stores the parameters and a per-hash random salt with the hash', async () => {
    const a = await hashPassword('correct horse', FAST);
    const b = await hashPassword('correct horse', FAST);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
  });

  it('uses N = 2^15 by default', async () => {
    expect(await hashPassword('correct horse')).toMatch(/^scrypt\$32768\$8\$1\$/);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse', FAST);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct hors', stored)).toBe(false);
    expect(await verifyPassword('Correct horse', stored)).toBe(false);
  });

  it('verifies with the parameters stored in the hash, not the current defaults', async () => {
    const stored = await hashPassword('pw-12345', { N: 2 ** 11, r: 4, p: 2 });
    expect(await verifyPassword('pw-12345', stored)).toBe(true);
  });

  it('never matches (and never throws on) a malformed or tampered hash', async () => {
    const stored = await hashPassword('pw-12345', FAST);
    const parts = stored.split('$');
    for (const bad of [
      '',
      'bcrypt$whatever',
      parts.slice(0, 5).join('$'),
      [...parts.slice(0, 5), parts[5]!.slice(0, 10)].join('$'),
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), // N absurdly large
    ]) {
      expect(await verifyPassword('pw-12345', bad), bad).toBe(false);
    }
  });

  it('treats canonically equivalent Unicode passwords as equal (NFC)', async () => {
    const stored = await hashPassword('caf\u00e9-pass', FAST);
    expect(await verifyPassword('cafe\u0301-pass', stored)).toBe(true);
  });

  it('spends a real verification on unknown users (dummy hash) and always refuses', async () => {
    const stored = await hashPassword('some password');
    await verifyAgainstDummy('warm-up');
    const time = async (fn: () => Promise<unknown>) => {
      const start = performance.now();
      await fn();
      return performance.now() - start;
    };
    const known = await time(() => verifyPassword('guess-1234', stored));
    const unknown = await time(() => verifyAgainstDummy('guess-1234'));
    expect(await verifyAgainstDummy('anything')).toBe(false);
    // Same parameters, so the same order of cost: generous bounds, this is not a benchmark.
    expect(unknown).toBeGreaterThan(known / 4);
    expect(unknown).toBeLessThan(known * 4);
  });
});
