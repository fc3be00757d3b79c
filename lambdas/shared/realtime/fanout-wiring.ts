/**
 * The `Fanout` both fan-out handlers run (the stream consumer and the FIFO job worker): the
 * realtime table's registry and log, and `@connections` posting, from the function's environment.
 *
 * Relies on: REALTIME_TABLE_NAME, WEBSOCKET_CALLBACK_URL.
 */
import { createDocumentClient } from '../dynamodb';
import { requireEnv } from '../env';
import { Fanout, type FanoutDeps } from './fanout';
import { ApiGatewayPoster, connectionsEndpoint } from './apigw-poster';
import { DynamoSubscriptionRegistry } from './dynamo-subscription-registry';
import { DynamoTopicLog } from './dynamo-topic-log';

export function fanoutFromEnvironment(options: Pick<FanoutDeps, 'jobs' | 'onTopicFailure'>): Fanout {
  const db = createDocumentClient();
  const table = requireEnv('REALTIME_TABLE_NAME');
  return new Fanout({
    registry: new DynamoSubscriptionRegistry(db, table),
    log: new DynamoTopicLog(db, table),
    poster: new ApiGatewayPoster({ endpoint: connectionsEndpoint(requireEnv('WEBSOCKET_CALLBACK_URL')) }),
    ...options,
  });
}
