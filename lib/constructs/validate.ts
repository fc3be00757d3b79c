/**
 * Checks of construct props that several constructs share (STYLE 2: props are checked in the
 * constructor with a clear error). Each throws at synth with the construct and prop named, rather
 * than letting CloudFormation refuse the template halfway through a deployment.
 *
 * `owner` is how the error names the construct, e.g. `Fanout Fanout`: its class and id.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';

/** `value` if it is an integer from `min` to `max` (`unit`, e.g. ` MB`, follows the range). */
export function integerInRange(owner: string, name: string, value: number, min: number, max: number, unit = ''): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${owner}: ${name} must be an integer from ${min} to ${max}${unit}, got ${value}`);
  }
  return value;
}

/** Throws unless `table` has a stream, which `reader` (e.g. `fan-out`) reads with `NEW_AND_OLD_IMAGES`. */
export function requireStream(owner: string, name: string, table: ITable, reader: string): void {
  if (!table.tableStreamArn) {
    throw new Error(`${owner}: ${name} has no stream; ${reader} reads the table's stream (NEW_AND_OLD_IMAGES)`);
  }
}

/**
 * `maxRecordAge` of a DynamoDB stream mapping, if at least a minute (Lambda's minimum) and under
 * the stream's 24-hour retention: records sent to the on-failure destination are then still in
 * the stream when someone reads them.
 */
export function streamRecordAge(owner: string, maxRecordAge: Duration): Duration {
  if (maxRecordAge.toSeconds() < 60 || maxRecordAge.toSeconds() >= Duration.hours(24).toSeconds()) {
    throw new Error(`${owner}: maxRecordAge must be at least 1 minute and under the stream's 24-hour retention`);
  }
  return maxRecordAge;
}

/** `removalPolicy` if it is `RETAIN` or `DESTROY`: the resource has no snapshot on delete. */
export function retainOrDestroy(owner: string, removalPolicy: RemovalPolicy): RemovalPolicy {
  if (removalPolicy !== RemovalPolicy.RETAIN && removalPolicy !== RemovalPolicy.DESTROY) {
    throw new Error(`${owner}: removalPolicy must be RETAIN or DESTROY, got ${removalPolicy}`);
  }
  return removalPolicy;
}
