/**
 * NotificationQueues: the stateful side of notifications (DESIGN.md section 7;
 * docs/notifications.md).
 *
 * - `notices`: the notification queue. Every notice (lambdas/shared/notifications/notices.ts)
 *   arrives here: from the dunning saga (`sqs:sendMessage`), from any function a construct lets
 *   send notices, and renewal receipts from the bus. The notifier takes them. Standard, not FIFO:
 *   notices are independent, and the notifier is idempotent per notice, so a duplicate delivery
 *   creates nothing twice.
 * - `deadLetterQueue`: notices the notifier failed `maxReceiveCount` times (SES refusing for long,
 *   DynamoDB down, a bug), and receipt events EventBridge could not deliver to the queue. The
 *   notifier reads both shapes, so a redrive to `notices` delivers either. Its alarm is the signal.
 * - The receipt rule: `Payment.Succeeded` events of renewals on the domain-event bus go to
 *   `notices` whole (no input transformer), and the notifier makes the receipt (decision 26). It
 *   lives here, beside the queue, because the queue's policy must name the rule: a rule in the
 *   stateless stack would make this stack refer to that one, and the stateless stack already
 *   depends on this one.
 * - The recovery rule: `Subscription.Recovered` events go to `notices` whole too, and the
 *   notifier makes the recovered notice, whichever way dunning was paid (decision 28).
 * - An alarm when the oldest notice has waited 15 minutes: the notifier is down or throttled.
 */
import { Duration } from 'aws-cdk-lib';
import { ComparisonOperator, Stats, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, type IEventBus, type IRule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENT_SOURCE, PAYMENT_SUCCEEDED, SUBSCRIPTION_RECOVERED } from '../../lambdas/shared/events/catalog';
import { DeadLetterQueue } from './dead-letter-queue';
import { integerInRange } from './validate';

export interface NotificationQueuesProps {
  /** The domain-event bus (`DomainEventBus.bus`): renewal receipts come from its `Payment.Succeeded` events. */
  readonly bus: IEventBus;
  /**
   * How long a received notice stays invisible: more than the notifier's timeout (30 s), so a
   * notice is not delivered twice at once, and the pause before a refused email is tried again.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /** Receives of a notice before it is dead-lettered (one an invisibility period). @default 5 */
  readonly maxReceiveCount?: number;
}

export class NotificationQueues extends Construct {
  /** The notification queue: where producers send notices. */
  public readonly notices: IQueue;
  public readonly deadLetterQueue: IQueue;
  /** Sends renewals' `Payment.Succeeded` events to `notices`. */
  public readonly receiptRule: IRule;
  /** Sends `Subscription.Recovered` events to `notices`. */
  public readonly recoveryRule: IRule;
  public readonly alarms: readonly IAlarm[];

  constructor(scope: Construct, id: string, props: NotificationQueuesProps) {
    super(scope, id);
    const owner = `NotificationQueues ${id}`;
    const maxReceiveCount = integerInRange(owner, 'maxReceiveCount', props.maxReceiveCount ?? 5, 1, 1000);
    const visibilityTimeout = props.visibilityTimeout ?? Duration.minutes(3);
    if (visibilityTimeout.toSeconds() < 60 || visibilityTimeout.toSeconds() > Duration.hours(12).toSeconds()) {
      throw new Error(`${owner}: visibilityTimeout must be from 1 minute (above the notifier's timeout) to 12 hours (the SQS maximum)`);
    }

    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      holds:
        'notices the notifier failed repeatedly, and receipt and recovery events EventBridge could not deliver to the notification queue',
    });
    const notices = new Queue(this, 'Notices', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Dunning's notices must survive a notifier outage of days; 14 days is the SQS maximum.
      retentionPeriod: Duration.days(14),
      visibilityTimeout,
      deadLetterQueue: { queue: dlq.queue, maxReceiveCount },
    });

    this.receiptRule = new Rule(this, 'Receipts', {
      eventBus: props.bus,
      description: 'Renewal receipts: a paid renewal (Payment.Succeeded) to the notification queue',
      eventPattern: {
        source: [EVENT_SOURCE],
        detailType: [PAYMENT_SUCCEEDED],
        detail: { purpose: ['subscription'], reason: ['renewal'] },
      },
      targets: [new SqsQueue(notices, { deadLetterQueue: dlq.queue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });

    this.recoveryRule = new Rule(this, 'Recoveries', {
      eventBus: props.bus,
      description: 'Recovered notices: a past_due subscription paid (Subscription.Recovered) to the notification queue',
      eventPattern: { source: [EVENT_SOURCE], detailType: [SUBSCRIPTION_RECOVERED] },
      targets: [new SqsQueue(notices, { deadLetterQueue: dlq.queue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });

    const waiting = notices
      .metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: Stats.MAXIMUM })
      .createAlarm(this, 'Waiting', {
        alarmDescription: 'A notice has waited 15 minutes in the notification queue: the notifier is failing, throttled or down.',
        threshold: Duration.minutes(15).toSeconds(),
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });

    this.notices = notices;
    this.deadLetterQueue = dlq.queue;
    this.alarms = [dlq.alarm, waiting];
  }
}
