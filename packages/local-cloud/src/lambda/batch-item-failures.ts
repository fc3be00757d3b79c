/**
 * Reading a function's `ReportBatchItemFailures` response, shared by the event-source mappings that
 * support it: SQS (item identifiers are message ids) and DynamoDB streams (sequence numbers).
 */

export type BatchItemFailures<T> =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly items: T[] }
  | { readonly kind: 'failure'; readonly reason: string };

/**
 * The batch items a response names as failed, each found by `find` from its `itemIdentifier`
 * (undefined: not an item of the batch, which fails the whole batch, as does a malformed entry).
 * `identifier` names what an item identifier is, in the reasons; `invalidJson` is the verdict on a
 * response that is not JSON (the sources differ).
 */
export function readBatchItemFailures<T>(
  payload: string,
  identifier: string,
  find: (id: string) => T | undefined,
  invalidJson: 'success' | 'failure',
): BatchItemFailures<T> {
  let response: unknown;
  try {
    response = JSON.parse(payload);
  } catch {
    return invalidJson === 'success' ? { kind: 'success' } : { kind: 'failure', reason: 'the response is not valid JSON' };
  }
  if (response === null || typeof response !== 'object' || Array.isArray(response)) return { kind: 'success' };
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  if (failures.length === 0) return { kind: 'success' };
  const items: T[] = [];
  for (const entry of failures) {
    const id = entry !== null && typeof entry === 'object' ? (entry as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') {
      return {
        kind: 'failure',
        reason: `invalid batch item failure ${JSON.stringify(entry)}: itemIdentifier must be a ${identifier} of the batch`,
      };
    }
    const item = find(id);
    if (item === undefined) return { kind: 'failure', reason: `itemIdentifier ${JSON.stringify(id)} is not a ${identifier} of the batch` };
    items.push(item);
  }
  return { kind: 'partial', items };
}
