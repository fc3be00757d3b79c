/**
 * What identity's stores need from DynamoDB. The definitions are shared by every store
 * (`../dynamodb.ts`); re-exported here so identity's modules keep one local import.
 */
export { cancellationReasons, consumeOnce, isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
