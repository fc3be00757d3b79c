/** What every local AWS service gets from the local cloud when it is created. */
import type { VirtualClock } from './clock';
import type { LambdaService } from './lambda/service';
import type { CloudModel } from './model';
import type { Targets } from './targets';

export interface ServiceContext {
  readonly model: CloudModel;
  readonly clock: VirtualClock;
  /** Delivery by ARN to Lambda, SQS, Step Functions, EventBridge buses. */
  readonly targets: Targets;
  readonly lambda: LambdaService;
  /** Start-up and runtime messages of the local cloud. */
  readonly log: (line: string) => void;
}
