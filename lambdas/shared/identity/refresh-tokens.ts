/**
 * @deprecated Moved to `dynamo-refresh-tokens.ts` (`DynamoRefreshTokenStore`; the interface is
 * `RefreshTokenStore` in auth-service.ts). Kept only for test/unit/identity-stores.test.ts; delete
 * once it imports the new path.
 */
export { DynamoRefreshTokenStore as RefreshTokenStore, REFRESH_TOKEN_TTL_SECONDS, refreshTokenKey } from './dynamo-refresh-tokens';
