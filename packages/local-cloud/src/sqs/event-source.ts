/**
 * Lambda event-source mappings for SQS (`AWS::Lambda::EventSourceMapping` whose `EventSourceArn`
 * is a queue), as the Lambda Developer Guide describes them ("Using Lambda with Amazon SQS",
 * "Handling errors for an SQS event source", "Control which events Lambda sends to your function"):
 *
 *  - Pollers (`ScalingConfig.MaximumConcurrency`, else 5, Lambda's initial number) receive from
 *    the queue with its visibility timeout and invoke the function synchronously with up to
 *    `BatchSize` messages (default 10). With `MaximumBatchingWindowInSeconds`, a poller keeps
 *    gathering until the batch is full, the window (virtual time) has passed or the payload
 *    reaches Lambda's 6 MB limit; without one it invokes with what one receive returned.
 *  - `FilterCriteria`: each message is matched as its event record, with `body` parsed when it is
 *    a JSON object; a message no filter matches is deleted, as Lambda does.
 *  - Success deletes the batch. A function error, timeout or throttle deletes nothing: the
 *    messages return when their visibility timeout expires and, with a redrive policy, move to the
 *    dead-letter queue after `maxReceiveCount` receives. With `ReportBatchItemFailures`,
 *    `{"batchItemFailures":[{"itemIdentifier":"<messageId>"}]}` deletes all but those; an empty or
 *    null list (or no response) is a success; an invalid response (not JSON, an identifier that is
 *    missing, empty or not in the batch) fails the whole batch.
 *  - FIFO queues: the queue's group locking gives per-group order; batching windows are not
 *    available (as in AWS).
 *
 * Idle (for the virtual clock) = no batch being invoked and no receivable message in a queue
 * that has an enabled mapping. A poller gathering during a batching window waits on a clock timer,
 * which counts as idle: advancing the clock ends the window.
 */
import { MappingProperties } from '../lambda/mapping-properties';
import type { ServiceContext } from '../context';
import type { ModelResource } from '../model';
import type { InvokeResult, LocalFunction } from '../lambda/service';
import type { CompiledPattern } from '../events/pattern';
import type { TimerHandle } from '../clock';
import { readBatchItemFailures } from '../lambda/batch-item-failures';
import { md5OfAttributes } from './md5';
import type { Queue, ReceivedMessage } from './queue';
import { systemAttributesOf, type SqsService } from './service';

/** Lambda's synchronous invocation payload limit, less room for `{"Records":[]}`. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024 - 64;
/** Pollers per mapping without `ScalingConfig.MaximumConcurrency` (Lambda starts with five). */
export const DEFAULT_POLLERS = 5;
/** How often a mapping whose queue was deleted looks for it again (real time). */
const MISSING_QUEUE_RETRY_MS = 1_000;

export interface SqsMappingConfig {
  readonly resource: ModelResource;
  readonly where: string;
  readonly fn: LocalFunction;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly filters: readonly CompiledPattern[];
  readonly reportBatchItemFailures: boolean;
  /** Concurrent pollers (each invokes at most one batch at a time). */
  readonly pollers: number;
}

export interface SqsEventSourceMappingsOptions {
  /** Pollers per mapping without `ScalingConfig.MaximumConcurrency`. @default 5 */
  readonly defaultPollers?: number;
}

/** An SQS record as Lambda puts it into `event.Records`. */
export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Record<
    string,
    { stringValue?: string; binaryValue?: string; stringListValues: string[]; binaryListValues: string[]; dataType: string }
  >;
  readonly md5OfMessageAttributes?: string;
  readonly md5OfBody: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

export class SqsEventSourceMappings {
  /** The mappings that run, once started. */
  readonly mappings: SqsMappingConfig[] = [];
  private readonly runners: MappingRunner[] = [];
  private started = false;

  constructor(
    private readonly context: ServiceContext,
    private readonly sqs: SqsService,
    private readonly options: SqsEventSourceMappingsOptions = {},
  ) {}

  /** Reads the mappings of the templates (reporting what is not emulated) and starts their pollers. Call after `sqs.start()`. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const resource of this.context.model.ofType('AWS::Lambda::EventSourceMapping')) {
      const config = readMapping(this.context, this.sqs, resource, this.options.defaultPollers ?? DEFAULT_POLLERS);
      if (!config) continue;
      this.mappings.push(config);
      const runner = new MappingRunner(config, this.context, this.sqs);
      this.runners.push(runner);
      runner.start();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
  }

  isIdle(): boolean {
    return this.runners.every((r) => r.busy() === undefined);
  }

  /** What keeps the mappings busy, one line per mapping (empty when idle). */
  busy(): string[] {
    return this.runners.map((r) => r.busy()).filter((b): b is string => b !== undefined);
  }
}

