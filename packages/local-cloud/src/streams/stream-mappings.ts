/**
 * Lambda event-source mappings for DynamoDB streams (`AWS::Lambda::EventSourceMapping` whose
 * `EventSourceArn` is a table's stream), polling DynamoDB Local's Streams API.
 *
 * Per mapping and shard: records are read in order (a parent shard to its end before its
 * children), filtered (`FilterCriteria`), batched (`BatchSize`, `MaximumBatchingWindowInSeconds`)
 * and delivered one batch at a time with Lambda's error handling (see ./delivery.ts). Shards that
 * are idle are polled every `pollIntervalMs`.
 *
 * Local choices, where AWS has state the local cloud does not keep:
 *  - Mappings keep no checkpoint across restarts. At start-up every mapping starts at the end of
 *    the shards open at that moment, for `LATEST` and `TRIM_HORIZON` alike: tables are created
 *    empty, so nothing is missed, and a persisted table's history (which an AWS mapping would have
 *    processed already) is not replayed at each start. Shards that appear later are read from
 *    their beginning. Batches being retried when the cloud stops are not resumed.
 *  - `ParallelizationFactor` above 1 runs at 1: per-shard order is kept (stricter than the per-key
 *    order AWS promises), with less concurrency. Reported at start-up.
 *  - `eventSourceARN` (and the `streamArn` of on-failure records) is the stream ARN DynamoDB Local
 *    assigned: it works with the local Streams API and has the usual `table/<name>/stream/<label>`
 *    form; it differs from the template's `Fn::GetAtt Table.StreamArn` in region and label.
 */
import { MappingProperties } from '../lambda/mapping-properties';
import { DescribeStreamCommand, DynamoDBStreamsClient, ResourceNotFoundException, type Shard } from '@aws-sdk/client-dynamodb-streams';
import type { CloudModel, ModelResource } from '../model';
import type { LambdaService, LocalFunction } from '../lambda/service';
import type { LocalTable } from '../dynamodb/tables';
import type { CompiledPattern } from '../events/pattern';
import { BatchDelivery, type DeliveryContext } from './delivery';
import { ShardConsumer } from './shard-consumer';
import { Clock, ShardTail, type StartPosition, type TailContext } from './shard-tail';

/** Called with the destination ARN and the invocation record Lambda would send there. */
export type FailureDestination = (destinationArn: string, record: unknown) => Promise<void> | void;

export interface StreamMappingsOptions {
  readonly model: CloudModel;
  readonly lambda: LambdaService;
  readonly tables: LocalTable[];
  /** DynamoDB Local endpoint, e.g. http://127.0.0.1:8000 (also serves the Streams API). */
  readonly dynamodbEndpoint: string;
  readonly onFailure: FailureDestination;
  /** How often an idle shard is polled. @default 50 */
  readonly pollIntervalMs?: number;
  /** How often streams are checked for new shards (also done at once whenever a shard closes). @default 5000 */
  readonly shardDiscoveryIntervalMs?: number;
  /** Operational messages: discarded records, read errors, rejected responses. @default console.error */
  readonly log?: (line: string) => void;
}

/** A mapping as configured in the template, validated, with defaults applied. */
export interface StreamMappingConfig {
  readonly resource: ModelResource;
  readonly where: string;
  readonly fn: LocalFunction;
  readonly table: LocalTable;
  /** DynamoDB Local's ARN of the table's stream. */
  readonly streamArn: string;
  readonly startingPosition: 'LATEST' | 'TRIM_HORIZON';
  readonly batchSize: number;
  readonly batchingWindowMs: number;
  readonly filters: readonly CompiledPattern[];
  readonly reportBatchItemFailures: boolean;
  readonly bisectBatchOnFunctionError: boolean;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeInSeconds: number;
  readonly onFailureDestination?: string;
}

export interface IdleOptions {
  /** Reject when not idle by then. @default 30000 */
  readonly timeoutMs?: number;
}

const DYNAMODB_STREAM_ARN = /^arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\/[^/]+$/;

export class StreamEventSourceMappings {
  /** The mappings that run, once started. */
  readonly mappings: StreamMappingConfig[] = [];
  private readonly sources = new Map<string, StreamSource>();
  private readonly clock = new Clock();
  private readonly log: (line: string) => void;
  private client?: DynamoDBStreamsClient;
  private stopping = false;
  private stopSignal!: Promise<void>;
  private signalStop!: () => void;

