import { describe, expect, it } from 'vitest';
import type { IConstruct } from 'constructs';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp, stackIds } from '../../lib/app';
import { SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

// The one synth of the suite with CDK's built-in CloudFormation validation on, as `cdk synth` runs it.
const dev = synthApp({ stage: 'dev', cloudFormationValidation: true });
const stacks = [dev.stateful, dev.stateless];

interface Acknowledgment {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every acknowledgment (cdk-nag v3 suppression) recorded in the construct tree. */
function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', { timeout: SYNTH_TIMEOUT }, () => {
  it.each(stacks.map((s) => [s.stackName, s] as const))('reports no violation, error or warning, in %s', (_, stack) => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources[0].constructPath}`)).toEqual([]);
  });

  it.each(stacks.map((s) => [s.stackName, s] as const))('leaves no CDK error or warning annotation in %s', (_, stack) => {
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  const CONNECTIONS = 'arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<RealtimeGatewayApiEE6FD42E>/dev/*/@connections/*';
  const DUE_SCHEDULES =
    'arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/RealtimedevStateless-Billing-DueJobs-F5F39D51/*';
  const DUNNING_EXECUTIONS =
    'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"BillingDunningStateMachine2497A1D1"}]}]}:*';

  it('acknowledges only the findings we decided on, each with a reason', () => {
    const found = acknowledgments(dev.app);
    const summary = found.map(({ path, id }) => `${id} ${path}`).sort();
    expect(summary).toEqual(
      [
        // Node.js 22 is the project runtime, not the newest Lambda offers.
        'AwsSolutions-L1 Realtime-dev-Stateless/HttpApi/Health',
        'AwsSolutions-L1 Realtime-dev-Stateless/Identity/Auth',
        'AwsSolutions-L1 Realtime-dev-Stateless/Identity/Authorizer',
        'AwsSolutions-L1 Realtime-dev-Stateless/Identity/ConnectAuthorizer',
        'AwsSolutions-L1 Realtime-dev-Stateless/Identity/Ticket',
        'AwsSolutions-L1 Realtime-dev-Stateless/RealtimeGateway/Connect',
        'AwsSolutions-L1 Realtime-dev-Stateless/RealtimeGateway/Default',
        'AwsSolutions-L1 Realtime-dev-Stateless/RealtimeGateway/Disconnect',
        // Public health check and the routes that hand out tokens (the caller has none yet);
        // WebSocket routes that cannot carry an authorizer ($connect has the ticket authorizer).
        'AwsSolutions-APIG4 Realtime-dev-Stateless/HttpApi/Api/GET--api--v1--health',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/HttpApi/Api/POST--api--v1--auth--signup',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/HttpApi/Api/POST--api--v1--auth--login',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/HttpApi/Api/POST--api--v1--auth--refresh',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/RealtimeGateway/Api/$default-Route',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/RealtimeGateway/Api/$disconnect-Route',
        // HMAC signing key: rotation needs dual-key verification first (docs/auth.md).
        'AwsSolutions-SMG4 Realtime-dev-Stateful/SigningKey/Secret',
        // Domain events: the publisher's runtime; dynamodb:ListStreams, which has no resource-level
        // permissions; and its stream mapping's on-failure queue, itself a dead-letter queue.
        'AwsSolutions-L1 Realtime-dev-Stateless/DomainEvents/Publisher',
        'AwsSolutions-IAM5[Resource::*] Realtime-dev-Stateless/DomainEvents/PublisherRole',
        'AwsSolutions-SQS3 Realtime-dev-Stateful/DomainEvents/PublisherDeadLetterQueue/Queue',
        // Real-time core: the protocol routes (only $connect can authorize), the functions that
        // push frames (@connections/* of this stage: connection ids are known at run time only),
        // fan-out's stream read (ListStreams) and its dead-letter queues.
        'AwsSolutions-L1 Realtime-dev-Stateless/RealtimeGateway/Subscribe',
        'AwsSolutions-L1 Realtime-dev-Stateless/RealtimeGateway/Unsubscribe',
        'AwsSolutions-L1 Realtime-dev-Stateless/RealtimeGateway/Ping',
        'AwsSolutions-L1 Realtime-dev-Stateless/Fanout/Stream',
        'AwsSolutions-L1 Realtime-dev-Stateless/Fanout/Worker',
        'AwsSolutions-L1 Realtime-dev-Stateless/TopicProducers/Publish',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/RealtimeGateway/Api/subscribe-Route',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/RealtimeGateway/Api/unsubscribe-Route',
        'AwsSolutions-APIG4 Realtime-dev-Stateless/RealtimeGateway/Api/ping-Route',
        `AwsSolutions-IAM5[Resource::${CONNECTIONS}] Realtime-dev-Stateless/RealtimeGateway/SubscribeRole`,
        // Every frame route may close a connection far over its frame limit (@connections DELETE).
        `AwsSolutions-IAM5[Resource::${CONNECTIONS}] Realtime-dev-Stateless/RealtimeGateway/DefaultRole`,
        `AwsSolutions-IAM5[Resource::${CONNECTIONS}] Realtime-dev-Stateless/RealtimeGateway/UnsubscribeRole`,
        `AwsSolutions-IAM5[Resource::${CONNECTIONS}] Realtime-dev-Stateless/RealtimeGateway/PingRole`,
        `AwsSolutions-IAM5[Resource::${CONNECTIONS}] Realtime-dev-Stateless/Fanout/StreamRole`,
        `AwsSolutions-IAM5[Resource::${CONNECTIONS}] Realtime-dev-Stateless/Fanout/WorkerRole`,
        'AwsSolutions-IAM5[Resource::*] Realtime-dev-Stateless/Fanout/StreamRole',
        'AwsSolutions-SQS3 Realtime-dev-Stateful/FanoutQueues/JobsDeadLetterQueue',
        'AwsSolutions-SQS3 Realtime-dev-Stateful/FanoutQueues/StreamFailures/Queue',
        // Billing: the public plan list; schedules of the due-job group, named at run time; the
        // reconciliation schedule's invoke grant (the function and its versions); the dead-letter queues.
        'AwsSolutions-APIG4 Realtime-dev-Stateless/HttpApi/Api/GET--api--v1--subscriptions--plans',
        'AwsSolutions-L1 Realtime-dev-Stateless/Billing/Subscriptions',
        'AwsSolutions-L1 Realtime-dev-Stateless/Billing/Payments',
        'AwsSolutions-L1 Realtime-dev-Stateless/Billing/ChargeWorker',
        'AwsSolutions-L1 Realtime-dev-Stateless/Billing/Reconcile',
        `AwsSolutions-IAM5[Resource::${DUE_SCHEDULES}] Realtime-dev-Stateless/Billing/SubscriptionsRole`,
        `AwsSolutions-IAM5[Resource::${DUE_SCHEDULES}] Realtime-dev-Stateless/Billing/PaymentsRole`,
        `AwsSolutions-IAM5[Resource::${DUE_SCHEDULES}] Realtime-dev-Stateless/Billing/ChargeWorkerRole`,
        'AwsSolutions-IAM5[Resource::<BillingReconcile645A16C0.Arn>:*] Realtime-dev-Stateless/Billing/ReconcileScheduleRole',
        // Dunning: its step function; the state machine's invoke grant (the function and its
        // versions) and its tracing/logging actions on "*"; executions named at run time, stopped by the routes.
        'AwsSolutions-L1 Realtime-dev-Stateless/Billing/DunningStep',
        `AwsSolutions-IAM5[Resource::${DUE_SCHEDULES}] Realtime-dev-Stateless/Billing/DunningStepRole`,
        'AwsSolutions-IAM5[Resource::*] Realtime-dev-Stateless/Billing/Dunning/StateMachine/Role',
        'AwsSolutions-IAM5[Resource::<BillingDunningStep138D51DF.Arn>:*] Realtime-dev-Stateless/Billing/Dunning/StateMachine/Role',
        `AwsSolutions-IAM5[Resource::${DUNNING_EXECUTIONS}] Realtime-dev-Stateless/Billing/PaymentsRole`,
        `AwsSolutions-IAM5[Resource::${DUNNING_EXECUTIONS}] Realtime-dev-Stateless/Billing/SubscriptionsRole`,
        'AwsSolutions-SQS3 Realtime-dev-Stateful/BillingQueues/ChargesDeadLetter/Queue',
        'AwsSolutions-SQS3 Realtime-dev-Stateful/BillingQueues/SchedulerDeadLetter/Queue',
        // Notifications: the notifier and the routes' function; the notification dead-letter queue.
        'AwsSolutions-L1 Realtime-dev-Stateless/Notifications/Notifier',
        'AwsSolutions-L1 Realtime-dev-Stateless/Notifications/Api',
        'AwsSolutions-SQS3 Realtime-dev-Stateful/NotificationQueues/DeadLetter/Queue',
      ].sort(),
    );
    for (const { id, path, reason } of found) {
      expect(reason.length, `${id} on ${path}`).toBeGreaterThan(40);
    }
  });

  it('is wired into buildApp, so a new finding fails synthesis', () => {
    const app = buildApp({ stage: 'dev', context: SKIP_BUNDLING });
    const stateful = app.node.findChild(stackIds('dev').stateful);
    // No point-in-time recovery: AwsSolutions-DDB3.
    new Table(stateful, 'Careless', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    expect(() => app.synth()).toThrow(/AwsSolutions-DDB3/);
  });
});
