/**
 * Notifications (DESIGN.md section 7; docs/notifications.md): one notifier for every notice, and
 * the user's notification routes.
 *
 * - `Notifier` takes the notification queue (batches of 10, partial batch responses, bounded
 *   concurrency): an in-app notification item in the domain table (fan-out sends
 *   `notification.created` from the stream) and an email through SES v2, each at most once per
 *   notice. It reads users (identity) and subscriptions (billing, for receipts) from the same table.
 * - `Sender`: the `AWS::SES::EmailIdentity` every email is sent from; its address comes from CDK
 *   context (`notificationsFromAddress`, lib/app.ts). The notifier may `ses:SendEmail` as this
 *   identity and nothing else. SES verifies the address by email after deploy (a domain identity
 *   with DKIM is the production choice; docs/notifications.md).
 * - `Api`: GET /api/v1/notifications and POST /api/v1/notifications/read, behind the authorizer.
 * - Alarms: an email whose outcome is unknown (sent at most once, so it may be lost) and a
 *   message dropped because it is not a notice (a producer's bug).
 *
 * Producers: `bindNoticeSender(fn)` gives a function the queue's URL (NOTIFICATION_QUEUE_URL) and
 * `sqs:SendMessage` on it; `grantSendNotices(grantee)` gives the permission alone (the dunning
 * state machine, which names the queue in its definition).
 *
 * Relies on: the domain table (`Storage`), the notification queue (`NotificationQueues`, stateful
 * stack), HttpApi.addRoute and the HTTP authorizer (`Identity`).
 */
import { Duration } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { ComparisonOperator, Stats, TreatMissingData, type IAlarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { EmailIdentity, Identity, type IEmailIdentity } from 'aws-cdk-lib/aws-ses';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTIFICATION_QUEUE_URL_ENV } from '../../lambdas/shared/notifications/sqs-notices';
import { AppFunction } from './app-function';
import type { IHttpApiRoutes } from './http-api';
import { integerInRange } from './validate';

/** A plain address SES can verify: local part, @, a dotted domain; no display name, no spaces. */
const EMAIL_ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

export interface NotificationsProps {
  /** The API the notification routes are added to (`HttpApi`). */
  readonly httpApi: IHttpApiRoutes;
  /** The authorizer of both routes (`Identity.authorizer`). */
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** Notifications and their claims; users and subscriptions are read from it too. */
  readonly domainTable: ITable;
  /** The notification queue (`NotificationQueues.notices`). */
  readonly notificationQueue: IQueue;
  /** The sender of every email (`noreply@example.com`); becomes the SES email identity. */
  readonly fromAddress: string;
  /** Notifier instances at most (SQS event source maximum concurrency, 2-1000). @default 5 */
  readonly notifierConcurrency?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class Notifications extends Construct {
  public readonly notifier: IFunction;
  public readonly apiFunction: IFunction;
  /** The identity emails are sent from. */
  public readonly sender: IEmailIdentity;
  /** The notification queue, for producers. */
  public readonly queue: IQueue;
  public readonly alarms: readonly IAlarm[];

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    const owner = `Notifications ${id}`;
    if (!EMAIL_ADDRESS.test(props.fromAddress)) {
      throw new Error(
        `${owner}: fromAddress must be a plain email address such as noreply@example.com, got ${JSON.stringify(props.fromAddress)}`,
      );
    }
    const notifierConcurrency = integerInRange(owner, 'notifierConcurrency', props.notifierConcurrency ?? 5, 2, 1000);

    const sender = new EmailIdentity(this, 'Sender', { identity: Identity.email(props.fromAddress) });

    const notifier = new AppFunction(this, 'Notifier', {
      entry: 'notifications/notifier.ts',
      serviceName: 'notifications',
      description: 'Delivers notices: an in-app notification and an email, each at most once per notice',
      // A batch of 10: a transaction, two reads, a claim, one SendEmail (10 s at most) and a record each.
      timeout: Duration.seconds(30),
      logRetention: props.logRetention,
    });
    notifier.bindTable(props.domainTable, 'RW', 'DOMAIN_TABLE_NAME');
    // The identity's name is its address; the reference also deploys the identity first.
    notifier.bindEnvironment('NOTIFICATIONS_FROM_ADDRESS', sender.emailIdentityName);
    // SendEmail only (not SendRawEmail, which grantSendEmail adds), as this identity only.
    sender.grant(notifier, 'ses:SendEmail');
    notifier.addEventSource(
      new SqsEventSource(props.notificationQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: notifierConcurrency,
      }),
    );

    const api = new AppFunction(this, 'Api', {
      entry: 'http/notifications.ts',
      serviceName: 'notifications',
      description: '/api/v1/notifications and /api/v1/notifications/read',
      logRetention: props.logRetention,
    });
    api.bindTable(props.domainTable, 'RW', 'DOMAIN_TABLE_NAME');
    props.httpApi.addRoute({
      path: '/api/v1/notifications',
      methods: [apigwv2.HttpMethod.GET],
      handler: api,
      authorizer: props.authorizer,
    });
    props.httpApi.addRoute({
      path: '/api/v1/notifications/read',
      methods: [apigwv2.HttpMethod.POST],
      handler: api,
      authorizer: props.authorizer,
    });

    const countAlarm = (alarmId: string, metricName: string, description: string) =>
      notifier.appMetric(metricName, { period: Duration.minutes(5), statistic: Stats.SUM }).createAlarm(this, alarmId, {
        alarmDescription: description,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });

    this.notifier = notifier;
    this.apiFunction = api;
    this.sender = sender;
    this.queue = props.notificationQueue;
    this.alarms = [
      countAlarm(
        'EmailOutcomeUnknown',
        'NoticeEmail_unknown',
        'SES SendEmail timed out or failed with a 5xx: the email may not have been sent, and is not sent again (at most once). ' +
          "The notice's claim item records it (emailStatus unknown).",
      ),
      countAlarm(
        'NoticeDropped',
        'NoticeDropped',
        'A message on the notification queue was not a notice: a producer sends a malformed one.',
      ),
    ];
  }

  /** Lets `grantee` send notices to the queue (sqs:SendMessage on it only). */
  public grantSendNotices(grantee: IGrantable): Grant {
    return this.queue.grantSendMessages(grantee);
  }

  /** Gives `fn` the queue's URL in NOTIFICATION_QUEUE_URL and lets it send notices (sqs-notices.ts). */
  public bindNoticeSender(fn: AppFunction): AppFunction {
    fn.bindEnvironment(NOTIFICATION_QUEUE_URL_ENV, this.queue.queueUrl);
    this.grantSendNotices(fn);
    return fn;
  }
}
