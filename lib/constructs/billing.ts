/**
 * Billing (DESIGN.md section 5; docs/billing.md): plans, subscribe, status, cancel, payment
 * method, payments and their history; renewals by EventBridge Scheduler.
 *
 * - `Subscriptions`: GET /subscriptions/plans (public), POST subscribe, GET status, POST cancel,
 *   PUT payment-method. `Payments`: POST /payments/process, GET /payments/history.
 * - Due jobs: a one-time schedule per subscription and due time, in `scheduleGroup`, created by
 *   the functions at run time (`at()`, flexible window off, `ActionAfterCompletion: DELETE`),
 *   sending the job to the charge queue as `schedulerRole`, with a retry policy and the
 *   scheduler dead-letter queue. `ChargeWorker` takes the jobs (partial batch responses).
 * - Dunning: a declined renewal starts the `Dunning` saga (its own construct, with the step
 *   function made here); the charge worker starts executions, the routes that end dunning (pay,
 *   payment method, cancel) stop them.
 * - `Reconcile`: a daily schedule (cron) runs it; it queries the domain table's due index for
 *   overdue subscriptions and enqueues them: the safety net for a schedule that was never
 *   created or never fired.
 *
 * Relies on: the domain table with its due index (`Storage`), the queues of `BillingQueues` and the
 * notification queue (stateful stack), HttpApi.addRoute and the HTTP authorizer (`Identity`).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleGroup, type IScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DUE_INDEX } from '../../lambdas/shared/billing/dynamo-subscriptions';
import { AppFunction } from './app-function';
import { Dunning } from './dunning';
import type { IHttpApiRoutes } from './http-api';
import { acknowledgeWildcardResources } from './nag';
import { integerInRange } from './validate';

export interface BillingProps {
  /** The API the billing routes are added to (`HttpApi`). */
  readonly httpApi: IHttpApiRoutes;
  /** The authorizer of every route but the plan list (`Identity.authorizer`). */
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** Subscriptions, payments, charge claims, breakers, idempotency records; with the due index. */
  readonly domainTable: ITable;
  /** Due jobs (`BillingQueues.charges`). */
  readonly chargeQueue: IQueue;
  /** What Scheduler cannot deliver to the charge queue (`BillingQueues.schedulerDeadLetterQueue`). */
  readonly schedulerDeadLetterQueue: IQueue;
  /** Where the dunning saga sends its notices (`NotificationQueues.notices`). */
  readonly notificationQueue: IQueue;
  /**
   * When the daily reconciliation runs, as a cron expression in UTC.
   * @default 'cron(15 3 * * ? *)' (03:15 UTC)
   */
  readonly reconcileSchedule?: string;
  /** Charge worker instances at most (SQS event source maximum concurrency). @default 20 */
  readonly workerConcurrency?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

export class Billing extends Construct {
  public readonly subscriptionsFunction: IFunction;
  public readonly paymentsFunction: IFunction;
  public readonly chargeWorker: IFunction;
  public readonly reconcileFunction: IFunction;
  /** The group of every due-job schedule. */
  public readonly scheduleGroup: IScheduleGroup;
  /** The role Scheduler assumes to send due jobs to the charge queue. */
  public readonly schedulerRole: IRole;
  /** The dunning saga. */
  public readonly dunning: Dunning;

