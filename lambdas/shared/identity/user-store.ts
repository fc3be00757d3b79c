/**
 * @deprecated Split into `users.ts` (the `UserStore` interface and the user types) and
 * `dynamo-users.ts` (`DynamoUserStore`, the domain table's adapter). Kept only for local/admin.ts,
 * which is outside lambdas/; delete once it imports the new paths.
 */
export { DynamoUserStore as UserStore, emailKey, userKey } from './dynamo-users';