// -------------------------------------------------------------------------------------------------
// Polling

interface Pending {
  readonly received: ReceivedMessage;
  readonly record: SqsRecord;
  readonly bytes: number;
}

class MappingRunner {
  private readonly pollers: Array<Promise<void>> = [];
  private readonly wakeups = new Set<() => void>();
  private subscribed?: { queue: Queue; unsubscribe: () => void };
  /** Batches being invoked or settled, plus messages carried over to a poller's next batch. */
  private invoking = 0;
  private carried = 0;
  private stopped = false;
  private failures = 0;
  /** A poller is gathering a batch during its batching window. */
  private gathering = false;

  constructor(
    private readonly config: SqsMappingConfig,
    private readonly context: ServiceContext,
    private readonly sqs: SqsService,
  ) {}

  start(): void {
    for (let i = 0; i < this.config.pollers; i++) {
      this.pollers.push(
        this.poll().catch((error: unknown) => this.log(`poller stopped unexpectedly: ${(error as Error)?.stack ?? String(error)}`)),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    this.subscribed?.unsubscribe();
    await Promise.all(this.pollers);
  }

  /** Why this mapping is not idle, or undefined when it is. */
  busy(): string | undefined {
    if (this.stopped) return undefined;
    if (this.invoking > 0) return `${this.config.where}: ${this.invoking} batch(es) in flight`;
    if (this.carried > 0) return `${this.config.where}: ${this.carried} message(s) waiting for the next batch`;
    const queue = this.sqs.queueByArn(this.config.queueArn);
    if (queue?.hasReceivable()) return `${this.config.where}: messages waiting in ${queue.name}`;
    return undefined;
  }

  private async poll(): Promise<void> {
    let carry: Pending[] = [];
    while (!this.stopped) {
      const queue = this.queue();
      if (!queue) {
        this.carried -= carry.length;
        carry = [];
        await this.waitForChange(undefined, MISSING_QUEUE_RETRY_MS);
        continue;
      }
      // One batch gathers at a time (others may be invoking): with a batching window, messages
      // that arrive during the window join that batch instead of starting a second one.
      if (this.gathering && carry.length === 0) {
        await this.waitForChange();
        continue;
      }
      const batch: Pending[] = [];
      let bytes = 0;
      const add = (items: Pending[]) => {
        for (const item of items) {
          if (batch.length >= this.config.batchSize || (batch.length > 0 && bytes + item.bytes > MAX_PAYLOAD_BYTES)) {
            carry.push(item);
            this.carried++;
            continue;
          }
          batch.push(item);
          bytes += item.bytes;
        }
      };
      const carriedOver = carry;
      carry = [];
      this.carried -= carriedOver.length;
      add(carriedOver);
      if (batch.length < this.config.batchSize && carry.length === 0) add(this.take(queue, this.config.batchSize - batch.length));
      if (batch.length === 0) {
        // Nothing for this poller (another took it, or filters deleted it): wait for a change.
        if (queue.hasReceivable()) await new Promise((r) => setImmediate(r));
        else await this.waitForChange();
        continue;
      }
      if (this.config.batchingWindowMs > 0) {
        const deadline = this.context.clock.now() + this.config.batchingWindowMs;
        this.gathering = true;
        try {
          while (!this.stopped && carry.length === 0 && batch.length < this.config.batchSize && this.context.clock.now() < deadline) {
            const more = queue.deleted ? [] : this.take(queue, this.config.batchSize - batch.length);
            if (more.length > 0) add(more);
            else await this.waitForChange(deadline);
          }
        } finally {
          this.gathering = false;
        }
        this.wakeAll(); // another poller may gather the next batch meanwhile
      }
      if (this.stopped) break;
      this.invoking++;
      try {
        await this.deliver(queue, batch);
      } finally {
        this.invoking--;
      }
    }
  }

  /** Receives up to `max` messages, deleting those the filters reject. */
  private take(queue: Queue, max: number): Pending[] {
    const out: Pending[] = [];
    while (out.length < max) {
      const received = queue.receive(Math.min(10, max - out.length));
      if (received.length === 0) break;
      for (const r of received) {
        const record = toRecord(r, queue.arn, this.context.model.region);
        if (this.config.filters.length > 0 && !this.config.filters.some((f) => f.matches(filterView(record)))) {
          queue.deleteMessage(r.receiptHandle);
          continue;
        }
        out.push({ received: r, record, bytes: Buffer.byteLength(JSON.stringify(record), 'utf8') + 1 });
      }
    }
    return out;
  }

  private async deliver(queue: Queue, batch: Pending[]): Promise<void> {
    let result: InvokeResult;
    try {
      result = await this.config.fn.invoke({ Records: batch.map((p) => p.record) });
    } catch (error) {
      this.log(
        `invoking ${this.config.fn.spec.displayName} failed: ${(error as Error).message}; the messages return after their visibility timeout`,
      );
      return;
    }
    if (!result.ok) {
      this.failures++;
      const what =
        result.error.errorType === 'TooManyRequestsException'
          ? 'was throttled'
          : `failed: ${result.error.errorType}: ${result.error.errorMessage}`;
      if (this.failures <= 3 || (this.failures & (this.failures - 1)) === 0) {
        this.log(`a batch of ${batch.length} message(s) ${what}; they return to ${queue.name} after the visibility timeout`);
      }
      return;
    }
    let failed = new Set<string>();
    if (this.config.reportBatchItemFailures) {
      const verdict = parseBatchItemFailures(result.payload, new Set(batch.map((p) => p.record.messageId)));
      if (verdict.kind === 'failure') {
        this.log(`the batch counts as failed: ${verdict.reason}`);
        return;
      }
      if (verdict.kind === 'partial') failed = verdict.failed;
    }
    for (const pending of batch) {
      if (failed.has(pending.record.messageId)) continue;
      try {
        queue.deleteMessage(pending.received.receiptHandle);
      } catch (error) {
        this.log(`deleting message ${pending.record.messageId} failed: ${(error as Error).message}`);
      }
    }
  }

  /** The mapped queue (it may be deleted and created again through the API), watched for changes. */
  private queue(): Queue | undefined {
    const queue = this.sqs.queueByArn(this.config.queueArn);
    if (queue !== this.subscribed?.queue) {
      this.subscribed?.unsubscribe();
      this.subscribed = queue ? { queue, unsubscribe: queue.onChange(() => this.wakeAll()) } : undefined;
    }
    return queue;
  }

  /** Waits for a change of the queue, until `deadline` (virtual time) or `realMs` (real time), or the stop. */
  private waitForChange(deadline?: number, realMs?: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const { clock } = this.context;
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined;
      let realTimer: NodeJS.Timeout | undefined;
      const wake = () => {
        this.wakeups.delete(wake);
        clock.clearTimer(timer);
        clearTimeout(realTimer);
        resolve();
      };
      this.wakeups.add(wake);
      if (deadline !== undefined) timer = clock.setTimer(deadline, wake, `SQS mapping ${this.config.where}: batching window`);
      if (realMs !== undefined) realTimer = setTimeout(wake, realMs);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakeups]) wake();
  }

