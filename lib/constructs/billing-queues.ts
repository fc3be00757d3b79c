/**
 * BillingQueues: the stateful side of billing (DESIGN.md section 5).
 *
 * - `charges`: the charge queue. Every due job (a renewal, the end of a period cancelled at its
 *   end, the expiry of an `incomplete` subscription) arrives here, from its one-time Scheduler
 *   schedule or from the daily reconciliation, and the charge worker takes it. Standard, not
 *   FIFO: jobs are independent and the worker is idempotent per subscription and due time, so a
 *   duplicate delivery does nothing (billing-service.ts).
 * - `chargesDeadLetterQueue`: jobs the worker failed `maxReceiveCount` times (providers down for
 *   long, a bug). Its alarm is the signal; the reconciliation re-enqueues an overdue subscription
 *   anyway the next day.
 * - `schedulerDeadLetterQueue`: what Scheduler could not deliver to the charge queue after its
 *   retries (the queue's policy, a deleted queue).
 */
import { Duration } from 'aws-cdk-lib';
import type { IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue';
import { integerInRange } from './validate';

export interface BillingQueuesProps {
  /**
   * How long a received job stays invisible: at least the worker's timeout (a charge with
   * failover across providers), so a job is not run twice at once.
   * @default Duration.minutes(2)
   */
  readonly visibilityTimeout?: Duration;
  /** Receives of a job before it is dead-lettered (about one an invisibility period). @default 10 */
  readonly maxReceiveCount?: number;
}

export class BillingQueues extends Construct {
  public readonly charges: IQueue;
  public readonly chargesDeadLetterQueue: IQueue;
  public readonly schedulerDeadLetterQueue: IQueue;
  public readonly alarms: readonly IAlarm[];

  constructor(scope: Construct, id: string, props: BillingQueuesProps = {}) {
    super(scope, id);
    const maxReceiveCount = integerInRange(`BillingQueues ${id}`, 'maxReceiveCount', props.maxReceiveCount ?? 10, 1, 1000);
    const chargesDlq = new DeadLetterQueue(this, 'ChargesDeadLetter', {
      holds: 'due billing jobs (renewals, cancellations, expiries) the charge worker failed repeatedly',
    });
    const schedulerDlq = new DeadLetterQueue(this, 'SchedulerDeadLetter', {
      holds: 'due billing jobs EventBridge Scheduler could not deliver to the charge queue',
    });
    this.charges = new Queue(this, 'Charges', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(2),
      deadLetterQueue: { queue: chargesDlq.queue, maxReceiveCount },
    });
    this.chargesDeadLetterQueue = chargesDlq.queue;
    this.schedulerDeadLetterQueue = schedulerDlq.queue;
    this.alarms = [chargesDlq.alarm, schedulerDlq.alarm];
  }
}
