/**
 * DynamoDB in the local cloud: the templates' tables in DynamoDB Local (started first, by the
 * local cloud), the Time to Live that DynamoDB Local lacks, and the streams' Lambda mappings.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LoadedService, ServiceModule, StartContext } from '../service-module';
import { StreamEventSourceMappings } from '../streams/stream-mappings';
import { createTables, type LocalTable } from './tables';
import { TtlSweeper } from './ttl-sweeper';

export interface DynamoDbModuleOptions {
  /** Virtual seconds between sweeps deleting TTL-expired items. @default 30 */
  readonly ttlSweepSeconds?: number;
}

/** A module of its own kind: `LocalCloud` exposes its tables, stream mappings and sweeper. */
export class DynamoDbModule implements ServiceModule {
  readonly sdkServiceIds = { dynamodb: 'DYNAMODB', dynamodbstreams: 'DYNAMODB_STREAMS' };
  /** The templates' tables, once started. */
  tables: LocalTable[] = [];
  /** DynamoDB Streams → Lambda mappings, once started. */
  streamMappings!: StreamEventSourceMappings;
  /** Deletes TTL-expired items on the virtual clock, once started. */
  ttlSweeper!: TtlSweeper;

  constructor(private readonly options: DynamoDbModuleOptions) {}

  load(cloud: StartContext): LoadedService {
    const { model, clock, lambda, log, targets, control, services } = cloud;
    return {
      start: async () => {
        const dynamodb = await cloud.dynamodb;
        services.dynamodb = dynamodb.endpoint;
        services.dynamodbstreams = dynamodb.endpoint;
        const ddbClient = new DynamoDBClient({
          endpoint: dynamodb.endpoint,
          region: model.region,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        });
        const tables = await createTables(model, ddbClient);
        ddbClient.destroy();
        this.tables = tables;
        // TTL, which DynamoDB Local lacks: swept every ttlSweepSeconds of virtual time, and whenever
        // the clock settles (so advancing deletes what expired on the way, and settling then waits
        // for the stream mappings to deliver the REMOVE records).
        const ttlSweeper = new TtlSweeper({
          model,
          tables,
          clock,
          endpoint: dynamodb.endpoint,
          region: model.region,
          periodSeconds: this.options.ttlSweepSeconds,
          log,
        });
        this.ttlSweeper = ttlSweeper;
        cloud.stopOnExit(ttlSweeper);
        clock.register({ name: 'DynamoDB TTL sweeper', isIdle: () => ttlSweeper.isIdle() });

        const mappings = new StreamEventSourceMappings({
          model,
          lambda,
          tables,
          dynamodbEndpoint: dynamodb.endpoint,
          log,
          onFailure: async (destination, record) => {
            control.recordFailure(destination, record);
            await targets.deliver({ arn: destination, input: JSON.stringify(record) });
          },
        });
        this.streamMappings = mappings;
        cloud.stopOnExit(mappings);
        await mappings.start();
        clock.register({
          name: 'DynamoDB stream mappings',
          isIdle: () =>
            mappings.idle({ timeoutMs: 5_000 }).then(
              () => true,
              () => false,
            ),
        });
      },
      // Sweeping starts last, with the schedules, once everything that consumes deletions runs.
      run: () => this.ttlSweeper.start(),
    };
  }
}
