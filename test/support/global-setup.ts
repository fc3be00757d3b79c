import { DynamoDbServer } from '@realtime/local-cloud';

/** Runs once before any test: the local-cloud tests cannot run without Java 17+. */
export default function setup(): void {
  DynamoDbServer.checkJava();
}
