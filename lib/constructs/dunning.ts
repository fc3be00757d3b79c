/**
 * Dunning (DESIGN.md section 5; docs/billing.md "Dunning"): the saga that follows a declined
 * renewal, as a Step Functions Standard state machine (JSONPath) built here in CDK, one execution
 * per subscription and period (lambdas/shared/billing/dunning.ts names it).
 *
 *   Begin ─pending─▶ NoticePaymentFailed ─▶ WaitDay1 ─▶ RetryDay1 ─declined─▶ ReminderDay1 ─▶ WaitDay3 ─▶ …
 *     └─ended─▶ LeftDunning                              ├─recovered─▶ Recovered
 *                                                        └─ended─▶ LeftDunning
 *   … RetryDay5 ─declined─▶ ReminderDay5 ─▶ WaitDay7 ─▶ Expire ─expired─▶ NoticeExpired ─▶ Expired
 *
 * - Every Task but the notices invokes `stepFunction` (lambdas/billing/dunning-step.ts) with the
 *   step and the execution's input (the plan: the retry times and the expiry, fixed at the
 *   decline, so a slow or retried step never shifts the timeline; the Waits read them with
 *   TimestampPath). Its answer lands in `$.step`; the Choices read `$.step.outcome`.
 * - Notices go straight to the notification queue (`sqs:sendMessage`), built by the step
 *   (`$.step.notice`), each with its own notice id so a redelivery notifies once.
 * - Retries: `Dunning.ChargeInProgress` (a payment by the user holds the subscription) within
 *   minutes; `Dunning.ProvidersUnavailable` every hour for 6 hours, so a retry day with every
 *   provider down is retried later that day and, if they stay down, skipped, never counted as a
 *   decline; Lambda's own transient errors as CDK's LambdaInvoke retries them.
 * - Stopped from outside (`StopExecution`) when the user pays or cancels; its steps check the
 *   subscription anyway, so a stop that did not happen changes nothing.
 * - An alarm fires on a failed execution (a step's bug, or retries that ran out).
 *
 * Relies on: the step function (created by `Billing`, which owns billing's functions), the
 * notification queue (stateful stack).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { ComparisonOperator, type Alarm, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  Choice,
  Condition,
  DefinitionBody,
  type IChainable,
  JsonPath,
  LogLevel,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
  Wait,
  WaitTime,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke, SqsSendMessage } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DUNNING_GRACE_DAYS, DUNNING_RETRY_DAYS, DUNNING_RETRY_LATER } from '../../lambdas/shared/billing/dunning';
import { acknowledgeInvokeVersions } from './nag';

export interface DunningProps {
  /** The function every step invokes (lambdas/billing/dunning-step.ts). */
  readonly stepFunction: IFunction;
  /** Where notices go (`NotificationQueues.notices`). */
  readonly notificationQueue: IQueue;
  /** @default RetentionDays.ONE_MONTH (the log group's default here is what AppFunction uses) */
  readonly logRetention?: RetentionDays;
}

export class Dunning extends Construct {
  public readonly stateMachine: StateMachine;
  /** In ALARM when an execution failed. */
  public readonly failedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: DunningProps) {
    super(scope, id);

    const step = (stateId: string, input: Record<string, unknown>) => {
      const task = new LambdaInvoke(this, stateId, {
        lambdaFunction: props.stepFunction,
        payload: TaskInput.fromObject({ step: input, plan: JsonPath.objectAt('$$.Execution.Input') }),
        // The function's answer as it is, in $.step; the plan stays where it was.
        payloadResponseOnly: true,
        resultPath: '$.step',
        retryOnServiceExceptions: true,
      });
      task.addRetry({
        errors: [DUNNING_RETRY_LATER.chargeInProgress],
        interval: Duration.minutes(1),
        backoffRate: 2,
        maxDelay: Duration.minutes(15),
        maxAttempts: 8,
      });
      return task;
    };
    const notice = (stateId: string) =>
      new SqsSendMessage(this, stateId, {
        queue: props.notificationQueue,
        // Serialized explicitly: the body SQS gets is the notice's JSON text.
        messageBody: TaskInput.fromText(JsonPath.jsonToString(JsonPath.objectAt('$.step.notice'))),
        resultPath: JsonPath.DISCARD,
      });
    const leftDunning = new Succeed(this, 'LeftDunning', { comment: 'Paid, cancelled or replaced meanwhile' });
    const recovered = new Succeed(this, 'Recovered', { comment: 'A retry paid; the recovered notice comes from Subscription.Recovered' });
    const outcome = (value: string) => Condition.stringEquals('$.step.outcome', value);

    // Built from the end: each day's states continue with the next day's.
    const expire = step('Expire', { action: 'expire' });
    let next: IChainable = new Wait(this, `WaitDay${DUNNING_GRACE_DAYS}`, { time: WaitTime.timestampPath('$.expireAt') })
      .next(expire)
      .next(
        new Choice(this, 'ExpiredOrLeft')
          .when(outcome('expired'), notice('NoticeExpired').next(new Succeed(this, 'Expired')))
          .otherwise(leftDunning),
      );
    for (let i = DUNNING_RETRY_DAYS.length - 1; i >= 0; i--) {
      const day = DUNNING_RETRY_DAYS[i];
      const retry = step(`RetryDay${day}`, { action: 'retry', attempt: i + 1 });
      // Every provider down all day: not a decline; the next day of the timeline goes on.
      retry.addRetry({ errors: [DUNNING_RETRY_LATER.providersUnavailable], interval: Duration.hours(1), backoffRate: 1, maxAttempts: 6 });
      retry.addCatch(next, { errors: [DUNNING_RETRY_LATER.providersUnavailable], resultPath: '$.unavailable' });
      next = new Wait(this, `WaitDay${day}`, { time: WaitTime.timestampPath(`$.retries[${i}].at`) }).next(retry).next(
        new Choice(this, `Day${day}Outcome`)
          .when(outcome('declined'), notice(`ReminderDay${day}`).next(next))
          .when(outcome('recovered'), recovered)
          .otherwise(leftDunning),
      );
    }
    const definition = step('Begin', { action: 'begin' }).next(
      new Choice(this, 'StillPastDue').when(outcome('pending'), notice('NoticePaymentFailed').next(next)).otherwise(leftDunning),
    );

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      definitionBody: DefinitionBody.fromChainable(definition),
      stateMachineType: StateMachineType.STANDARD,
      comment: 'Dunning: retries on day 1, 3 and 5 after a declined renewal, reminders, expiry on day 7',
      // The timeline is 7 days; retries of the last steps may add hours.
      timeout: Duration.days(DUNNING_GRACE_DAYS + 3),
      tracingEnabled: true,
      logs: {
        destination: new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH }),
        level: LogLevel.ALL,
        // Inputs hold user ids and amounts, nothing secret (the payment token is never in them).
        includeExecutionData: true,
      },
    });

    acknowledgeInvokeVersions(
      this.stateMachine.role,
      props.stepFunction.functionArn,
      'lambda:InvokeFunction on the dunning step function and its versions (`:*`), as LambdaInvoke grants it: one function only.',
    );
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) and the ' +
        'CloudWatch Logs delivery actions the state machine logging needs have no resource-level permissions ' +
        '(IAM Service Authorization Reference); CDK grants them on "*" when tracing and logging are on.',
    });

    const failed = this.stateMachine.metricFailed({ period: Duration.minutes(5) });
    this.failedAlarm = failed.createAlarm(this, 'ExecutionsFailed', {
      alarmDescription: 'A dunning saga failed: a subscription may be left past_due without retries or expiry',
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
