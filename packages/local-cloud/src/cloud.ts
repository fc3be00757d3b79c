/**
 * The local cloud: runs a synthesized CDK app (its cloud assembly) on one machine with no AWS
 * account and no Docker. Everything is driven by the templates, so the wiring is written once,
 * in `lib/`, and the same Lambda bundles run here as in AWS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadAssembly } from './assembly';
import { CloudModel } from './model';
import { DynamoDbServer } from './dynamodb/server';
import { createTables, type LocalTable } from './dynamodb/tables';
import { TtlSweeper } from './dynamodb/ttl-sweeper';
import { LambdaService } from './lambda/service';
import { AsyncInvoker } from './lambda/async';
import { EventBridgeService } from './events/service';
import { SchedulerService } from './scheduler/service';
import { StepFunctionsService } from './stepfunctions/service';
import { SqsService } from './sqs/service';
import { SecretsManagerService } from './secretsmanager/service';
import { SqsEventSourceMappings } from './sqs/event-source';
import { lambdaInvokeApi } from './lambda/invoke-api';
import { HttpApiServer } from './apigw/http-api';
import { WebSocketApiServer, type WebSocketApiEndpoints } from './apigw/websocket-api';
import { StreamEventSourceMappings } from './streams/stream-mappings';
import { loadOrCreateTls } from './tls';
import { ControlServer } from './control';
import type { JsonService, RestService } from './aws-protocol';
import { VirtualClock } from './clock';
import { AwsError, Targets } from './targets';
import { reportTemplateCoverage } from './coverage';

export interface LocalCloudOptions {
  /** The cloud assembly directory (`cdk.out`). */
  readonly assemblyDir: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Port of the first HTTP API (others get free ports). @default 3000 */
  readonly httpPort?: number;
  /** Port of the first WebSocket API (others get free ports). @default 3001 */
  readonly wsPort?: number;
  /** Port of the control API. @default 3002 */
  readonly controlPort?: number;
  /** TLS port of the first WebSocket API (wss:// and https @connections). @default 3003 */
  readonly tlsPort?: number;
  /** Keep DynamoDB data in this directory. @default in memory */
  readonly persistDir?: string;
  /** Where certificates and state live. @default `.local` next to the assembly's parent */
  readonly stateDir?: string;
  /** Write the endpoints document here when ready. @default none */
  readonly endpointsFile?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default 8 */
  readonly maxWorkersPerFunction?: number;
  /** WebSocket API limits (defaults: API Gateway's; see `WebSocketApiServerOptions`). */
  readonly websocket?: {
    readonly idleTimeoutMs?: number;
    readonly maxConnectionMs?: number;
    readonly maxFrameBytes?: number;
    readonly maxMessageBytes?: number;
  };
  /**
   * Virtual seconds between sweeps deleting TTL-expired items (DynamoDB Local never does).
   * @default 30
   */
  readonly ttlSweepSeconds?: number;
  /** Start-up messages (diagnostics). @default console.error */
  readonly log?: (line: string) => void;
  /** Function output. @default tagged lines on stdout/stderr */
  readonly functionLog?: (functionName: string, fd: 1 | 2, text: string) => void;
  /** Speed of the virtual clock: 1 = real time, 0 = frozen (only advancing moves it). @default 1 */
  readonly clockFactor?: number;
  /** Virtual time at start-up (epoch ms). @default now */
  readonly clockStart?: number;
  /** An already-running DynamoDB Local to use instead of starting one. */
  readonly dynamodb?: DynamoDbServer | Promise<DynamoDbServer>;
}

/**
 * endpoints.json's service keys → the SDK's `AWS_ENDPOINT_URL_<SERVICE_ID>` suffix (the SDK's
 * service id, upper-cased, spaces as underscores).
 */
