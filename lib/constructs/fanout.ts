/**
 * Fanout: change data capture to WebSocket clients (DESIGN.md sections 2, 3, 7).
 *
 * - `Stream`: the domain table stream's real-time consumer (lambdas/realtime/fanout.ts). Its
 *   filter criteria come from `TOPIC_SOURCES` (the one list of changes that map to topics), so it
 *   is invoked only for those. No batching window (latency is the product), partial batch
 *   responses, bisect on error, bounded retries, a maximum record age, and an on-failure
 *   destination. Starts at LATEST: events are live data, and a new mapping replaying a day of
 *   them would flood clients with stale frames.
 * - `Worker`: delivers hot topics' jobs from the FIFO job queue, one shard each, in parallel.
 *
 * Both post through the gateway's `@connections` API and read/write the realtime table (edges,
 * topic heads, replay log).
 *
 * Relies on: the domain table's stream, `FanoutQueues`, `RealtimeGateway.bindConnectionsApi`.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { StartingPosition, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TOPIC_SOURCES } from '../../lambdas/shared/realtime/cdc';
import { AppFunction } from './app-function';
import { acknowledgeListStreams } from './nag';
import type { IConnectionsApi } from './realtime-gateway';
import { streamFilters } from './stream-filters';
import { integerInRange, requireStream, streamRecordAge } from './validate';

export interface FanoutProps {
  /** The domain table; its stream (NEW_AND_OLD_IMAGES) is the change feed. */
  readonly domainTable: ITable;
  /** Edges, topic heads and the replay log. */
  readonly realtimeTable: ITable;
  /** The WebSocket gateway both functions post frames through (`RealtimeGateway`). */
  readonly gateway: IConnectionsApi;
  /** The FIFO job queue for hot topics (`FanoutQueues.jobs`). */
  readonly jobQueue: IQueue;
  /** On-failure destination of the stream mapping (`FanoutQueues.streamFailures`). */
  readonly streamFailureQueue: IQueue;
  /**
   * Retries of a failed batch before its range goes to `streamFailureQueue`. Retries never
   * renumber events (topic-log.ts), so they cost duplicates clients drop, not gaps.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to `streamFailureQueue` instead of being delivered: live data
   * that late is of little use, and clients that missed it resume by replay. Under the stream's
   * 24-hour retention, so the range can still be read from the stream.
   * @default Duration.hours(1)
   */
  readonly maxRecordAge?: Duration;
  /** Parallel job workers at most (SQS event source maximum concurrency). @default 20 */
  readonly workerConcurrency?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class Fanout extends Construct {
  public readonly streamFunction: IFunction;
  public readonly workerFunction: IFunction;

  constructor(scope: Construct, id: string, props: FanoutProps) {
    super(scope, id);
    const owner = `Fanout ${id}`;
    requireStream(owner, 'domainTable', props.domainTable, 'fan-out');
    if (!props.jobQueue.fifo) {
      throw new Error(`${owner}: jobQueue must be a FIFO queue (each shard's jobs must stay in order)`);
    }
    const retryAttempts = integerInRange(owner, 'retryAttempts', props.retryAttempts ?? 10, 0, 10_000);
    const maxRecordAge = streamRecordAge(owner, props.maxRecordAge ?? Duration.hours(1));
    // 2 to 1000: the SQS event source's limits on maximum concurrency.
    const workerConcurrency = integerInRange(owner, 'workerConcurrency', props.workerConcurrency ?? 20, 2, 1000);
    const filters = streamFilters(TOPIC_SOURCES);

    const stream = new AppFunction(this, 'Stream', {
      entry: 'realtime/fanout.ts',
      serviceName: 'fanout',
      description: 'Fan-out: numbers, logs and delivers topic events from the domain-table stream',
      timeout: Duration.seconds(60),
      // More memory is more CPU and network for many concurrent posts.
      memorySize: 1024,
      logRetention: props.logRetention,
    });
    stream.bindTable(props.realtimeTable, 'RW', 'REALTIME_TABLE_NAME');
    stream.bindEnvironment('FANOUT_QUEUE_URL', props.jobQueue.queueUrl);
    props.jobQueue.grantSendMessages(stream);
    props.gateway.bindConnectionsApi(stream);
    stream.addEventSource(
      new DynamoEventSource(props.domainTable, {
        startingPosition: StartingPosition.LATEST,
        batchSize: 100,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts,
        maxRecordAge,
        // One batch per shard at a time keeps each topic's events in order.
        parallelizationFactor: 1,
        filters,
        onFailure: new SqsDlq(props.streamFailureQueue),
      }),
    );
    acknowledgeListStreams(stream.role!);

    const worker = new AppFunction(this, 'Worker', {
      entry: 'realtime/fanout-worker.ts',
      serviceName: 'fanout',
      description: 'Fan-out worker: delivers one shard of a hot topic per job',
      timeout: Duration.seconds(60),
      memorySize: 1024,
      logRetention: props.logRetention,
    });
    worker.bindTable(props.realtimeTable, 'RW', 'REALTIME_TABLE_NAME');
    props.gateway.bindConnectionsApi(worker);
    worker.addEventSource(
      new SqsEventSource(props.jobQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: workerConcurrency,
      }),
    );

    this.streamFunction = stream;
    this.workerFunction = worker;
  }
}
