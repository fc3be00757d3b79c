/**
 * Asynchronous (`Event`) invocation, as EventBridge, Scheduler and `InvocationType: Event` use
 * it: the caller gets 202 at once; Lambda retries a failed invocation twice (1 and 2 minutes
 * later, on the virtual clock) within the maximum event age, then sends an invocation record to
 * the on-failure destination of `AWS::Lambda::EventInvokeConfig`, if any (or on-success).
 */
import { randomUUID } from 'node:crypto';
import type { VirtualClock } from '../clock';
import type { CloudModel } from '../model';
import type { Targets } from '../targets';
import type { LambdaService, LocalFunction } from './service';

interface InvokeConfig {
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
  readonly onSuccess?: string;
  readonly onFailure?: string;
}

const DEFAULT_CONFIG: InvokeConfig = { maximumRetryAttempts: 2, maximumEventAgeSeconds: 6 * 3600 };
const RETRY_DELAYS_MS = [60_000, 120_000];

export class AsyncInvoker {
  private readonly configs = new Map<string, InvokeConfig>();

  constructor(
    model: CloudModel,
    lambda: LambdaService,
    private readonly clock: VirtualClock,
    private readonly targets: Targets,
    private readonly log: (line: string) => void,
  ) {
    for (const resource of model.ofType('AWS::Lambda::EventInvokeConfig')) {
      const props = model.properties(resource);
      const fn = lambda.get(String(props.FunctionName));
      if (!fn) {
        model.diagnostics.error(resource.where, `EventInvokeConfig for unknown function ${String(props.FunctionName)}`);
        continue;
      }
      const destinations = (props.DestinationConfig ?? {}) as {
        OnSuccess?: { Destination?: string };
        OnFailure?: { Destination?: string };
      };
      this.configs.set(fn.spec.name, {
        maximumRetryAttempts: Number(props.MaximumRetryAttempts ?? 2),
        maximumEventAgeSeconds: Number(props.MaximumEventAgeInSeconds ?? 6 * 3600),
        onSuccess: destinations.OnSuccess?.Destination,
        onFailure: destinations.OnFailure?.Destination,
      });
    }
  }

  /** Accepts the event (like the 202 of an Event invocation) and runs it in the background. */
  invoke(fn: LocalFunction, event: unknown): string {
    const requestId = randomUUID();
    const config = this.configs.get(fn.spec.name) ?? DEFAULT_CONFIG;
    const enqueuedAt = this.clock.now();
    const attempt = (n: number): void => {
      void this.clock.track(
        fn.invoke(event).then(async (result) => {
          if (result.ok) {
            if (config.onSuccess) await this.record(config.onSuccess, fn, event, requestId, 'Success', n, result.payload, undefined);
            return;
          }
          const ageSeconds = (this.clock.now() - enqueuedAt) / 1000;
          const delay = RETRY_DELAYS_MS[n] ?? RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1]!;
          if (n < config.maximumRetryAttempts && ageSeconds + delay / 1000 <= config.maximumEventAgeSeconds) {
            this.clock.setTimeout(delay, () => attempt(n + 1), `async retry ${fn.spec.displayName}`);
            return;
          }
          const condition = n < config.maximumRetryAttempts ? 'EventAgeExceeded' : 'RetriesExhausted';
          this.log(
            `${fn.spec.displayName}: asynchronous invocation ${requestId} failed (${condition}): ${result.error.errorType}: ${result.error.errorMessage}`,
          );
          if (config.onFailure) await this.record(config.onFailure, fn, event, requestId, condition, n, undefined, result.error);
        }),
      );
    };
    attempt(0);
    return requestId;
  }

  /** Sends the invocation record AWS documents for asynchronous destinations. */
  private async record(
    destination: string,
    fn: LocalFunction,
    event: unknown,
    requestId: string,
    condition: string,
    retries: number,
    payload: string | undefined,
    error: { errorType: string; errorMessage: string } | undefined,
  ): Promise<void> {
    const record = {
      version: '1.0',
      timestamp: new Date(this.clock.now()).toISOString(),
      requestContext: { requestId, functionArn: `${fn.spec.arn}:$LATEST`, condition, approximateInvokeCount: retries + 1 },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(error ? { functionError: 'Unhandled' } : {}) },
      responsePayload: error
        ? { errorType: error.errorType, errorMessage: error.errorMessage }
        : payload === undefined
          ? null
          : JSON.parse(payload),
    };
    await this.targets.deliver({ arn: destination, input: JSON.stringify(record) }).catch((e: Error) => {
      this.log(`${fn.spec.displayName}: cannot deliver to destination ${destination}: ${e.message}`);
    });
  }
}