const SDK_SERVICE_IDS = {
  dynamodb: 'DYNAMODB',
  dynamodbstreams: 'DYNAMODB_STREAMS',
  apigatewaymanagementapi: 'APIGATEWAYMANAGEMENTAPI',
  lambda: 'LAMBDA',
  sqs: 'SQS',
  events: 'EVENTBRIDGE',
  states: 'SFN',
  scheduler: 'SCHEDULER',
  secretsmanager: 'SECRETS_MANAGER',
} as const;

export interface ResourceEndpoint {
  readonly type: string;
  readonly physicalId: string;
  readonly arn?: string;
  readonly url?: string;
}

export interface Endpoints {
  readonly httpUrl?: string;
  readonly wsUrl?: string;
  readonly controlUrl: string;
  readonly services: Record<string, string>;
  readonly resources: Record<string, Record<string, ResourceEndpoint>>;
  readonly outputs: Record<string, Record<string, unknown>>;
}

export class LocalCloud {
  private constructor(
    readonly model: CloudModel,
    readonly endpoints: Endpoints,
    readonly lambda: LambdaService,
    readonly tables: LocalTable[],
    /** DynamoDB Streams → Lambda mappings (`idle()` waits until every shard is caught up). */
    readonly streamMappings: StreamEventSourceMappings,
    /** The virtual clock every part shares. */
    readonly clock: VirtualClock,
    readonly targets: Targets,
    /** Deletes TTL-expired items on the virtual clock (`sweep()` forces a sweep). */
    readonly ttlSweeper: TtlSweeper,
    private readonly stoppables: Array<{ stop(): Promise<void> }>,
  ) {}

