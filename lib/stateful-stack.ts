/**
 * The stateful stack: resources that hold data and outlive deployments of the code (DESIGN.md
 * section 2): the tables, the token-signing secret, the domain-event bus with its dead-letter
 * queue, fan-out's queues, billing's charge queue and the notification queue (with the rule that
 * sends it renewal receipts from the bus). Kept apart so the stateless stack can be destroyed and recreated
 * freely. When asked, it also sets up API Gateway's account-level logging role, which the
 * stateless stack's WebSocket stage needs and which outlives any deployment of it.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ApiGatewayLogsRole } from './constructs/api-gateway-logs-role';
import { BillingQueues } from './constructs/billing-queues';
import { DomainEventBus } from './constructs/domain-event-bus';
import { FanoutQueues } from './constructs/fanout-queues';
import { NotificationQueues } from './constructs/notification-queues';
import { SigningKey } from './constructs/signing-key';
import { Storage } from './constructs/storage';

export interface StatefulStackProps extends StackProps {
  /**
   * Whether the stage's data may be destroyed with the stack (dev-like stages). When false the
   * tables are retained and deletion-protected, and the stack is termination-protected.
   * @default false
   */
  readonly ephemeral?: boolean;
  /**
   * Create API Gateway's account-level CloudWatch Logs role (`ApiGatewayLogsRole`): needed once
   * per account and region, on the first deploy, if nothing set it before.
   * @default false
   */
  readonly apiGatewayCloudWatchRole?: boolean;
}

export class StatefulStack extends Stack {
  public readonly domainTable: ITable;
  public readonly realtimeTable: ITable;
  /** The token-signing key (JSON `{"key": ...}`). */
  public readonly signingSecret: ISecret;
  /** The domain-event bus, and the dead-letter queue of the stream mapping that publishes to it. */
  public readonly eventBus: IEventBus;
  public readonly domainEventsDeadLetterQueue: IQueue;
  /** Fan-out's FIFO job queue (hot topics) and the on-failure destination of its stream mapping. */
  public readonly fanoutJobQueue: IQueue;
  public readonly fanoutStreamFailures: IQueue;
  /** Billing's due jobs, and what Scheduler could not deliver to them. */
  public readonly chargeQueue: IQueue;
  public readonly schedulerDeadLetterQueue: IQueue;
  /** Notices for the notifier (`NotificationQueues.notices`); producers send to it. */
  public readonly notificationQueue: IQueue;

  constructor(
    scope: Construct,
    id: string,
    { ephemeral = false, apiGatewayCloudWatchRole = false, ...stackProps }: StatefulStackProps = {},
  ) {
    super(scope, id, { terminationProtection: !ephemeral, ...stackProps });

    const storage = new Storage(this, 'Storage', {
      removalPolicy: ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.domainTable = storage.domainTable;
    this.realtimeTable = storage.realtimeTable;
    this.signingSecret = new SigningKey(this, 'SigningKey', {
      removalPolicy: ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    }).secret;
    const domainEvents = new DomainEventBus(this, 'DomainEvents');
    this.eventBus = domainEvents.bus;
    this.domainEventsDeadLetterQueue = domainEvents.publisherDeadLetterQueue;
    const fanoutQueues = new FanoutQueues(this, 'FanoutQueues');
    this.fanoutJobQueue = fanoutQueues.jobs;
    this.fanoutStreamFailures = fanoutQueues.streamFailures;
    const billingQueues = new BillingQueues(this, 'BillingQueues');
    this.chargeQueue = billingQueues.charges;
    this.schedulerDeadLetterQueue = billingQueues.schedulerDeadLetterQueue;
    this.notificationQueue = new NotificationQueues(this, 'NotificationQueues', { bus: domainEvents.bus }).notices;
    if (apiGatewayCloudWatchRole) {
      new ApiGatewayLogsRole(this, 'ApiGatewayLogsRole');
    }

    new CfnOutput(this, 'DomainTableName', { value: storage.domainTable.tableName });
    new CfnOutput(this, 'RealtimeTableName', { value: storage.realtimeTable.tableName });
    new CfnOutput(this, 'EventBusName', { value: domainEvents.bus.eventBusName });
  }
}