  constructor(readonly options: StreamMappingsOptions) {
    this.log = options.log ?? ((line) => console.error(line));
    this.stopSignal = new Promise((resolve) => (this.signalStop = resolve));
  }

  async start(): Promise<void> {
    const { model } = this.options;
    for (const resource of model.ofType('AWS::Lambda::EventSourceMapping')) {
      const config = readMapping(model, resource, this.options);
      if (config) this.mappings.push(config);
    }
    if (this.mappings.length === 0) return;
    this.client = new DynamoDBStreamsClient({
      endpoint: this.options.dynamodbEndpoint,
      region: model.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    });
    for (const config of this.mappings) {
      let source = this.sources.get(config.streamArn);
      if (!source) {
        source = new StreamSource(
          {
            client: this.client,
            streamArn: config.streamArn,
            region: model.region,
            pollIntervalMs: this.options.pollIntervalMs ?? 50,
            clock: this.clock,
            log: this.log,
          },
          this.options.shardDiscoveryIntervalMs ?? 5_000,
        );
        this.sources.set(config.streamArn, source);
      }
      source.add(
        new MappingRunner(config, source, {
          onFailure: this.options.onFailure,
          log: this.log,
          stopping: () => this.stopping,
          sleep: (ms) => this.sleep(ms),
        }),
      );
    }
    // Every mapping holds its start position before start() returns: writes made afterwards are delivered.
    await Promise.all([...this.sources.values()].map((s) => s.start()));
  }

  /**
   * Resolves once every mapping is caught up: each shard's reader found nothing new in a poll that
   * started after this call, nothing is queued and no batch is in flight (retries included).
   */
  async idle(options: IdleOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const mark = this.clock.next();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.stopping) return;
      const busy = [...this.sources.values()].flatMap((s) => s.busySince(mark));
      if (busy.length === 0) return;
      if (Date.now() >= deadline) {
        throw new Error(`DynamoDB stream mappings still busy after ${timeoutMs} ms:\n  ${busy.join('\n  ')}`);
      }
      await this.sleep(5);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.signalStop();
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
    this.client?.destroy();
  }

  private sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), this.stopSignal]).finally(() => clearTimeout(timer));
  }
}

// -------------------------------------------------------------------------------------------------
// Streams and their shards

/** One table stream: its shard list, kept current, and the readers of its shards. */
class StreamSource {
  private readonly runners: MappingRunner[] = [];
  private readonly tails = new Set<ShardTail>();
  private shards: Shard[] = [];
  private discoveryTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  /** A shard ended and its children may not be known yet: set until a refresh started afterwards completes. */
  private refreshWanted = false;
  private refreshAgain = false;
  private stopped = false;
  private gone = false;

  constructor(
    readonly context: TailContext,
    private readonly discoveryIntervalMs: number,
  ) {}

  add(runner: MappingRunner): void {
    this.runners.push(runner);
  }

  async start(): Promise<void> {
    await this.refresh(true);
    // The start positions are fixed once each reader holds its first iterator.
    await Promise.all([...this.tails].map((t) => t.ready));
    this.scheduleDiscovery();
  }

  /** A reader of `shardId` from `position`: an existing one that has not delivered anything yet, or a new one. */
  tailFor(shardId: string, position: StartPosition): ShardTail {
    for (const tail of this.tails) {
      if (!tail.active) this.tails.delete(tail);
      else if (tail.shardId === shardId && tail.canJoin(position)) return tail;
    }
    const tail = new ShardTail(this.context, shardId, position);
    this.tails.add(tail);
    return tail;
  }

  /** Called by a runner when it finished a shard: its children can start (discovering them if needed). */
  shardFinished(): void {
    this.refreshWanted = true;
    for (const runner of this.runners) runner.onShards(this.shards, false);
    void this.requestRefresh();
  }

