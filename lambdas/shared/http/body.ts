/**
 * Request bodies: the one way HTTP handlers turn a body into typed input (STYLE 7). Oversize,
 * non-JSON and schema-violating bodies all become a `BadRequestError` whose details name the field
 * (or `(body)` for the body as a whole), so bad input is a 400, never a 500.
 *
 * Takes the body as API Gateway delivers it (a string, possibly base64) rather than a Lambda event
 * type, so it is usable and testable without `aws-lambda`.
 */
import type { z } from 'zod';
import { BadRequestError } from '../errors';

/** Largest JSON body any route accepts. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface RawBody {
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
}

export function parseJsonBody<S extends z.ZodType>(raw: RawBody, schema: S): z.infer<S> {
  if (raw.body === undefined || raw.body === '') {
    throw new BadRequestError('Request body is required', [{ field: '(body)', message: 'Expected a JSON object' }]);
  }
  // Check the size before decoding: a huge body must not cost a big allocation first.
  const encodedBytes = raw.isBase64Encoded ? Math.floor((raw.body.length * 3) / 4) : Buffer.byteLength(raw.body, 'utf8');
  if (encodedBytes > MAX_BODY_BYTES) {
    throw new BadRequestError(`Request body exceeds ${MAX_BODY_BYTES} bytes`, [
      { field: '(body)', message: `At most ${MAX_BODY_BYTES} bytes` },
    ]);
  }
  const text = raw.isBase64Encoded ? Buffer.from(raw.body, 'base64').toString('utf8') : raw.body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequestError('Request body is not valid JSON', [{ field: '(body)', message: 'Malformed JSON' }]);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw BadRequestError.fromZod(result.error);
  }
  return result.data;
}