  private log(line: string): void {
    this.context.log(`${this.config.where}: ${line}`);
  }
}

/** The record Lambda sends for a received message. */
export function toRecord({ message, receiptHandle }: ReceivedMessage, queueArn: string, region: string): SqsRecord {
  const system = systemAttributesOf(message);
  const attributes: Record<string, string> = {
    ApproximateReceiveCount: system.ApproximateReceiveCount!,
    SentTimestamp: system.SentTimestamp!,
    SenderId: system.SenderId!,
    ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp!,
  };
  for (const key of ['SequenceNumber', 'MessageGroupId', 'MessageDeduplicationId', 'AWSTraceHeader', 'DeadLetterQueueSourceArn']) {
    if (system[key] !== undefined) attributes[key] = system[key]!;
  }
  const messageAttributes: SqsRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.messageAttributes)) {
    messageAttributes[name] = {
      ...(value.BinaryValue !== undefined ? { binaryValue: value.BinaryValue.toString('base64') } : { stringValue: value.StringValue }),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType,
    };
  }
  const md5OfMessageAttributes = md5OfAttributes(message.messageAttributes);
  return {
    messageId: message.messageId,
    receiptHandle,
    body: message.body,
    attributes,
    messageAttributes,
    ...(md5OfMessageAttributes ? { md5OfMessageAttributes } : {}),
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** What filters see: the record, with a body that is a JSON object parsed (Lambda's SQS filtering). */
export function filterView(record: SqsRecord): Record<string, unknown> {
  let body: unknown = record.body;
  try {
    const parsed = JSON.parse(record.body) as unknown;
    if (parsed !== null && typeof parsed === 'object') body = parsed;
  } catch {
    /* a plain-text body is matched as a string */
  }
  return { ...record, body };
}

export type SqsBatchVerdict =
  | { readonly kind: 'success' }
  | { readonly kind: 'partial'; readonly failed: Set<string> }
  | { readonly kind: 'failure'; readonly reason: string };

/** Reads a `ReportBatchItemFailures` response against the message ids of its batch. */
export function parseBatchItemFailures(payload: string, messageIds: ReadonlySet<string>): SqsBatchVerdict {
  const verdict = readBatchItemFailures(payload, 'message id', (id) => (messageIds.has(id) ? id : undefined), 'failure');
  return verdict.kind === 'partial' ? { kind: 'partial', failed: new Set(verdict.items) } : verdict;
}

// -------------------------------------------------------------------------------------------------
// Template

/** Properties read by `readMapping`. */
const HANDLED = new Set([
  'EventSourceArn',
  'FunctionName',
  'Enabled',
  'BatchSize',
  'MaximumBatchingWindowInSeconds',
  'FilterCriteria',
  'FunctionResponseTypes',
  'ScalingConfig',
]);
const NO_LOCAL_EFFECT: Record<string, string> = {
  Tags: 'tags have no local effect',
  MetricsConfig: 'event-source mapping metrics are not emulated',
  KmsKeyArn: 'filter criteria encryption has no local effect',
};
/** Properties Lambda rejects for SQS event sources. */
const NOT_FOR_SQS = new Set([
  'StartingPosition',
  'StartingPositionTimestamp',
  'BisectBatchOnFunctionError',
  'MaximumRetryAttempts',
  'MaximumRecordAgeInSeconds',
  'ParallelizationFactor',
  'TumblingWindowInSeconds',
  'DestinationConfig',
  'Topics',
  'Queues',
  'SourceAccessConfigurations',
  'SelfManagedEventSource',
  'SelfManagedKafkaEventSourceConfig',
  'AmazonManagedKafkaEventSourceConfig',
  'DocumentDBEventSourceConfig',
]);
const SQS_ARN = /^arn:[^:]+:sqs:[^:]*:[^:]*:[^:]+$/;

/** Validates one mapping with an SQS source; reports what cannot run or is not emulated. Undefined when it does not run here. */
function readMapping(
  context: ServiceContext,
  sqs: SqsService,
  resource: ModelResource,
  defaultPollers: number,
): SqsMappingConfig | undefined {
  const p = new MappingProperties(context.model, resource);
  const sourceArn = typeof p.props.EventSourceArn === 'string' ? p.props.EventSourceArn : '';
  if (!SQS_ARN.test(sourceArn)) return undefined; // other sources belong to other emulations
  p.checkKeys(HANDLED, NO_LOCAL_EFFECT, 'an SQS', NOT_FOR_SQS);

  const queue = sqs.queueByArn(sourceArn);
  if (!queue) {
    p.unsupported('EventSourceArn', `queue ${sourceArn} is not defined in the templates: the mapping is not started`);
    return undefined;
  }
  const enabled = p.flag('Enabled', true);
  const batchingWindow = p.integer('MaximumBatchingWindowInSeconds', 0, 0, 300);
  if (queue.fifo && p.props.MaximumBatchingWindowInSeconds !== undefined && batchingWindow > 0) {
    p.error('MaximumBatchingWindowInSeconds', 'batching windows are not supported for FIFO queues');
  }
  const batchSize = p.integer('BatchSize', 10, 1, queue.fifo ? 10 : 10_000);
  if (batchSize > 10 && batchingWindow < 1)
    p.error('BatchSize', `a batch size above 10 (${batchSize}) needs MaximumBatchingWindowInSeconds of at least 1`);
  const pollers = p.integer('ScalingConfig/MaximumConcurrency', defaultPollers, 2, 1000);
  const reportBatchItemFailures = p.reportBatchItemFailures();
  const filters = p.filters();

  const fn = p.function(context.lambda);
  if (!fn || !p.valid || !enabled) return undefined;
  return {
    resource,
    where: p.where,
    fn,
    queueArn: queue.arn,
    batchSize,
    batchingWindowMs: batchingWindow * 1000,
    filters,
    reportBatchItemFailures,
    pollers,
  };
}
