/**
 * @deprecated Moved to `dynamo-connections.ts` (DynamoDB adapters are named `dynamo-*.ts`). Kept
 * only for test/support/realtime-local.ts, which is outside this folder's owners; delete once it
 * imports `ConnectionStore` from the new path.
 */
export * from './dynamo-connections';
