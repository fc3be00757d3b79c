/**
 * The local cloud: runs a synthesized CDK app (its cloud assembly) on one machine with no AWS
 * account and no Docker. Everything is driven by the templates, so the wiring is written once,
 * in the app's CDK code, and the same Lambda bundles run here as in AWS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadAssembly } from './assembly';
import { CloudModel } from './model';
import { DynamoDbServer } from './dynamodb/server';
import type { LocalTable } from './dynamodb/tables';
import type { TtlSweeper } from './dynamodb/ttl-sweeper';
import { DynamoDbModule } from './dynamodb/module';
import { LambdaService } from './lambda/service';
import { AsyncInvoker } from './lambda/async';
import { lambdaInvokeApi } from './lambda/invoke-api';
import { secretsManagerModule } from './secretsmanager/module';
import { sesModule } from './ses/module';
import { sqsModule } from './sqs/module';
import { eventBridgeModule } from './events/module';
import { stepFunctionsModule } from './stepfunctions/module';
import { schedulerModule } from './scheduler/module';
import { apiGatewayModule } from './apigw/module';
import type { StreamEventSourceMappings } from './streams/stream-mappings';
import { loadOrCreateTls } from './tls';
import { ControlServer } from './control';
import { VirtualClock } from './clock';
import { AwsError, Targets } from './targets';
import { reportTemplateCoverage } from './coverage';
import type { LoadedService, ServiceModule, StartContext } from './service-module';

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
      await stopInReverse(stoppables);
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

      // Every service but Lambda, in the order they start (see service-module.ts).
      const dynamodb = new DynamoDbModule(options);
      const modules: ServiceModule[] = [
        secretsManagerModule,
        sesModule,
        sqsModule,
        eventBridgeModule,
        stepFunctionsModule,
        schedulerModule,
        apiGatewayModule(options),
        dynamodb,
      ];
      const services: Record<string, string> = {};
      const lambda = startLambda({ model, clock, targets, control, controlUrl, caPem: tls.caPem, services, modules, options, log });
      stoppables.push(lambda);
      const cloud: StartContext = {
        model,
        clock,
        targets,
        lambda,
        log,
        host,
        stateDir,
        tls,
        control,
        controlUrl,
        dynamodb: dynamodbPromise,
        services,
        mount(key, service, api) {
          if (api.json) control.registerJson(api.json);
          if (api.rest) control.registerRest(api.rest);
          services[key] = controlUrl;
          stoppables.push({ stop: async () => void (await service.stop()) });
          if (api.settles && service.isIdle) clock.register({ name: api.settles, isIdle: () => service.isIdle!() });
        },
        stopOnExit: (part) => void stoppables.push(part),
      };
      const loaded: LoadedService[] = [];
      for (const module of modules) loaded.push(await module.load(cloud));
      // Services report template errors while they load: stop here if there are any.
      model.assertValid();
      for (const service of loaded) await service.start?.();
      // Last: a template rate() schedule fires at once, and every target handler is registered now.
      for (const service of loaded) await service.run?.();

      const diagnostics = model.diagnostics.format();
      if (diagnostics) log(`Template coverage:\n${diagnostics}`);

      const endpoints = endpointsDocument(model, loaded, controlUrl, services);
      control.setEndpoints(endpoints);
      if (options.endpointsFile) {
        mkdirSync(dirname(options.endpointsFile), { recursive: true });
        writeFileSync(options.endpointsFile, `${JSON.stringify(endpoints, null, 2)}\n`);
      }
      return new LocalCloud(
        model,
        endpoints,
        lambda,
        dynamodb.tables,
        dynamodb.streamMappings,
        clock,
        targets,
        dynamodb.ttlSweeper,
        stoppables,
      );
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  async stop(): Promise<void> {
    await stopInReverse(this.stoppables);
  }
}

/** Stops what was started, last started first; one that fails to stop does not keep the rest running. */
async function stopInReverse(stoppables: ReadonlyArray<{ stop(): Promise<void> }>): Promise<void> {
  for (const s of [...stoppables].reverse()) await s.stop().catch(() => {});
}

/**
 * Lambda, which every other service invokes: its functions, the Invoke API on the control port,
 * and the target prefix through which rules, schedules and destinations invoke them.
 */
function startLambda(parts: {
  readonly model: CloudModel;
  readonly clock: VirtualClock;
  readonly targets: Targets;
  readonly control: ControlServer;
  readonly controlUrl: string;
  readonly caPem: string;
  /** endpoints.json's `services`, filled as the modules start (read when a function starts). */
  readonly services: Record<string, string>;
  readonly modules: readonly ServiceModule[];
  readonly options: LocalCloudOptions;
  readonly log: (line: string) => void;
}): LambdaService {
  const { model, clock, targets, control, controlUrl, services, options, log } = parts;
  const sdkServiceIds: Record<string, string> = Object.assign({ lambda: 'LAMBDA' }, ...parts.modules.map((m) => m.sdkServiceIds));
  const lambda = new LambdaService(model, {
    clock,
    caPem: parts.caPem,
    maxWorkersPerFunction: options.maxWorkersPerFunction,
    log: options.functionLog,
    baseEnvironment: () => ({
      AWS_ACCESS_KEY_ID: 'LOCALCLOUDACCESSKEY',
      AWS_SECRET_ACCESS_KEY: 'local-cloud-secret-access-key',
      AWS_SESSION_TOKEN: 'local-cloud-session-token',
      // Any service the local cloud does not emulate answers with a clear error, never real AWS.
      AWS_ENDPOINT_URL: `${controlUrl}/unsupported-service`,
      ...Object.fromEntries(Object.entries(services).map(([key, url]) => [`AWS_ENDPOINT_URL_${sdkServiceIds[key]}`, url])),
    }),
  });
  const asyncInvoker = new AsyncInvoker(model, lambda, clock, targets, log);
  control.registerRest(lambdaInvokeApi(lambda, asyncInvoker));
  services.lambda = controlUrl;
  // Rules, schedules and destinations invoke functions asynchronously, as in AWS.
  targets.register('arn:aws:lambda:', async (delivery) => {
    const fn = lambda.get(delivery.arn);
    if (!fn) throw new AwsError('ResourceNotFoundException', `Function not found: ${delivery.arn}`, 404);
    return asyncInvoker.invoke(fn, JSON.parse(delivery.input));
  });
  return lambda;
}

/** endpoints.json: where every API, service and resource of the templates answers locally. */
function endpointsDocument(
  model: CloudModel,
  loaded: readonly LoadedService[],
  controlUrl: string,
  services: Record<string, string>,
): Endpoints {
  const resources: Record<string, Record<string, ResourceEndpoint>> = {};
  for (const r of model.resources) {
    const entry: ResourceEndpoint = { type: r.type, physicalId: r.physicalId, ...(r.arn ? { arn: r.arn } : {}) };
    for (const service of loaded) Object.assign(entry, service.describe?.(r));
    resources[r.stack.stackName] ??= {};
    resources[r.stack.stackName][r.logicalId] = entry;
  }
  const urls: Pick<Endpoints, 'httpUrl' | 'wsUrl'> = {};
  for (const service of loaded) Object.assign(urls, service.urls?.());
  return {
    ...urls,
    controlUrl,
    services,
    resources,
    outputs: model.outputs(),
  };
}
