import { describe, expect, it } from 'vitest';
import { MissingEnvError, requireEnv } from '../../lambdas/shared/env';

describe('requireEnv', () => {
  it('returns a set variable', () => {
    expect(requireEnv('TABLE_NAME', { TABLE_NAME: 'Realtime-dev-Table' })).toBe('Realtime-dev-Table');
  });

  it.each([
    ['unset', {}],
    ['empty', { TABLE_NAME: '' }],
  ])('fails with the variable name when it is %s', (_, env) => {
    expect(() => requireEnv('TABLE_NAME', env)).toThrow(new MissingEnvError('TABLE_NAME'));
    expect(() => requireEnv('TABLE_NAME', env)).toThrow(/TABLE_NAME/);
  });
});
