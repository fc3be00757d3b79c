/**
 * `npm start`: synthesizes this project's CDK app (or takes any cloud assembly with
 * `--assembly DIR`) and runs it in the local cloud until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LocalCloud } from './cloud';
import { DynamoDbServer } from './dynamodb/server';
import { ensureLocalAdmin } from './admin';

const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

const USAGE = `Usage: npm start -- [options]
  --assembly DIR       run an already-synthesized cloud assembly (any CDK app's cdk.out)
  --stage NAME         stage to synthesize this project with (default: local)
  --http-port N        first HTTP API (default 3000; 0 = any free port)
  --ws-port N          first WebSocket API (default 3001)
  --control-port N     control API (default 3002)
  --tls-port N         wss:// and https @connections of the first WebSocket API (default 3003)
  --host ADDR          interface to listen on (default 127.0.0.1)
  --persist DIR        keep DynamoDB data in DIR between runs (default: in memory)
  --state-dir DIR      certificates and endpoints.json (default: .local)
  --max-workers N      execution environments per function (default 8)
  --clock-factor F     speed of the virtual clock: 1 real time (default), 0 frozen, 86400 a day per second
  --help`;

async function main(): Promise<void> {
  const started = performance.now();
  const { values } = parseArgs({
    options: {
      assembly: { type: 'string' },
      stage: { type: 'string', default: 'local' },
      'http-port': { type: 'string', default: '3000' },
      'ws-port': { type: 'string', default: '3001' },
      'control-port': { type: 'string', default: '3002' },
      'tls-port': { type: 'string', default: '3003' },
      host: { type: 'string', default: '127.0.0.1' },
      persist: { type: 'string' },
      'state-dir': { type: 'string', default: join(PROJECT_ROOT, '.local') },
      'max-workers': { type: 'string', default: '8' },
      'clock-factor': { type: 'string', default: '1' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = (name: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number (0-65535), got "${value}"`);
    return n;
  };
  process.env.TZ = 'UTC'; // as in Lambda
  // The local cloud supports Node 20; the SDK's notice about its future Node 22 floor is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const stateDir = resolve(values['state-dir']!);
  mkdirSync(stateDir, { recursive: true });

  // DynamoDB Local's JVM starts while the app synthesizes.
  const dynamodb = DynamoDbServer.start({ host: values.host, persistDir: values.persist });
  dynamodb.catch(() => {});
  let assemblyDir: string;
  try {
    assemblyDir = values.assembly ? resolve(values.assembly) : await synthesize(values.stage!, join(stateDir, 'cdk.out'));
  } catch (error) {
    await (await dynamodb.catch(() => undefined))?.stop();
    throw error;
  }

  let cloud: LocalCloud;
  try {
    cloud = await LocalCloud.start({
      assemblyDir,
      dynamodb,
      host: values.host,
      httpPort: port('http-port', values['http-port']!),
      wsPort: port('ws-port', values['ws-port']!),
      controlPort: port('control-port', values['control-port']!),
      tlsPort: port('tls-port', values['tls-port']!),
      stateDir,
      endpointsFile: join(stateDir, 'endpoints.json'),
      maxWorkersPerFunction: Number(values['max-workers']),
      clockFactor: Number(values['clock-factor']),
    });
  } catch (error) {
    await (await dynamodb.catch(() => undefined))?.stop();
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

  // This project's app gets a local administrator; a foreign assembly is run as it is.
  const admin = values.assembly ? undefined : await ensureLocalAdmin(cloud.endpoints, stateDir, cloud.model.region);

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
      admin ? `  Admin      ${admin.email} / ${admin.password}  (${join(stateDir, 'admin.json')})` : undefined,
      'Ctrl-C to stop.',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** What the CDK CLI adds to the context by default: construct paths and asset metadata on resources. */
const CLI_CONTEXT = { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true };

/**
 * Runs the CDK app the way the CDK CLI does (CDK_OUTDIR, CDK_CONTEXT_JSON), without the CLI's
 * overhead. The output directory is kept between runs: bundles whose inputs did not change are
 * reused (AppFunction hashes its inputs). CDK's built-in CloudFormation validation is skipped
 * here; `cdk synth` and the tests run it.
 */
async function synthesize(stage: string, outdir: string): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bin/app.ts')], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      // local/bin/npx runs the project's esbuild without npx's start-up cost (decision 14).
      PATH: `${join(PROJECT_ROOT, 'local/bin')}${delimiter}${process.env.PATH ?? ''}`,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ stage, ...CLI_CONTEXT }),
      CDK_VALIDATION: 'false',
    },
  });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`cdk synth failed (exit ${code}); see the output above`);
  return outdir;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
