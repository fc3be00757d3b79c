/**
 * The one way handlers build a DynamoDB document client, so marshalling behaves the same in every
 * function. Call it at module scope: the client (and its connection pool) is reused across
 * invocations of a warm function.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function createDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    // Optional attributes are simply left out of items rather than failing the write.
    marshallOptions: { removeUndefinedValues: true },
  });
}
