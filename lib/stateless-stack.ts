/**
 * The stateless stack: APIs, functions and schedules (later workflows). It owns no data; it
 * receives the stateful resources as interfaces and only wires constructs together.
 */
import { CfnOutput, CrossStackReferences, ReferenceStrength, RemovalPolicies, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { Billing } from './constructs/billing';
import { DomainEvents } from './constructs/domain-events';
import { Fanout } from './constructs/fanout';
import { HttpApi } from './constructs/http-api';
import { Identity } from './constructs/identity';
import { Notifications } from './constructs/notifications';
import { RealtimeGateway } from './constructs/realtime-gateway';
import { TopicProducers } from './constructs/topic-producers';

export interface StatelessStackProps extends StackProps {
  /** Deployment stage: the WebSocket stage name, reported by the health route. */
  readonly stage: string;
  /** The stateful stack's resources (`StatefulStack`), which this stack uses but does not own. */
  readonly domainTable: ITable;
  readonly realtimeTable: ITable;
  readonly signingSecret: ISecret;
  readonly eventBus: IEventBus;
  readonly domainEventsDeadLetterQueue: IQueue;
  readonly fanoutJobQueue: IQueue;
  readonly fanoutStreamFailures: IQueue;
  readonly chargeQueue: IQueue;
  readonly schedulerDeadLetterQueue: IQueue;
  /** Notices for the notifier (`NotificationQueues.notices`). */
  readonly notificationQueue: IQueue;
  /** The address notification emails are sent from (context `notificationsFromAddress`). */
  readonly notificationsFromAddress: string;
  /**
   * Whether log groups are deleted with the stack (dev-like stages); otherwise they are retained.
   * @default false
   */
  readonly ephemeral?: boolean;
}

export class StatelessStack extends Stack {
  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    const {
      stage,
      domainTable,
      realtimeTable,
      signingSecret,
      eventBus,
      domainEventsDeadLetterQueue,
      fanoutJobQueue,
      fanoutStreamFailures,
      chargeQueue,
      schedulerDeadLetterQueue,
      notificationQueue,
      notificationsFromAddress,
      ephemeral = false,
      ...stackProps
    } = props;
    super(scope, id, stackProps);
    // Strong references (Export / Fn::ImportValue): CloudFormation then refuses to remove a table
    // from the stateful stack while a function here still uses it. Set explicitly because CDK's
    // default is about to change; must precede any child construct.
    CrossStackReferences.of(this).consume(ReferenceStrength.STRONG);

    const httpApi = new HttpApi(this, 'HttpApi', { stage });
    const identity = new Identity(this, 'Identity', { httpApi, domainTable, realtimeTable, signingSecret });
    const realtime = new RealtimeGateway(this, 'RealtimeGateway', {
      stage,
      realtimeTable,
      connectAuthorizer: identity.connectAuthorizer,
    });
    new Fanout(this, 'Fanout', {
      domainTable,
      realtimeTable,
      gateway: realtime,
      jobQueue: fanoutJobQueue,
      streamFailureQueue: fanoutStreamFailures,
    });
    new TopicProducers(this, 'TopicProducers', { httpApi, authorizer: identity.authorizer, domainTable });
    new Billing(this, 'Billing', {
      httpApi,
      authorizer: identity.authorizer,
      domainTable,
      chargeQueue,
      schedulerDeadLetterQueue,
      notificationQueue,
    });
    new Notifications(this, 'Notifications', {
      httpApi,
      authorizer: identity.authorizer,
      domainTable,
      notificationQueue,
      fromAddress: notificationsFromAddress,
    });
    new DomainEvents(this, 'DomainEvents', { domainTable, bus: eventBus, deadLetterQueue: domainEventsDeadLetterQueue });

    if (ephemeral) {
      RemovalPolicies.of(this).destroy({ applyToResourceTypes: ['AWS::Logs::LogGroup'] });
    }

    new CfnOutput(this, 'HttpApiUrl', { value: httpApi.url });
    new CfnOutput(this, 'WebSocketUrl', { value: realtime.url });
  }
}
