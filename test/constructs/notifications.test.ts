/**
 * The notification pipeline's infrastructure (lib/constructs/notification-queues.ts,
 * notifications.ts): the queue with its dead-letter queue and alarms, the receipt rule from the
 * bus, the notifier's event source and its one SES permission, the sender identity from context,
 * the routes behind the authorizer, and the grant producers get.
 */
import { describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AppFunction } from '../../lib/constructs/app-function';
import type { AddRouteOptions, IHttpApiRoutes } from '../../lib/constructs/http-api';
import { NotificationQueues } from '../../lib/constructs/notification-queues';
import { Notifications, type NotificationsProps } from '../../lib/constructs/notifications';
import { resourcesOf, SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

const dev = synthApp({ stage: 'dev', context: SKIP_BUNDLING });

/** The one resource of `type` whose logical id starts with `prefix`. */
function only(template: Template, type: string, prefix: string): [string, { Properties?: Record<string, unknown> }] {
  const found = resourcesOf(template, type).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]!;
}

function fixture() {
  const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
  const routes: AddRouteOptions[] = [];
  const props: NotificationsProps = {
    httpApi: {
      addRoute: (options) => {
        routes.push(options);
        return [];
      },
    } satisfies IHttpApiRoutes,
    authorizer: { bind: () => ({ authorizationType: 'CUSTOM', authorizerId: 'auth' }) } as unknown as apigwv2.IHttpRouteAuthorizer,
    domainTable: new Table(stack, 'Domain', { partitionKey: { name: 'pk', type: AttributeType.STRING } }),
    notificationQueue: new Queue(stack, 'Notices'),
    fromAddress: 'noreply@example.com',
  };
  return { stack, props, routes };
}

describe('NotificationQueues (stateful stack)', { timeout: SYNTH_TIMEOUT }, () => {
  it('has the notification queue, encrypted and SSL-only, dead-lettering after 5 receives', () => {
    const [, queue] = only(dev.statefulTemplate, 'AWS::SQS::Queue', 'NotificationQueuesNotices');
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      VisibilityTimeout: 180,
      RedrivePolicy: {
        maxReceiveCount: 5,
        deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^NotificationQueuesDeadLetter/), 'Arn'] },
      },
    });
  });

  it('alarms on a dead-lettered notice and on a notice waiting 15 minutes', () => {
    const alarms = resourcesOf(dev.statefulTemplate, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('NotificationQueues'));
    expect(alarms.map(([, a]) => [a.Properties?.MetricName, a.Properties?.Threshold]).sort()).toEqual([
      ['ApproximateAgeOfOldestMessage', 900],
      ['ApproximateNumberOfMessagesVisible', 1],
    ]);
  });

  it("sends renewals' Payment.Succeeded events from the bus to the queue whole, dead-lettering what it cannot deliver", () => {
    const [, rule] = only(dev.statefulTemplate, 'AWS::Events::Rule', 'NotificationQueuesReceipts');
    expect(rule.Properties).toMatchObject({
      EventBusName: { Ref: expect.stringMatching(/^DomainEventsBus/) },
      EventPattern: {
        source: ['realtime-platform'],
        'detail-type': ['Payment.Succeeded'],
        detail: { purpose: ['subscription'], reason: ['renewal'] },
      },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [expect.stringMatching(/^NotificationQueuesNotices/), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^NotificationQueuesDeadLetter/), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        },
      ],
    });
    expect(rule.Properties?.Targets).toEqual([expect.not.objectContaining({ Input: expect.anything() })]);
    // Only this rule may send to the queue (the policy names it).
    dev.statefulTemplate.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Match.stringLikeRegexp('^NotificationQueuesNotices') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^NotificationQueuesReceipts'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('refuses limits SQS cannot honour', () => {
    const stack = new Stack(new App(), 'Test');
    const bus = new EventBus(stack, 'Bus');
    expect(() => new NotificationQueues(stack, 'A', { bus, maxReceiveCount: 0 })).toThrow(/maxReceiveCount/);
    expect(() => new NotificationQueues(stack, 'B', { bus, visibilityTimeout: Duration.seconds(30) })).toThrow(/visibilityTimeout/);
  });
});

