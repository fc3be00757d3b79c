/**
 * DeadLetterQueue: an SQS queue that only receives what something else could not process (a
 * redrive target or an on-failure destination), with an alarm as soon as anything is in it
 * (DESIGN.md section 2: every queue has a DLQ, every DLQ an alarm on its depth).
 *
 * Encrypted with SQS-managed keys (SSE-SQS: no KMS key to grant or pay for), SSL-only, 14 days'
 * retention (the SQS maximum) to leave time to look. The alarm is `queueNotEmptyAlarm` (no action
 * yet: notification targets come with the monitoring issue, which can add them through `alarm`).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queueNotEmptyAlarm } from './alarms';

export interface DeadLetterQueueProps {
  /**
   * What ends up in the queue and who puts it there, in a few words (e.g. "stream records the
   * domain-event publisher could not publish"). Used in the alarm description and the cdk-nag reason.
   */
  readonly holds: string;
  /** @default Duration.days(14) */
  readonly retentionPeriod?: Duration;
}

export class DeadLetterQueue extends Construct {
  public readonly queue: IQueue;
  /** In alarm while the queue holds at least one message. */
  public readonly alarm: IAlarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    if (props.holds.trim().length < 10) {
      throw new Error(`DeadLetterQueue ${id}: "holds" must say what the queue receives (at least 10 characters)`);
    }
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    if (retentionPeriod.toSeconds() < 60 || retentionPeriod.toSeconds() > Duration.days(14).toSeconds()) {
      throw new Error(`DeadLetterQueue ${id}: retentionPeriod must be from 1 minute to 14 days (SQS limits)`);
    }

    const queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        `This queue is itself a dead-letter queue (it holds ${props.holds}); a DLQ for it would only move ` +
        "the problem, and its depth alarm is the safeguard. cdk-nag recognises a DLQ only when another queue's " +
        "RedrivePolicy or a function's DeadLetterConfig names it, not as an event-source mapping's on-failure destination.",
    });

    this.alarm = queueNotEmptyAlarm(this, 'DepthAlarm', queue, `Dead-letter queue not empty: it holds ${props.holds}.`);
    this.queue = queue;
  }
}
