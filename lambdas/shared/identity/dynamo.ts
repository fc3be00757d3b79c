/**
 * What identity's stores need from DynamoDB: the `send` of a `DynamoDBDocumentClient`. Stores take
 * it as a parameter, so unit tests pass a small in-memory fake instead of the SDK.
 */

export interface DocumentClientLike {
  // The output is validated (zod) by each store, so the loose type never leaks into domain values.
  send(command: object): Promise<Record<string, unknown>>;
}

/** The name the SDK gives a failed condition, on single writes and inside transactions. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** Reasons of a cancelled transaction, one per item (`None` for those that were fine). */
export function cancellationReasons(error: unknown): string[] | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((reason) => reason.Code ?? 'None');
}
