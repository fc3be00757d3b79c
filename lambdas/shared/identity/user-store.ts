/**
 * @deprecated Split into `users.ts` (the `UserStore` interface and the user types) and
 * `dynamo-users.ts` (`DynamoUserStore`, the domain table's adapter). Kept only for importers
 * outside lambdas/ (local/admin.ts, test/unit/identity-stores.test.ts); delete once they import
 * the new paths.
 */
export { DynamoUserStore as UserStore, emailKey, userKey } from './dynamo-users';