  busySince(mark: number): string[] {
    const busy = this.runners.flatMap((r) => r.busySince(mark));
    if (this.refreshWanted && !this.gone && !this.stopped) busy.push(`${this.context.streamArn}: looking for new shards`);
    return busy;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.discoveryTimer);
    await Promise.all(this.runners.map((r) => r.stop()));
    await Promise.all([...this.tails].map((t) => t.stop()));
    await this.refreshing?.catch(() => {});
  }

  private scheduleDiscovery(): void {
    if (this.stopped || this.gone) return;
    this.discoveryTimer = setTimeout(() => {
      void this.requestRefresh().finally(() => this.scheduleDiscovery());
    }, this.discoveryIntervalMs);
  }

  /** Refreshes the shard list; a request during a refresh runs one more afterwards. */
  private async requestRefresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        const wanted = this.refreshWanted;
        await this.refresh(false).catch((error: Error) =>
          this.context.log(`describing ${this.context.streamArn} failed: ${error.message}`),
        );
        if (wanted && !this.refreshAgain) this.refreshWanted = false;
      } while (this.refreshAgain && !this.stopped);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refresh(initial: boolean): Promise<void> {
    if (this.stopped || this.gone) return;
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    try {
      do {
        const output = await this.context.client.send(
          new DescribeStreamCommand({ StreamArn: this.context.streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
        );
        shards.push(...(output.StreamDescription?.Shards ?? []));
        exclusiveStartShardId = output.StreamDescription?.LastEvaluatedShardId;
      } while (exclusiveStartShardId);
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      this.gone = true;
      this.context.log(`stream ${this.context.streamArn} no longer exists: its mappings stop reading it`);
      return;
    }
    if (this.stopped) return;
    this.shards = shards;
    for (const runner of this.runners) runner.onShards(shards, initial);
  }
}

/** One mapping on one stream: which shards it reads, in lineage order. */
class MappingRunner {
  private readonly consumers = new Map<string, ShardConsumer>();
  private readonly done = new Set<string>();
  private readonly delivery: BatchDelivery;
  private stopped = false;

  constructor(
    readonly config: StreamMappingConfig,
    private readonly source: StreamSource,
    context: DeliveryContext,
  ) {
    this.delivery = new BatchDelivery(config, context);
  }

  /**
   * Starts consumers for the shards that can start. At start-up, open shards start at their end
   * (LATEST) and closed ones are history; later, a new shard starts at its beginning once its
   * parent (when still listed) is done.
   */
  onShards(shards: readonly Shard[], initial: boolean): void {
    if (this.stopped) return;
    const listed = new Set(shards.map((s) => s.ShardId));
    for (const shard of shards) {
      const id = shard.ShardId;
      if (!id || this.consumers.has(id) || this.done.has(id)) continue;
      if (initial) {
        if (shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) {
          this.done.add(id);
          continue;
        }
        this.startConsumer(id, { type: 'LATEST' });
        continue;
      }
      const parent = shard.ParentShardId;
      if (parent && listed.has(parent) && !this.done.has(parent)) continue;
      this.startConsumer(id, { type: 'TRIM_HORIZON' });
    }
  }

  busySince(mark: number): string[] {
    return [...this.consumers.values()].filter((c) => !c.isIdleSince(mark)).map((c) => `${this.config.where}: ${c.describe()}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
  }

  private startConsumer(shardId: string, position: StartPosition): void {
    const consumer = new ShardConsumer(
      {
        batchSize: this.config.batchSize,
        batchingWindowMs: this.config.batchingWindowMs,
        filters: this.config.filters,
        delivery: this.delivery,
        tailFor: (id, p) => this.source.tailFor(id, p),
        log: (line) => this.source.context.log(`${this.config.where}: ${line}`),
      },
      shardId,
      position,
      (finished) => {
        this.consumers.delete(finished.shardId);
        this.done.add(finished.shardId);
        this.source.shardFinished();
      },
    );
    this.consumers.set(shardId, consumer);
    consumer.begin();
  }
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
  'StartingPosition',
  'FilterCriteria',
  'FunctionResponseTypes',
  'BisectBatchOnFunctionError',
  'MaximumRetryAttempts',
  'MaximumRecordAgeInSeconds',
  'DestinationConfig',
  'ParallelizationFactor',
  'TumblingWindowInSeconds',
]);
const NO_LOCAL_EFFECT: Record<string, string> = {
  Tags: 'tags have no local effect',
  MetricsConfig: 'event-source mapping metrics are not emulated',
  KmsKeyArn: 'filter criteria encryption has no local effect',
};

/** Validates one mapping; reports what cannot run or is not emulated. Undefined when it does not run here. */
function readMapping(model: CloudModel, resource: ModelResource, options: StreamMappingsOptions): StreamMappingConfig | undefined {
  const p = new MappingProperties(model, resource);
  const where = p.where;
  const sourceArn = typeof p.props.EventSourceArn === 'string' ? p.props.EventSourceArn : '';
  const streamMatch = DYNAMODB_STREAM_ARN.exec(sourceArn);
  if (!streamMatch) {
    if (!/^arn:[^:]+:sqs:/.test(sourceArn))
      model.diagnostics.unsupported(
        where,
        `event source ${describeSource(sourceArn, p.props)} is not emulated (only DynamoDB streams and SQS queues are)`,
      );
    return undefined;
  }
  p.checkKeys(HANDLED, NO_LOCAL_EFFECT, 'DynamoDB stream');

  const startingPosition = p.props.StartingPosition;
  if (startingPosition !== 'LATEST' && startingPosition !== 'TRIM_HORIZON') {
    p.error('StartingPosition', `${JSON.stringify(startingPosition)}: a DynamoDB stream mapping needs LATEST or TRIM_HORIZON`);
  }
  const reportBatchItemFailures = p.reportBatchItemFailures();
  const filters = p.filters();
  const enabled = p.flag('Enabled', true);
  const batchSize = p.integer('BatchSize', 100, 1, 10_000);
  const batchingWindow = p.integer('MaximumBatchingWindowInSeconds', 0, 0, 300);
  const maximumRetryAttempts = p.integer('MaximumRetryAttempts', -1, -1, 10_000);
  const maximumRecordAgeInSeconds = p.integer('MaximumRecordAgeInSeconds', -1, -1, 604_800);
  if (maximumRecordAgeInSeconds >= 0 && maximumRecordAgeInSeconds < 60) {
    p.error('MaximumRecordAgeInSeconds', `${maximumRecordAgeInSeconds} is below the minimum of 60 (or -1 for infinite)`);
  }
  const bisectBatchOnFunctionError = p.flag('BisectBatchOnFunctionError', false);
  const parallelization = p.integer('ParallelizationFactor', 1, 1, 10);
  if (parallelization > 1) {
    p.unsupported(
      'ParallelizationFactor',
      `ParallelizationFactor ${parallelization} runs as 1 locally: one batch per shard at a time (order kept, less concurrency)`,
    );
  }
  const tumblingWindow = p.integer('TumblingWindowInSeconds', 0, 0, 900);
  if (tumblingWindow > 0) {
    p.unsupported('TumblingWindowInSeconds', 'tumbling windows are not emulated: batches are delivered without window or state fields');
  }

  const destinationConfig = p.props.DestinationConfig as { OnFailure?: { Destination?: unknown }; OnSuccess?: unknown } | undefined;
  const destination = destinationConfig?.OnFailure?.Destination;
  if (destination !== undefined && (typeof destination !== 'string' || !destination.startsWith('arn:'))) {
    p.error('DestinationConfig/OnFailure/Destination', `${JSON.stringify(destination)} is not an ARN`);
  }
  if (destinationConfig?.OnSuccess !== undefined) {
    p.unsupported('DestinationConfig/OnSuccess', 'on-success destinations do not apply to stream mappings');
  }

  const tableName = streamMatch[1]!;
  const table = options.tables.find((t) => t.name === tableName);
  if (!table) {
    p.unsupported('EventSourceArn', `table ${tableName} is not defined in the templates, so its stream cannot be read locally`);
    return undefined;
  }
  if (!table.streamArn) {
    p.error('EventSourceArn', `table ${tableName} has no stream (StreamSpecification)`);
    return undefined;
  }

  const fn = p.function(options.lambda);
  if (!fn || !p.valid || !enabled) return undefined;
  return {
    resource,
    where,
    fn,
    table,
    streamArn: table.streamArn,
    startingPosition: startingPosition as 'LATEST' | 'TRIM_HORIZON',
    batchSize,
    batchingWindowMs: batchingWindow * 1000,
    filters,
    reportBatchItemFailures,
    bisectBatchOnFunctionError,
    maximumRetryAttempts,
    maximumRecordAgeInSeconds,
    onFailureDestination: typeof destination === 'string' ? destination : undefined,
  };
}

function describeSource(arn: string, props: Record<string, unknown>): string {
  if (arn) {
    const service = arn.split(':')[2] ?? '';
    const kind: Record<string, string> = {
      sqs: 'SQS queue',
      kinesis: 'Kinesis stream',
      kafka: 'MSK cluster',
      mq: 'Amazon MQ broker',
      rds: 'DocumentDB cluster',
    };
    return `${arn}${kind[service] ? ` (${kind[service]})` : ''}`;
  }
  if (props.SelfManagedEventSource) return '(self-managed Apache Kafka)';
  return '(none)';
}