  constructor(scope: Construct, id: string, props: BillingProps) {
    super(scope, id);
    const owner = `Billing ${id}`;
    const workerConcurrency = integerInRange(owner, 'workerConcurrency', props.workerConcurrency ?? 20, 2, 1000);
    const reconcileSchedule = props.reconcileSchedule ?? 'cron(15 3 * * ? *)';
    if (!/^cron\(.+\)$/.test(reconcileSchedule)) throw new Error(`${owner}: reconcileSchedule must be a cron(...) expression`);

    const scheduleGroup = new ScheduleGroup(this, 'DueJobs');
    const schedulerRole = new Role(this, 'SchedulerRole', {
      // Only schedules of this account may use the role (confused deputy).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      description: 'EventBridge Scheduler sends billing due jobs to the charge queue',
    });
    props.chargeQueue.grantSendMessages(schedulerRole);
    props.schedulerDeadLetterQueue.grantSendMessages(schedulerRole);

    const billingFunction = (fnId: string, entry: string, description: string, timeout?: Duration) => {
      const fn = new AppFunction(this, fnId, { entry, serviceName: 'billing', description, timeout, logRetention: props.logRetention });
      fn.bindTable(props.domainTable, 'RW', 'DOMAIN_TABLE_NAME');
      return fn;
    };
    /** Creates and deletes due-job schedules, or sends a job due now straight to the queue. */
    const bindDueJobs = (fn: AppFunction) => {
      fn.bindEnvironment('DUE_SCHEDULE_GROUP', scheduleGroup.scheduleGroupName);
      fn.bindEnvironment('CHARGE_QUEUE_ARN', props.chargeQueue.queueArn);
      fn.bindEnvironment('CHARGE_QUEUE_URL', props.chargeQueue.queueUrl);
      fn.bindEnvironment('SCHEDULER_ROLE_ARN', schedulerRole.roleArn);
      fn.bindEnvironment('SCHEDULER_DLQ_ARN', props.schedulerDeadLetterQueue.queueArn);
      const reason =
        'Due-job schedules are created at run time, one per subscription and due time, with names not known at ' +
        'deploy time: the grant covers the schedules of this one group only (the ARN names the group).';
      // Both grants name the same resource: one acknowledgment covers them.
      scheduleGroup.grantDeleteSchedules(fn);
      acknowledgeWildcardResources(fn.role!, scheduleGroup.grantWriteSchedules(fn), reason);
      schedulerRole.grantPassRole(fn.grantPrincipal);
      props.chargeQueue.grantSendMessages(fn);
    };

    const dunningStep = billingFunction(
      'DunningStep',
      'billing/dunning-step.ts',
      'Runs a step of the dunning saga: a retry, the expiry, the notices to send',
      Duration.seconds(60),
    );
    bindDueJobs(dunningStep);
    const dunning = new Dunning(this, 'Dunning', {
      stepFunction: dunningStep,
      notificationQueue: props.notificationQueue,
      logRetention: props.logRetention,
    });
    /** Starts (the charge worker) or stops (the routes) sagas. */
    const bindDunning = (fn: AppFunction, action: 'start' | 'stop') => {
      fn.bindEnvironment('DUNNING_STATE_MACHINE_ARN', dunning.stateMachine.stateMachineArn);
      if (action === 'start') dunning.stateMachine.grantStartExecution(fn);
      else
        acknowledgeWildcardResources(
          fn.role!,
          dunning.stateMachine.grantExecution(fn, 'states:StopExecution'),
          'Executions are named per subscription and period at run time: the grant covers the executions of the dunning state machine only (the ARN names it).',
        );
    };

    // A charge may fail over across providers: more than a plain request, well under API Gateway's 29 s.
    const subscriptions = billingFunction(
      'Subscriptions',
      'http/billing/subscriptions.ts',
      '/api/v1/subscriptions/{plans,subscribe,status,cancel,payment-method}',
      Duration.seconds(20),
    );
    bindDueJobs(subscriptions);
    bindDunning(subscriptions, 'stop');
    const payments = billingFunction('Payments', 'http/billing/payments.ts', '/api/v1/payments/{process,history}', Duration.seconds(20));
    bindDueJobs(payments);
    bindDunning(payments, 'stop');

    const worker = billingFunction(
      'ChargeWorker',
      'billing/charge-worker.ts',
      'Runs due billing jobs: renewals, period-end cancels, expiries',
      Duration.seconds(60),
    );
    bindDueJobs(worker);
    bindDunning(worker, 'start');
    worker.addEventSource(
      new SqsEventSource(props.chargeQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: workerConcurrency,
      }),
    );

    const reconcile = new AppFunction(this, 'Reconcile', {
      entry: 'billing/reconcile.ts',
      serviceName: 'billing',
      description: 'Daily: enqueues subscriptions whose due time passed without a job',
      timeout: Duration.minutes(5),
      logRetention: props.logRetention,
    });
    reconcile.bindTable(props.domainTable, 'R', 'DOMAIN_TABLE_NAME');
    reconcile.grantIndexQuery(props.domainTable, DUE_INDEX.name);
    reconcile.bindEnvironment('CHARGE_QUEUE_URL', props.chargeQueue.queueUrl);
    props.chargeQueue.grantSendMessages(reconcile);
    // Its own role, so the invoke grant (the function and its versions, `<arn>:*`) is acknowledged here.
    const reconcileRole = new Role(this, 'ReconcileScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      description: 'EventBridge Scheduler invokes the daily billing reconciliation',
    });
    acknowledgeWildcardResources(
      reconcileRole,
      reconcile.grantInvoke(reconcileRole),
      'lambda:InvokeFunction on the reconciliation function and its versions (`:*`), as grantInvoke gives it: one function only.',
    );
    new Schedule(this, 'ReconcileDaily', {
      schedule: ScheduleExpression.expression(reconcileSchedule, undefined),
      target: new LambdaInvoke(reconcile, { role: reconcileRole, retryAttempts: 3, maxEventAge: Duration.hours(6) }),
      description: 'Billing reconciliation: overdue subscriptions back to the charge queue',
    });

    const routes: [string, apigwv2.HttpMethod, AppFunction][] = [
      ['/api/v1/subscriptions/subscribe', apigwv2.HttpMethod.POST, subscriptions],
      ['/api/v1/subscriptions/status', apigwv2.HttpMethod.GET, subscriptions],
      ['/api/v1/subscriptions/cancel', apigwv2.HttpMethod.POST, subscriptions],
      ['/api/v1/subscriptions/payment-method', apigwv2.HttpMethod.PUT, subscriptions],
      ['/api/v1/payments/process', apigwv2.HttpMethod.POST, payments],
      ['/api/v1/payments/history', apigwv2.HttpMethod.GET, payments],
    ];
    for (const [path, method, handler] of routes) {
      props.httpApi.addRoute({ path, methods: [method], handler, authorizer: props.authorizer });
    }
    props.httpApi.addRoute({
      path: '/api/v1/subscriptions/plans',
      methods: [apigwv2.HttpMethod.GET],
      handler: subscriptions,
      publicReason: 'The plan list is the public price list: shown before sign-up (DESIGN.md section 5).',
    });

    this.subscriptionsFunction = subscriptions;
    this.paymentsFunction = payments;
    this.chargeWorker = worker;
    this.reconcileFunction = reconcile;
    this.scheduleGroup = scheduleGroup;
    this.schedulerRole = schedulerRole;
    this.dunning = dunning;
  }
}
