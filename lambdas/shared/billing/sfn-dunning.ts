/**
 * The dunning saga on AWS (the contract is dunning.ts): a Step Functions Standard state machine
 * (lib/constructs/dunning.ts), one execution per subscription and period, named by
 * `dunningExecutionName`.
 *
 * - Start: the same name with the same input is the same execution (Step Functions answers the
 *   running one); `ExecutionAlreadyExists` (the name was used with another input, which the
 *   deterministic plan rules out, or by an execution that ended) is success too: one saga per period.
 * - Stop: an execution that never started (`ExecutionDoesNotExist`) or has ended is fine.
 *
 * Relies on: DUNNING_STATE_MACHINE_ARN; `states:StartExecution` on the state machine (charge
 * worker) and `states:StopExecution` on its executions (the routes that end dunning).
 */
import { SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { requireEnv } from '../env';
import { type DunningPlan, type DunningSaga, dunningExecutionName } from './dunning';

/** What the saga needs from `SFNClient`. */
export interface SfnLike {
  send(command: StartExecutionCommand | StopExecutionCommand): Promise<unknown>;
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : '');

export class StepFunctionsDunning implements DunningSaga {
  constructor(
    private readonly sfn: SfnLike,
    private readonly stateMachineArn: string,
  ) {}

  static fromEnvironment(env: NodeJS.ProcessEnv = process.env, sfn: SfnLike = new SFNClient({})): StepFunctionsDunning {
    return new StepFunctionsDunning(sfn, requireEnv('DUNNING_STATE_MACHINE_ARN', env));
  }

  async start(plan: DunningPlan): Promise<void> {
    try {
      await this.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name: dunningExecutionName(plan.subscriptionId, plan.periodEnd),
          input: JSON.stringify(plan),
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
    }
  }

  async stop(subscriptionId: string, periodEnd: string): Promise<void> {
    try {
      await this.sfn.send(
        new StopExecutionCommand({
          executionArn: this.executionArn(dunningExecutionName(subscriptionId, periodEnd)),
          error: 'Dunning.Ended',
          cause: 'The subscription left dunning: paid by the user, or cancelled',
        }),
      );
    } catch (error) {
      if (errorName(error) !== 'ExecutionDoesNotExist') throw error;
    }
  }

  /** arn:aws:states:<region>:<account>:stateMachine:<name> → …:execution:<name>:<execution>. */
  private executionArn(executionName: string): string {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
  }
}
