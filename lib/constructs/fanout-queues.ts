/**
 * FanoutQueues: the stateful side of real-time fan-out (DESIGN.md sections 2 and 7).
 *
 * - `jobs`: the fan-out job queue (SQS FIFO). A hot topic's delivery is split into one job per
 *   shard; the message group is topic and shard, so a shard's jobs run in order and shards run in
 *   parallel. High-throughput FIFO (deduplication and throughput limit per message group), since
 *   every group is independent. Jobs that keep failing move to `jobsDeadLetterQueue` (FIFO too,
 *   as SQS requires) after `maxReceiveCount` receives.
 * - `streamFailures`: the on-failure destination of fan-out's stream mapping (batches that still
 *   failed after its retries or grew too old): SQS receives the batch's shard and sequence range,
 *   which can be re-read from the stream while it holds them (24 hours).
 *
 * Alarms: either dead-letter queue not empty (`queueNotEmptyAlarm`), and the oldest job older than
 * a minute for three minutes running (fan-out is falling behind). No actions yet: notification
 * targets come with monitoring.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, Stats, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queueNotEmptyAlarm } from './alarms';
import { DeadLetterQueue } from './dead-letter-queue';
import { integerInRange } from './validate';

export interface FanoutQueuesProps {
  /**
   * How long a received job stays invisible: at least the worker's timeout, so a job is not
   * handed to a second worker while the first still runs it.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /** Receives of a job before it moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
}

export class FanoutQueues extends Construct {
  public readonly jobs: IQueue;
  public readonly jobsDeadLetterQueue: IQueue;
  public readonly streamFailures: IQueue;
  public readonly alarms: readonly IAlarm[];

  constructor(scope: Construct, id: string, props: FanoutQueuesProps = {}) {
    super(scope, id);
    const maxReceiveCount = integerInRange(`FanoutQueues ${id}`, 'maxReceiveCount', props.maxReceiveCount ?? 5, 1, 1000);

    const jobsDeadLetterQueue = new Queue(this, 'JobsDeadLetterQueue', {
      fifo: true,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(jobsDeadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the fan-out job queue; its depth alarm is the safeguard.',
    });
    const jobs = new Queue(this, 'Jobs', {
      fifo: true,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // A job past an hour old is of no use to anyone watching live; clients resume by replay.
      retentionPeriod: Duration.hours(1),
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(3),
      deadLetterQueue: { queue: jobsDeadLetterQueue, maxReceiveCount },
    });
    const streamFailures = new DeadLetterQueue(this, 'StreamFailures', {
      holds: 'the stream ranges fan-out could not deliver after its retries',
    });

    this.alarms = [
      queueNotEmptyAlarm(
        this,
        'JobsDeadLetterAlarm',
        jobsDeadLetterQueue,
        'Fan-out jobs failed repeatedly and were dead-lettered: some subscribers missed live events.',
      ),
      jobs
        .metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: Stats.MAXIMUM })
        .createAlarm(this, 'JobsAgeAlarm', {
          alarmDescription: 'Fan-out jobs wait over a minute: hot-topic delivery is falling behind.',
          threshold: 60,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      streamFailures.alarm,
    ];
    this.jobs = jobs;
    this.jobsDeadLetterQueue = jobsDeadLetterQueue;
    this.streamFailures = streamFailures.queue;
  }
}
