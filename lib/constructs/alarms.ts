/**
 * The one "queue not empty" alarm (DESIGN.md section 2: every dead-letter queue has an alarm on its
 * depth). A dead-letter queue or on-failure destination should stay empty, so a single visible
 * message is worth a look: the alarm fires on the first one, within a minute.
 *
 * No action is attached: notification targets come with monitoring, which can add them to the
 * alarm this returns.
 */
import { Duration } from 'aws-cdk-lib';
import { ComparisonOperator, Stats, TreatMissingData, type Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** An alarm in `scope` that is in ALARM while `queue` holds at least one visible message. */
export function queueNotEmptyAlarm(scope: Construct, id: string, queue: IQueue, description: string): Alarm {
  return queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: Stats.MAXIMUM }).createAlarm(scope, id, {
    alarmDescription: description,
    threshold: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    // SQS stops sending metrics for a queue that has been inactive for hours: that is an empty queue.
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}
