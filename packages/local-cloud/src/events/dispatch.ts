/**
 * Delivery of one matched event to one rule target, as EventBridge does it: asynchronously (the
 * PutEvents call has already returned), with the target's input (constant, path or transformer),
 * retried with exponential backoff and jitter on the virtual clock within the target's
 * `RetryPolicy` (default 185 retries, 24 hours), then to the target's dead-letter queue with the
 * attributes AWS documents (RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS,
 * EXHAUSTED_RETRY_CONDITION), or dropped with a log line when there is none.
 *
 * Errors that retrying cannot fix (a target that does not exist, missing permissions, a bad
 * payload) go to the dead-letter queue at once, without EXHAUSTED_RETRY_CONDITION, as AWS does.
 *
 * A Lambda target counts as delivered once Lambda accepted the asynchronous invocation: a handler
 * that throws is retried by Lambda (see lambda/async.ts), never by EventBridge.
 */
import { AwsError } from '../aws-protocol';
import type { VirtualClock } from '../clock';
import type { Delivery, Targets } from '../targets';
import type { MatchedEvent, RuleRef, RuleTarget } from './rules';

/** Backoff: 1 s doubling per retry up to 5 minutes, with jitter (half fixed, half random). */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 300_000;

/** An SQS message attribute as the SQS target handler receives it for a dead-letter delivery. */
export interface MessageAttribute {
  readonly DataType: 'String' | 'Number';
  readonly StringValue: string;
}

/**
 * A delivery to a dead-letter queue: the event as the message body plus message attributes.
 * `Delivery` has no attributes field yet, so they ride along as an extra property that the SQS
 * handler can read (`(delivery as DeadLetterDelivery).messageAttributes`).
 */
export interface DeadLetterDelivery extends Delivery {
  readonly messageAttributes: Record<string, MessageAttribute>;
}

interface Failure {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export class Dispatcher {
  private inFlight = 0;
  private stopped = false;
  private readonly timers = new Set<ReturnType<VirtualClock['setTimeout']>>();

  constructor(
    private readonly clock: VirtualClock,
    private readonly targets: Targets,
    private readonly log: (line: string) => void,
  ) {}

  /** True when no delivery attempt is running (retries waiting on the clock count as idle). */
  isIdle(): boolean {
    return this.inFlight === 0;
  }

  /** Number of deliveries waiting for a retry on the virtual clock. */
  get pendingRetries(): number {
    return this.timers.size;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) this.clock.clearTimer(timer);
    this.timers.clear();
  }

  /** Starts delivering `matched` to `target` of `rule` in the background. */
  dispatch(rule: RuleRef, target: RuleTarget, matched: MatchedEvent): void {
    this.run(() => this.attempt(rule, target, matched, 0));
  }

