/**
 * @deprecated Moved to `dynamo-tickets.ts`. Kept only for test/unit/identity-stores.test.ts;
 * delete once it imports the new path.
 */
export * from './dynamo-tickets';
