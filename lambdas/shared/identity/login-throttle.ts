/**
 * @deprecated Split into `login-lockout.ts` (the rule and the `LoginThrottle` interface) and
 * `dynamo-login-throttle.ts` (`DynamoLoginThrottle`, the domain table's adapter). Kept only for
 * test/unit/identity-stores.test.ts; delete once it imports the new paths.
 */
export { attemptsKey, DynamoLoginThrottle as LoginThrottle } from './dynamo-login-throttle';
export { MAX_FAILURES, retryAfterSeconds, WINDOW_SECONDS, type AttemptWindow } from './login-lockout';
