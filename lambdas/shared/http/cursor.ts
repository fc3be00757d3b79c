/**
 * Pagination of lists (DESIGN.md section 4): `?limit=` (default 20, at most 100) and an opaque
 * `cursor`, answered with `nextCursor` (null at the end). A cursor is a DynamoDB
 * `LastEvaluatedKey` as base64url JSON:
 *
 *   export const handler = httpRoute({
 *     caller: 'authorized',
 *     query: pageQuerySchema,
 *     failureLog: 'Bookings list failed',
 *     handle: async ({ principal, query }) => {
 *       const pk = `USER#${principal.userId}`;
 *       const from = query.cursor === undefined ? undefined : decodeCursor(query.cursor, (key) => key.pk === pk);
 *       const page = await bookings.list(pk, query.limit, from);
 *       return json(200, { bookings: page.items, nextCursor: nextCursor(page.lastEvaluatedKey) });
 *     },
 *   });
 *
 * Not signed: a client can read a cursor and forge one, and that is fine, because `decodeCursor`
 * makes the caller say which keys it accepts (the caller's own partition). A forged cursor can
 * then only start the caller's own list at another of the caller's own items, which the client
 * could ask for anyway. An HMAC would add a secret to every list function and protect nothing more.
 */
import { z } from 'zod';
import { BadRequestError } from '../errors';

export const DEFAULT_PAGE_LIMIT = 20;
export const MAX_PAGE_LIMIT = 100;
/** A key of two string attributes fits easily; anything longer did not come from us. */
export const MAX_CURSOR_LENGTH = 1024;

/**
 * `?limit=&cursor=`, for a route's `query` option; `.extend` it for lists with more parameters.
 * Digits only for `limit`: `1e2`, ` 5` or `0x10` are not what a client meant to send.
 */
export const pageQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d{1,3}$/, `Expected an integer from 1 to ${MAX_PAGE_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_LIMIT))
    .default(DEFAULT_PAGE_LIMIT),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});

export type PageQuery = z.infer<typeof pageQuerySchema>;

/** A DynamoDB key of string attributes (`pk`, `sk`, and a GSI's when the list reads one). */
export type CursorKey = Record<string, string>;

const keySchema = z.record(z.string(), z.string()).refine((key) => Object.keys(key).length > 0);

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * The cursor of the page after this one from a query's `LastEvaluatedKey` as the document client
 * gives it: null when DynamoDB says the list is done. A key that is not all strings is a bug of
 * the list (it throws), not something a client could send.
 */
export function nextCursor(lastEvaluatedKey: Record<string, unknown> | undefined): string | null {
  return lastEvaluatedKey === undefined ? null : encodeCursor(keySchema.parse(lastEvaluatedKey));
}

/**
 * The key a cursor holds, if it is one this list could have given: `expected` says so (at least:
 * the key's partition is the caller's). Anything else is a 400 naming `cursor`, one message for
 * every reason, so that probing it teaches nothing.
 */
export function decodeCursor(cursor: string, expected: (key: CursorKey) => boolean): CursorKey {
  // Node's base64url decoder skips characters outside the alphabet; a cursor must not have any.
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  const key = keySchema.safeParse(decoded);
  if (!key.success || !expected(key.data)) throw invalidCursor();
  return key.data;
}

function invalidCursor(): BadRequestError {
  return new BadRequestError('Invalid cursor: not one this list returned', [{ field: 'cursor', message: 'Not one this list returned' }]);
}
