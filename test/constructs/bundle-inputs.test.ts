/**
 * AppFunction hashes lambdas/, the lockfile and tsconfig.json to decide whether a bundle must be
 * rebuilt. That is only sound if handler code imports nothing else: this test keeps it so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleInputsHash, LAMBDAS_DIR } from '../../lib/constructs/app-function';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|mts|js|mjs|json)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe('bundle inputs', () => {
  it('handler code imports only from lambdas/ and packages', () => {
    const escaping: string[] = [];
    for (const file of sourceFiles(LAMBDAS_DIR)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), m[1]!);
        if (relative(LAMBDAS_DIR, target).startsWith('..')) escaping.push(`${relative(LAMBDAS_DIR, file)} imports ${m[1]}`);
      }
    }
    expect(escaping).toEqual([]);
  });

  it('is a stable hash', () => {
    expect(bundleInputsHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(bundleInputsHash()).toBe(bundleInputsHash());
  });
});
