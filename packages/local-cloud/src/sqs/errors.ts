/**
 * SQS errors as the JSON protocol renders them and the AWS SDK v3 parses them: the body's
 * `__type` is the Smithy shape (`com.amazonaws.sqs#QueueDoesNotExist`) and, because the SQS
 * client is "awsQueryCompatible", the header `x-amzn-query-error: <query code>;Sender` carries
 * the legacy code (`AWS.SimpleQueueService.NonExistentQueue`), which the SDK reads first: it
 * becomes the exception's `Code`, and the modeled exception class is found through it.
 * Unmodeled codes (`InvalidParameterValue`, `MissingParameter`) surface as `SQSServiceException`
 * named after the code, as with real SQS.
 */
import { AwsError } from '../aws-protocol';

/** Error code (the exception name the SDK shows) → [query-protocol code, HTTP status]. */
const ERRORS = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  QueueDeletedRecently: ['AWS.SimpleQueueService.QueueDeletedRecently', 400],
  PurgeQueueInProgress: ['AWS.SimpleQueueService.PurgeQueueInProgress', 403],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  InvalidAttributeName: ['InvalidAttributeName', 400],
  InvalidAttributeValue: ['InvalidAttributeValue', 400],
  InvalidMessageContents: ['InvalidMessageContents', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  InvalidAddress: ['InvalidAddress', 404],
  InvalidParameterValue: ['InvalidParameterValue', 400],
  MissingParameter: ['MissingParameter', 400],
} as const satisfies Record<string, readonly [string, number]>;

export type SqsErrorCode = keyof typeof ERRORS;

export function sqsError(code: SqsErrorCode, message: string): AwsError {
  const [queryCode, status] = ERRORS[code];
  return new AwsError(code, message, status, { 'x-amzn-query-error': `${queryCode};${status >= 500 ? 'Receiver' : 'Sender'}` });
}

/** `__type` of an error code in SQS's JSON responses. */
export function sqsErrorType(code: string): string {
  return `com.amazonaws.sqs#${code}`;
}
