/**
 * Pagination cursors and the `?limit=&cursor=` query (lambdas/shared/http/cursor.ts): defaults and
 * bounds of `limit`, a cursor that goes round trip, and every way a tampered cursor is a 400
 * naming `cursor`, including a well-formed one for another user's partition.
 */
import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../lambdas/shared/errors';
import { decodeCursor, encodeCursor, MAX_CURSOR_LENGTH, nextCursor, pageQuerySchema } from '../../lambdas/shared/http/cursor';
import { fieldIssues } from '../../lambdas/shared/validation';

const MINE = (key: Record<string, string>) => key.pk === 'USER#u-1';
const KEY = { pk: 'USER#u-1', sk: 'BOOKING#2026-11-21T10:00:00.000Z#b-1' };

function refusal(run: () => unknown): BadRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof BadRequestError) return error;
    throw error;
  }
  throw new Error('expected a BadRequestError');
}

describe('pageQuerySchema', () => {
  it('defaults limit to 20 and leaves the cursor out', () => {
    expect(pageQuerySchema.parse({})).toEqual({ limit: 20 });
  });

  it('takes limits from 1 to 100 and a cursor', () => {
    expect(pageQuerySchema.parse({ limit: '1', cursor: 'abc' })).toEqual({ limit: 1, cursor: 'abc' });
    expect(pageQuerySchema.parse({ limit: '100' })).toEqual({ limit: 100 });
  });

  it('refuses other limits and oversized or empty cursors, naming the field', () => {
    for (const limit of ['0', '101', '-1', '1.5', '1e1', ' 5', '', 'ten', '0100']) {
      const parsed = pageQuerySchema.safeParse({ limit });
      expect(parsed.success, limit).toBe(false);
      expect(fieldIssues(parsed.error!).map((issue) => issue.field)).toEqual(['limit']);
    }
    for (const cursor of ['', 'a'.repeat(MAX_CURSOR_LENGTH + 1)]) {
      const parsed = pageQuerySchema.safeParse({ cursor });
      expect(fieldIssues(parsed.error!).map((issue) => issue.field)).toEqual(['cursor']);
    }
  });
});

describe('cursors', () => {
  it('go round trip as base64url, opaque to the client', () => {
    const cursor = encodeCursor(KEY);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, MINE)).toEqual(KEY);
  });

  it('are null at the end of a list', () => {
    expect(nextCursor(undefined)).toBeNull();
    expect(decodeCursor(nextCursor(KEY)!, MINE)).toEqual(KEY);
    expect(() => nextCursor({ pk: 'USER#u-1', n: 1 })).toThrow();
  });

  it('refuse anything malformed, not an object of strings, or not expected, with a 400 naming cursor', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const tampered = [
      'not a cursor!',
      `${encodeCursor(KEY)}=`,
      Buffer.from('{"pk":').toString('base64url'),
      encode(['USER#u-1']),
      encode('USER#u-1'),
      encode(null),
      encode({}),
      encode({ pk: 'USER#u-1', sk: 5 }),
      encode({ pk: 'USER#u-1', sk: { S: 'x' } }),
      // Well formed, but another user's partition: the caller's `expected` says no.
      encodeCursor({ pk: 'USER#u-2', sk: KEY.sk }),
      'A'.repeat(MAX_CURSOR_LENGTH + 4),
    ];
    for (const cursor of tampered) {
      const error = refusal(() => decodeCursor(cursor, MINE));
      expect(error.details, cursor).toEqual([{ field: 'cursor', message: expect.any(String) }]);
      expect(error.message).toBe('Invalid cursor: not one this list returned');
    }
  });
});
