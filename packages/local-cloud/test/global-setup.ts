import { DynamoDbServer } from '../src/dynamodb/server';

/** Runs once before any test: the local cloud cannot run without Java 17+. */
export default function setup(): void {
  DynamoDbServer.checkJava();
}