  static async start(options: LocalCloudOptions): Promise<LocalCloud> {
    const log = options.log ?? ((line: string) => console.error(line));
    const host = options.host ?? '127.0.0.1';
    // Stopped in reverse order of starting; DynamoDB Local (when started here) is last in line.
    const stoppables: Array<{ stop(): Promise<void> }> = [];
    // DynamoDB Local's JVM is the slowest piece: start it first, work on the templates meanwhile.
    // An injected DynamoDB Local belongs to the caller; one started here is stopped here.
    const dynamodbPromise = options.dynamodb
      ? Promise.resolve(options.dynamodb)
      : DynamoDbServer.start({ host, persistDir: options.persistDir }).then((d) => {
          stoppables.unshift(d);
          return d;
        });
    dynamodbPromise.catch(() => {}); // awaited below; a failure surfaces there
    const stopAll = async () => {
      await dynamodbPromise.catch(() => undefined);
      for (const s of [...stoppables].reverse()) await s.stop().catch(() => {});
    };
    try {

      const model = new CloudModel(loadAssembly(options.assemblyDir), { region: options.region });
      reportTemplateCoverage(model);
      model.assertValid();

      const stateDir = resolve(options.stateDir ?? join(dirname(resolve(options.assemblyDir)), '.local'));
      const tls = await loadOrCreateTls(join(stateDir, 'tls'));
      const clock = new VirtualClock({ factor: options.clockFactor ?? 1, start: options.clockStart });
      stoppables.push({ stop: async () => clock.stop() });
      const targets = new Targets();
      const control = new ControlServer({
        host,
        port: options.controlPort ?? 3002,
        clock,
        context: { region: model.region, accountId: model.accountId },
      });
      stoppables.push(control);
      const controlUrl = await control.start();

      const services: Partial<Record<keyof typeof SDK_SERVICE_IDS, string>> = {};
      const lambda = new LambdaService(model, {
        clock,
        caPem: tls.caPem,
        maxWorkersPerFunction: options.maxWorkersPerFunction,
        log: options.functionLog,
        baseEnvironment: () => ({
          AWS_ACCESS_KEY_ID: 'LOCALCLOUDACCESSKEY',
          AWS_SECRET_ACCESS_KEY: 'local-cloud-secret-access-key',
          AWS_SESSION_TOKEN: 'local-cloud-session-token',
          // Any service the local cloud does not emulate answers with a clear error, never real AWS.
          AWS_ENDPOINT_URL: `${controlUrl}/unsupported-service`,
          ...Object.fromEntries(Object.entries(services).map(([key, url]) => [`AWS_ENDPOINT_URL_${SDK_SERVICE_IDS[key as keyof typeof SDK_SERVICE_IDS]}`, url])),
        }),
      });
      stoppables.push(lambda);
      const asyncInvoker = new AsyncInvoker(model, lambda, clock, targets, log);
      control.registerRest(lambdaInvokeApi(lambda, asyncInvoker));
      services.lambda = controlUrl;
      // Rules, schedules and destinations invoke functions asynchronously, as in AWS.
      targets.register('arn:aws:lambda:', async (delivery) => {
        const fn = lambda.get(delivery.arn);
        if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${delivery.arn}`, 404);
        return asyncInvoker.invoke(fn, JSON.parse(delivery.input));
      });
      const serviceContext = { model, clock, targets, lambda, log };
      /** Serves a service on the control port, points functions' SDK at it, and stops it on exit. */
      const mount = (
        key: keyof typeof SDK_SERVICE_IDS,
        service: { stop(): unknown; isIdle?(): boolean },
        api: { json?: JsonService; rest?: RestService; settles?: string },
      ) => {
        if (api.json) control.registerJson(api.json);
        if (api.rest) control.registerRest(api.rest);
        services[key] = controlUrl;
        stoppables.push({ stop: async () => void (await service.stop()) });
        if (api.settles && service.isIdle) clock.register({ name: api.settles, isIdle: () => service.isIdle!() });
      };
      // Generated secrets (e.g. a token-signing key) persist in the state directory across restarts.
      const secretsManager = new SecretsManagerService(serviceContext, { stateDir });
      mount('secretsmanager', secretsManager, { json: secretsManager.jsonService });
      await secretsManager.start();
      const sqs = new SqsService(serviceContext, { endpoint: controlUrl });
      mount('sqs', sqs, { json: sqs.jsonService, settles: 'SQS' });
      await sqs.start();
      // Queue URLs in function environments and outputs point at the local SQS, not at AWS.
      model.addLocalizer((text) => sqs.localizeUrls(text));
      const sqsMappings = new SqsEventSourceMappings(serviceContext, sqs);
      stoppables.push(sqsMappings);
      // EventBridge and Step Functions register their own settle checks and target prefixes in start().
      const events = new EventBridgeService(serviceContext);
      mount('events', events, { json: events.jsonService });
      const stepFunctions = new StepFunctionsService(serviceContext);
      mount('states', stepFunctions, { json: stepFunctions.jsonService });
      stepFunctions.start();
      const scheduler = new SchedulerService(serviceContext);
      mount('scheduler', scheduler, { rest: scheduler.restService, settles: 'EventBridge Scheduler' });
      // Services report template errors while they load: stop here if there are any.
      model.assertValid();
      events.start();

      // APIs: the first of each kind on the well-known port, further ones on free ports.
      const httpApis = model.ofType('AWS::ApiGatewayV2::Api').filter((a) => model.properties(a).ProtocolType === 'HTTP');
      const wsApis = model.ofType('AWS::ApiGatewayV2::Api').filter((a) => model.properties(a).ProtocolType === 'WEBSOCKET');
      const apiUrls = new Map<string, string>();
      let httpUrl: string | undefined;
      for (const [i, api] of httpApis.entries()) {
        const server = new HttpApiServer({ model, lambda, api, host, port: i === 0 ? (options.httpPort ?? 3000) : 0 });
        stoppables.push(server);
        const { url } = await server.start();
        model.setApiEndpoints(api.ref, { https: url });
        apiUrls.set(api.where, url);
        httpUrl ??= url;
      }
      let wsUrl: string | undefined;
      for (const [i, api] of wsApis.entries()) {
        const server = new WebSocketApiServer({
          model,
          lambda,
          api,
          host,
          port: i === 0 ? (options.wsPort ?? 3001) : 0,
          tlsPort: i === 0 ? (options.tlsPort ?? 3003) : 0,
          tls,
          idleTimeoutMs: options.websocket?.idleTimeoutMs,
          maxConnectionMs: options.websocket?.maxConnectionMs,
          maxFrameBytes: options.websocket?.maxFrameBytes,
          maxMessageBytes: options.websocket?.maxMessageBytes,
        });
        stoppables.push(server);
        const endpoints: WebSocketApiEndpoints = await server.start();
        model.setApiEndpoints(api.ref, { https: endpoints.httpsBase, wss: endpoints.wsBase });
        apiUrls.set(api.where, endpoints.wsUrl);
        if (i === 0) services.apigatewaymanagementapi = `${endpoints.httpBase}/${endpoints.stages[0] ?? ''}`.replace(/\/$/, '');
        wsUrl ??= endpoints.wsUrl;
      }

      const dynamodb = await dynamodbPromise;
      services.dynamodb = dynamodb.endpoint;
      services.dynamodbstreams = dynamodb.endpoint;
      stepFunctions.setDynamoDbEndpoint(dynamodb.endpoint);
      const ddbClient = new DynamoDBClient({
        endpoint: dynamodb.endpoint,
        region: model.region,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const tables = await createTables(model, ddbClient);
      ddbClient.destroy();
      // TTL, which DynamoDB Local lacks: swept every ttlSweepSeconds of virtual time, and whenever
      // the clock settles (so advancing deletes what expired on the way, and settling then waits
      // for the stream mappings to deliver the REMOVE records).
      const ttlSweeper = new TtlSweeper({
        model,
        tables,
        clock,
        endpoint: dynamodb.endpoint,
        region: model.region,
        periodSeconds: options.ttlSweepSeconds,
        log,
      });
      stoppables.push(ttlSweeper);
      clock.register({ name: 'DynamoDB TTL sweeper', isIdle: () => ttlSweeper.isIdle() });

      const mappings = new StreamEventSourceMappings({
        model,
        lambda,
        tables,
        dynamodbEndpoint: dynamodb.endpoint,
        log,
        onFailure: async (destination, record) => {
          control.recordFailure(destination, record);
          await targets.deliver({ arn: destination, input: JSON.stringify(record) });
        },
      });
      stoppables.push(mappings);
      await mappings.start();
      clock.register({
        name: 'DynamoDB stream mappings',
        isIdle: () => mappings.idle({ timeoutMs: 5_000 }).then(() => true, () => false),
      });

      await sqsMappings.start();
      clock.register({ name: 'SQS event-source mappings', isIdle: () => sqsMappings.isIdle() });
      // Last: a template rate() schedule fires at once, and every target handler is registered now.
      scheduler.start();
      ttlSweeper.start();

      const diagnostics = model.diagnostics.format();
      if (diagnostics) log(`Template coverage:\n${diagnostics}`);

      const resources: Record<string, Record<string, ResourceEndpoint>> = {};
      for (const r of model.resources) {
        (resources[r.stack.stackName] ??= {})[r.logicalId] = {
          type: r.type,
          physicalId: r.physicalId,
          ...(r.arn ? { arn: r.arn } : {}),
          ...(apiUrls.has(r.where) ? { url: apiUrls.get(r.where) } : {}),
          ...(r.type === 'AWS::SQS::Queue' ? { url: sqs.queueUrl(r.physicalId) } : {}),
        };
      }
      const endpoints: Endpoints = {
        ...(httpUrl ? { httpUrl } : {}),
        ...(wsUrl ? { wsUrl } : {}),
        controlUrl,
        services,
        resources,
        outputs: model.outputs(),
      };
      control.setEndpoints(endpoints);
      if (options.endpointsFile) {
        mkdirSync(dirname(options.endpointsFile), { recursive: true });
        writeFileSync(options.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
      }
      return new LocalCloud(model, endpoints, lambda, tables, mappings, clock, targets, ttlSweeper, stoppables);
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  async stop(): Promise<void> {
    for (const s of [...this.stoppables].reverse()) await s.stop().catch(() => {});
  }
}
