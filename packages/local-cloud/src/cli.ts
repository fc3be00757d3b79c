/**
 * The command line: synthesizes a CDK app (or takes a synthesized cloud assembly) and runs it in
 * the local cloud until Ctrl-C. `runCli` is also how a project wraps it in its own `npm start`,
 * adding seeding through `onReady`.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCloud } from './cloud';
import { DynamoDbServer } from './dynamodb/server';
import { parseContextFlag, readCdkJson, synthesize, type AppCommand } from './synth';

export interface ReadyContext {
  readonly cloud: LocalCloud;
  /** Certificates, endpoints.json and anything the hook keeps across restarts. */
  readonly stateDir: string;
  /** True when the app is the caller's default one (no `--assembly`, no `--app`). */
  readonly defaultApp: boolean;
}

export interface CliOptions {
  /** How the usage line names the command. @default 'local-cloud' */
  readonly command?: string;
  /** The app to synthesize when neither `--assembly` nor `--app` is given. @default cdk.json's `app` in the working directory */
  readonly defaultApp?: AppCommand;
  /** The app's directory. @default process.cwd() */
  readonly cwd?: string;
  /** Runs once the cloud is ready, before the banner; the lines it returns are added to the banner. */
  readonly onReady?: (ready: ReadyContext) => Promise<readonly string[] | undefined> | Promise<void>;
  /** Options the caller handles itself (already removed from argv), shown in the usage text. */
  readonly extraUsage?: readonly string[];
}

const USAGE = (command: string, extra: readonly string[]) => `Usage: ${command} [options]
  --app CMD            synthesize this CDK app first (as in cdk.json, e.g. "npx tsx bin/app.ts")
  --assembly DIR       run an already-synthesized cloud assembly (any CDK app's cdk.out)
  -c, --context K=V    context for the synthesis (repeatable; as cdk's -c)
${extra.map((line) => `${line}\n`).join('')}  --http-port N        first HTTP API (default 3000; 0 = any free port)
  --ws-port N          first WebSocket API (default 3001)
  --control-port N     control API (default 3002)
  --tls-port N         wss:// and https @connections of the first WebSocket API (default 3003)
  --host ADDR          interface to listen on (default 127.0.0.1)
  --persist DIR        keep DynamoDB data in DIR between runs (default: in memory)
  --state-dir DIR      certificates and endpoints.json (default: .local)
  --max-workers N      execution environments per function (default 8)
  --clock-factor F     speed of the virtual clock: 1 real time (default), 0 frozen, 86400 a day per second
  --help
Without --app or --assembly, the app is cdk.json's "app" in the working directory.`;

/** Parses `argv`, starts the local cloud and keeps it running until SIGINT/SIGTERM. */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<void> {
  const started = performance.now();
  const cwd = resolve(options.cwd ?? process.cwd());
  const { values } = parseArgs({
    args: [...argv],
    options: {
      app: { type: 'string' },
      assembly: { type: 'string' },
      context: { type: 'string', short: 'c', multiple: true, default: [] },
      'http-port': { type: 'string', default: '3000' },
      'ws-port': { type: 'string', default: '3001' },
      'control-port': { type: 'string', default: '3002' },
      'tls-port': { type: 'string', default: '3003' },
      host: { type: 'string', default: '127.0.0.1' },
      persist: { type: 'string' },
      'state-dir': { type: 'string', default: join(cwd, '.local') },
      'max-workers': { type: 'string', default: '8' },
      'clock-factor': { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE(options.command ?? 'local-cloud', options.extraUsage ?? []));
    return;
  }
  if (values.app && values.assembly) throw new Error('give --app or --assembly, not both');
  const port = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number (0-65535), got "${value}"`);
    return n;
  };
  const ports = {
    httpPort: port('http-port', values['http-port']!),
    wsPort: port('ws-port', values['ws-port']!),
    controlPort: port('control-port', values['control-port']!),
    tlsPort: port('tls-port', values['tls-port']!),
  };
  const maxWorkers = Number(values['max-workers']);
  if (!Number.isInteger(maxWorkers) || maxWorkers < 1)
    throw new Error(`--max-workers must be a whole number from 1, got "${values['max-workers']}"`);
  const clockFactor = Number(values['clock-factor']);
  if (!Number.isFinite(clockFactor) || clockFactor < 0)
    throw new Error(`--clock-factor must be a number from 0, got "${values['clock-factor']}"`);
  if (values.assembly && values.context!.length > 0) throw new Error('--context applies to a synthesis: it has no effect with --assembly');
  const flagContext = Object.fromEntries(values.context!.map(parseContextFlag));
  const cdkJson = readCdkJson(cwd);
  const app: AppCommand | undefined = values.app ?? options.defaultApp ?? cdkJson?.app;
  if (!values.assembly && !app) throw new Error(`no CDK app: give --app CMD or --assembly DIR, or run where cdk.json is (${cwd})`);

  process.env.TZ = 'UTC'; // as in Lambda
  // The SDK's notice about its future Node.js floor is noise in a local tool.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const stateDir = resolve(values['state-dir']!);
  mkdirSync(stateDir, { recursive: true });

  // DynamoDB Local's JVM starts while the app synthesizes.
  const dynamodb = DynamoDbServer.start({ host: values.host, persistDir: values.persist });
  dynamodb.catch(() => {});
  const stopDynamoDb = async () => (await dynamodb.catch(() => undefined))?.stop();
  let cloud: LocalCloud;
  try {
    const assemblyDir = values.assembly
      ? resolve(values.assembly)
      : await synthesize({
          app: app!,
          cwd,
          outdir: join(stateDir, 'cdk.out'),
          context: { ...cdkJson?.context, ...flagContext },
        });
    cloud = await LocalCloud.start({
      assemblyDir,
      dynamodb,
      host: values.host,
      ...ports,
      stateDir,
      endpointsFile: join(stateDir, 'endpoints.json'),
      maxWorkersPerFunction: maxWorkers,
      clockFactor,
    });
  } catch (error) {
    await stopDynamoDb();
    throw error;
  }
  const db = await dynamodb;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the local cloud...`);
    await cloud.stop();
    await db.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const extra = (await options.onReady?.({ cloud, stateDir, defaultApp: !values.app && !values.assembly })) ?? [];

  const e = cloud.endpoints;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    [
      `Local cloud ready in ${seconds} s`,
      e.httpUrl ? `  HTTP API   ${e.httpUrl}` : undefined,
      e.wsUrl ? `  WebSocket  ${e.wsUrl}` : undefined,
      `  Control    ${e.controlUrl}`,
      `  DynamoDB   ${e.services.dynamodb}`,
      `  Endpoints  ${join(stateDir, 'endpoints.json')}`,
      ...extra,
      'Ctrl-C to stop.',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** Runs `main` and exits 1 with its message (no stack) when it fails: for bin scripts. */
export function exitOnError(main: Promise<void>): void {
  main.catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