describe('Notifications (stateless stack)', { timeout: SYNTH_TIMEOUT }, () => {
  it('sends from an SES email identity whose address comes from context', () => {
    dev.statelessTemplate.resourcePropertiesCountIs('AWS::SES::EmailIdentity', { EmailIdentity: 'noreply@example.com' }, 1);
    const other = synthApp({ stage: 'dev', context: { ...SKIP_BUNDLING, notificationsFromAddress: 'alerts@mail.example.org' } });
    other.statelessTemplate.resourcePropertiesCountIs('AWS::SES::EmailIdentity', { EmailIdentity: 'alerts@mail.example.org' }, 1);
    expect(() => synthApp({ stage: 'dev', context: { ...SKIP_BUNDLING, notificationsFromAddress: 'Ops <ops@example.com>' } })).toThrow(
      /fromAddress must be a plain email address/,
    );
    expect(() => synthApp({ stage: 'dev', context: { ...SKIP_BUNDLING, notificationsFromAddress: 42 } })).toThrow(
      /notificationsFromAddress=42: expected a string/,
    );
  });

  it('runs the notifier on the queue in batches of 10 with partial batch responses and bounded concurrency', () => {
    const [notifierId] = only(dev.statelessTemplate, 'AWS::Lambda::Function', 'NotificationsNotifier');
    dev.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: notifierId },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('NotificationQueuesNotices') },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    dev.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 30,
      Environment: {
        Variables: Match.objectLike({
          DOMAIN_TABLE_NAME: Match.anyValue(),
          NOTIFICATIONS_FROM_ADDRESS: { Ref: Match.stringLikeRegexp('^NotificationsSender') },
          POWERTOOLS_SERVICE_NAME: 'notifications',
        }),
      },
    });
  });

  it('lets the notifier send email as the sender identity only: ses:SendEmail on its ARN, no wildcard, no raw email', () => {
    const [senderId] = only(dev.statelessTemplate, 'AWS::SES::EmailIdentity', 'NotificationsSender');
    const statements = resourcesOf(dev.statelessTemplate, 'AWS::IAM::Policy').flatMap(
      ([, p]) => (p.Properties!.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
    );
    const ses = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('ses:')));
    expect(ses).toHaveLength(1);
    expect(ses[0]!.Action).toBe('ses:SendEmail');
    expect(JSON.stringify(ses[0]!.Resource)).toContain(`:identity/",{"Ref":"${senderId}"}`);
    expect(JSON.stringify(ses[0]!.Resource)).not.toContain('*');
  });

  it('serves GET /notifications and POST /notifications/read from one function, behind the authorizer', () => {
    const [apiId] = only(dev.statelessTemplate, 'AWS::Lambda::Function', 'NotificationsApi');
    for (const routeKey of ['GET /api/v1/notifications', 'POST /api/v1/notifications/read']) {
      dev.statelessTemplate.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, AuthorizationType: 'CUSTOM' });
    }
    const integrations = resourcesOf(dev.statelessTemplate, 'AWS::ApiGatewayV2::Integration').filter(([, i]) =>
      JSON.stringify(i.Properties?.IntegrationUri).includes(apiId),
    );
    // One integration per route, both to the one function.
    expect(integrations).toHaveLength(2);
  });

  it('alarms on an email of unknown outcome and on a dropped message', () => {
    const alarms = resourcesOf(dev.statelessTemplate, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('Notifications'));
    expect(alarms.map(([, a]) => a.Properties?.MetricName).sort()).toEqual(['NoticeDropped', 'NoticeEmail_unknown']);
  });

  it('gives a producer the queue URL and sqs:SendMessage on the notification queue', () => {
    const { stack, props, routes } = fixture();
    const notifications = new Notifications(stack, 'Notifications', props);
    expect(routes.map((r) => `${r.methods?.join()} ${r.path}`)).toEqual(['GET /api/v1/notifications', 'POST /api/v1/notifications/read']);
    const producer = new AppFunction(stack, 'Producer', { entry: 'http/health.ts', serviceName: 'test' });
    notifications.bindNoticeSender(producer);
    const template = Template.fromStack(stack);
    const [queueId] = only(template, 'AWS::SQS::Queue', 'Notices');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ NOTIFICATION_QUEUE_URL: { Ref: queueId } }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^ProducerRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']), Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } }),
        ]),
      },
    });
  });

  it('refuses a sender that is not a plain address and a concurrency SQS cannot honour', () => {
    const { stack, props } = fixture();
    for (const fromAddress of ['', 'noreply', 'no reply@example.com', 'a@b', 'Ops <ops@example.com>']) {
      expect(() => new Notifications(stack, `N${fromAddress.length}${Math.random()}`, { ...props, fromAddress })).toThrow(/fromAddress/);
    }
    expect(() => new Notifications(stack, 'C', { ...props, notifierConcurrency: 1 })).toThrow(/notifierConcurrency/);
  });
});
