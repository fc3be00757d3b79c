/**
 * DomainEvents: the domain-event publisher, a consumer of the domain table's stream that puts the
 * catalog's events on the bus (transactional outbox by change data capture: docs/events.md,
 * docs/decisions.md). The stream has at most two consumers (DESIGN.md section 2): this one and
 * the real-time fan-out.
 *
 * The stream mapping (STYLE 9):
 * - Starts at TRIM_HORIZON: when the mapping is created or replaced, it reads the 24 hours the
 *   stream still holds instead of skipping to new changes, so no change between the old and the
 *   new mapping goes unpublished. The price is re-published events (consumers deduplicate on
 *   `detail.idempotencyKey`), and records older than `maxRecordAge` go to the dead-letter queue.
 * - Filter criteria built from the catalog (`STREAM_TRIGGERS`): one filter per change type,
 *   listing the entities that raise an event on it, so the function is invoked only for changes
 *   it publishes, and a new catalog entry needs no change here.
 * - Partial batch responses, bisect on error, bounded retries, and a maximum record age below
 *   the stream's 24-hour retention, so the ranges sent to the dead-letter queue can still be read
 *   from the stream and re-driven.
 *
 * Relies on: a domain table with a stream, the bus and the dead-letter queue of `DomainEventBus`.
 */
import { Duration } from 'aws-cdk-lib';
import { ComparisonOperator, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { StartingPosition, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STREAM_TRIGGERS } from '../../lambdas/shared/events/catalog';
import { PUBLISHER_METRICS } from '../../lambdas/shared/events/metrics';
import { AppFunction } from './app-function';
import { acknowledgeListStreams } from './nag';
import { streamFilters } from './stream-filters';
import { integerInRange, requireStream, streamRecordAge } from './validate';

export interface DomainEventsProps {
  /** The domain table; it must have a stream with new and old images. */
  readonly domainTable: ITable;
  /** Where the events go (`DomainEventBus.bus`). */
  readonly bus: IEventBus;
  /** On-failure destination of the stream mapping (`DomainEventBus.publisherDeadLetterQueue`). */
  readonly deadLetterQueue: IQueue;
  /**
   * Records per invocation. 100 is Lambda's default for streams; the publisher sends them in
   * PutEvents requests of 10, so a batch is ten requests.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Retries of a failed batch (or of the records after a reported failure) before its records
   * go to the dead-letter queue. Each invocation already retries PutEvents failures with backoff.
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this go to the dead-letter queue instead of being retried. Well below the
   * stream's 24-hour retention, so the records can still be read when someone looks.
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class DomainEvents extends Construct {
  public readonly publisher: IFunction;
  /** In alarm when the publisher skipped a stream record it could not map (see docs/events.md). */
  public readonly malformedRecordsAlarm: IAlarm;

  constructor(scope: Construct, id: string, props: DomainEventsProps) {
    super(scope, id);
    const owner = `DomainEvents ${id}`;
    requireStream(owner, 'domainTable', props.domainTable, 'the publisher');
    const batchSize = integerInRange(owner, 'batchSize', props.batchSize ?? 100, 1, 10_000);
    const retryAttempts = integerInRange(owner, 'retryAttempts', props.retryAttempts ?? 5, 0, 10_000);
    const maxRecordAge = streamRecordAge(owner, props.maxRecordAge ?? Duration.hours(6));
    const filters = streamFilters(STREAM_TRIGGERS);
    if (filters.length === 0) {
      throw new Error(`DomainEvents ${id}: the event catalog lists no stream triggers`);
    }

    const publisher = new AppFunction(this, 'Publisher', {
      entry: 'events/publisher.ts',
      serviceName: 'domain-events',
      description: 'Domain-event publisher: domain-table stream to the EventBridge bus',
      // Ten PutEvents requests per batch, each retried up to 5 times with under 2 s of backoff.
      timeout: Duration.seconds(30),
      logRetention: props.logRetention,
    });
    publisher.bindEventBus(props.bus, 'EVENT_BUS_NAME');
    publisher.addEventSource(
      new DynamoEventSource(props.domainTable, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts,
        maxRecordAge,
        filters,
        onFailure: new SqsDlq(props.deadLetterQueue),
      }),
    );
    acknowledgeListStreams(publisher.role!);

    this.malformedRecordsAlarm = publisher
      .appMetric(PUBLISHER_METRICS.malformed, { statistic: 'Sum', period: Duration.minutes(5) })
      .createAlarm(this, 'MalformedRecordsAlarm', {
        alarmDescription:
          'The domain-event publisher skipped stream records it could not map to a catalog event (never retried): ' +
          'an item written without the fields its event needs. See the publisher log for the sequence numbers.',
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    this.publisher = publisher;
  }
}
