/**
 * @deprecated Split into `subscription-registry.ts` (the interface and its types) and
 * `dynamo-subscription-registry.ts` (`DynamoSubscriptionRegistry`, the realtime table's adapter).
 * Kept only for bench/realtime-fanout.ts, which is outside this folder's owners; delete once it
 * imports `DynamoSubscriptionRegistry` from the new path.
 */
export { DynamoSubscriptionRegistry as SubscriptionRegistry } from './dynamo-subscription-registry';
