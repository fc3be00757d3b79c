/**
 * Turns zod issues into field-level details. STYLE 7: a validation failure names the field, both
 * in HTTP error bodies (`details`) and in WebSocket `error` frames (`message`).
 */
import type { z } from 'zod';

export interface FieldIssue {
  /** Dotted path of the offending field; `(root)` when the input itself is wrong. */
  readonly field: string;
  readonly message: string;
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) => {
    const prefix = issue.path.map(String);
    // A strict object reports all unknown keys in one issue on the object itself; name each key.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...prefix, key].join('.'), message: 'Unknown field' }));
    }
    return [{ field: prefix.length > 0 ? prefix.join('.') : '(root)', message: issue.message }];
  });
}

/** One line for places that carry a single message, e.g. `type: Invalid input: expected string`. */
export function describeIssues(error: z.ZodError): string {
  return fieldIssues(error)
    .map(({ field, message }) => `${field}: ${message}`)
    .join('; ');
}