  /** Runs `work` after the current call returns, counted as in flight for `settle()`. */
  private run(work: () => Promise<void>): void {
    this.inFlight++;
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (this.stopped ? undefined : work()))
      .catch((error: unknown) => this.log(`EventBridge: delivery failed unexpectedly: ${(error as Error).stack ?? String(error)}`))
      .finally(() => {
        this.inFlight--;
      });
    void this.clock.track(task);
  }

  private async attempt(rule: RuleRef, target: RuleTarget, matched: MatchedEvent, retries: number): Promise<void> {
    const failure = await this.send(rule, target, matched).then(
      () => undefined,
      (error: unknown) => classify(error),
    );
    if (!failure) return;

    const maxRetries = target.retryPolicy.maximumRetryAttempts;
    const maxAgeMs = target.retryPolicy.maximumEventAgeSeconds * 1000;
    if (!failure.retryable) return this.deadLetter(rule, target, matched, failure, retries, undefined);
    if (retries >= maxRetries) return this.deadLetter(rule, target, matched, failure, retries, 'MaximumRetryAttempts');

    const exponential = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retries);
    const delay = exponential / 2 + Math.random() * (exponential / 2);
    const timer = this.clock.setTimeout(
      delay,
      () => {
        this.timers.delete(timer);
        this.run(async () => {
          if (this.clock.now() - matched.ingestedAt > maxAgeMs) {
            return this.deadLetter(rule, target, matched, failure, retries, 'MaximumEventAgeInSeconds');
          }
          return this.attempt(rule, target, matched, retries + 1);
        });
      },
      `EventBridge retry ${retries + 1} of rule ${rule.name} target ${target.id}`,
    );
    this.timers.add(timer);
  }

  private async send(rule: RuleRef, target: RuleTarget, matched: MatchedEvent): Promise<void> {
    let input: string;
    try {
      input = target.input(matched, rule);
    } catch (error) {
      throw new AwsError('ValidationException', `the input of target ${target.id} could not be built: ${(error as Error).message}`);
    }
    const fifo = target.arn.startsWith('arn:aws:sqs:') && target.arn.endsWith('.fifo');
    await this.targets.deliver({
      arn: target.arn,
      input,
      ...(target.messageGroupId !== undefined ? { messageGroupId: target.messageGroupId } : {}),
      // EventBridge uses the event id as the deduplication id of FIFO queue targets.
      ...(fifo ? { messageDeduplicationId: String(matched.event.id) } : {}),
    });
  }

  private async deadLetter(
    rule: RuleRef,
    target: RuleTarget,
    matched: MatchedEvent,
    failure: Failure,
    retries: number,
    exhausted: 'MaximumRetryAttempts' | 'MaximumEventAgeInSeconds' | undefined,
  ): Promise<void> {
    const why = `${failure.code}: ${failure.message}${exhausted ? ` (${exhausted} exhausted after ${retries} retries)` : ''}`;
    if (!target.deadLetterArn) {
      this.log(
        `EventBridge: event ${String(matched.event.id)} of rule ${rule.name} was dropped for target ${target.id} (${target.arn}): ${why}`,
      );
      return;
    }
    const string = (value: string): MessageAttribute => ({ DataType: 'String', StringValue: value });
    const delivery: DeadLetterDelivery = {
      arn: target.deadLetterArn,
      input: matched.eventJson,
      messageAttributes: {
        RULE_ARN: string(rule.arn),
        TARGET_ARN: string(target.arn),
        ERROR_CODE: string(failure.code),
        ERROR_MESSAGE: string(failure.message),
        RETRY_ATTEMPTS: string(String(retries)),
        ...(exhausted ? { EXHAUSTED_RETRY_CONDITION: string(exhausted) } : {}),
      },
    };
    try {
      await this.targets.deliver(delivery);
      this.log(
        `EventBridge: event ${String(matched.event.id)} of rule ${rule.name} sent to the dead-letter queue of target ${target.id}: ${why}`,
      );
    } catch (error) {
      this.log(
        `EventBridge: event ${String(matched.event.id)} of rule ${rule.name} was lost: target ${target.id} failed (${why}) and its dead-letter queue ${target.deadLetterArn} failed too: ${(error as Error).message}`,
      );
    }
  }
}

const NO_RESOURCE = /NotFound|DoesNotExist|NonExistent|UnsupportedTarget|NoSuchEntity/i;
const NO_PERMISSIONS = /AccessDenied|NotAuthorized|Forbidden|KMS/i;
const THROTTLED = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/i;
const BAD_INPUT =
  /Validation|InvalidParameter|InvalidArgument|InvalidRequestContent|SerializationException|InvalidMessageContents|TooLong/i;

/** Maps a delivery error to the error code EventBridge reports, and whether it retries it. */
function classify(error: unknown): Failure {
  const code = error instanceof AwsError ? error.code : ((error as { name?: string })?.name ?? 'Error');
  const message = (error as Error)?.message ?? String(error);
  if (NO_RESOURCE.test(code)) return { code: 'NO_RESOURCE', message, retryable: false };
  if (NO_PERMISSIONS.test(code)) return { code: 'NO_PERMISSIONS', message, retryable: false };
  if (BAD_INPUT.test(code)) return { code: 'INVALID_PARAMETER', message, retryable: false };
  if (THROTTLED.test(code)) return { code: 'THROTTLING', message, retryable: true };
  return { code: 'SDK_CLIENT_ERROR', message: `${code}: ${message}`, retryable: true };
}
