/**
 * Delivery to a target by ARN, shared by everything that sends somewhere: EventBridge rules,
 * Scheduler schedules, Step Functions integrations, on-failure destinations. Each service
 * registers the ARN prefix it owns (`arn:aws:sqs:`, `arn:aws:lambda:`, `arn:aws:states:`, ...).
 */
import { AwsError } from './aws-protocol';

export { AwsError };

export interface Delivery {
  readonly arn: string;
  /** The payload as the target receives it (JSON text for Lambda/Step Functions, the message body for SQS). */
  readonly input: string;
  /** SQS FIFO targets. */
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** Step Functions: an execution name; Lambda: the invocation type (default Event). */
  readonly name?: string;
  /** SQS targets: message attributes (`{DataType, StringValue}`), e.g. on dead-letter messages. */
  readonly messageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<unknown>;

export class Targets {
  private readonly handlers: Array<{ prefix: string; handler: DeliveryHandler }> = [];

  /** Registers the service that owns ARNs starting with `prefix`, e.g. `arn:aws:sqs:`. */
  register(prefix: string, handler: DeliveryHandler): void {
    this.handlers.push({ prefix, handler });
  }

  /** Delivers, or throws (an `AwsError` for a missing target), so callers apply their retry policy. */
  async deliver(delivery: Delivery): Promise<unknown> {
    const entry = this.handlers.find((h) => delivery.arn.startsWith(h.prefix));
    if (!entry) throw new AwsError('UnsupportedTarget', `the local cloud cannot deliver to ${delivery.arn}`);
    return entry.handler(delivery);
  }
}
