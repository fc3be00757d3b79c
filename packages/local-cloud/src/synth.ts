/**
 * Synthesizes a CDK app the way the CDK CLI does (CDK_OUTDIR, CDK_CONTEXT_JSON), without the CLI's
 * overhead. The output directory is kept between runs, so an app whose bundles hash their inputs
 * reuses them. CDK's built-in CloudFormation validation is skipped: `cdk synth` runs it.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Holds an `npx` that runs `npx --no-install esbuild` without npx's start-up cost (see shims/npx). */
export const SHIMS_DIR = fileURLToPath(new URL('../shims', import.meta.url));

/** What the CDK CLI adds to the context by default: construct paths and asset metadata on resources. */
const CLI_CONTEXT = { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true };

/** A CDK app: a shell command as in cdk.json's `app`, or an executable with its arguments (no shell). */
export type AppCommand = string | { readonly command: string; readonly args: readonly string[] };

export interface SynthesizeOptions {
  readonly app: AppCommand;
  /** Where the cloud assembly goes. */
  readonly outdir: string;
  /** The app's directory (where cdk.json would be). @default process.cwd() */
  readonly cwd?: string;
  /** Context values, as `-c key=value` gives them to the CDK CLI. */
  readonly context?: Record<string, unknown>;
}

/** Runs the app with its output shown; resolves with the assembly directory. */
export async function synthesize(options: SynthesizeOptions): Promise<string> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = {
    ...process.env,
    PATH: `${SHIMS_DIR}${delimiter}${process.env.PATH ?? ''}`,
    CDK_OUTDIR: resolve(cwd, options.outdir),
    CDK_CONTEXT_JSON: JSON.stringify({ ...CLI_CONTEXT, ...options.context }),
    CDK_VALIDATION: 'false',
  };
  const spawnOptions: SpawnOptions = { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] };
  const child =
    typeof options.app === 'string'
      ? spawn(options.app, { ...spawnOptions, shell: true })
      : spawn(options.app.command, [...options.app.args], spawnOptions);
  const outcome = await new Promise<string | undefined>((r) => {
    child.on('exit', (code, signal) => r(code === 0 ? undefined : `exit ${code ?? signal}`));
    child.on('error', (error) => r(error.message)); // e.g. the command does not exist
  });
  if (outcome) throw new Error(`cdk synth failed (${outcome}); see the output above`);
  return env.CDK_OUTDIR;
}

/** cdk.json's `app` and `context` in `dir`, if there is one. */
export function readCdkJson(dir: string): { app?: string; context?: Record<string, unknown> } | undefined {
  const file = join(dir, 'cdk.json');
  if (!existsSync(file)) return undefined;
  let json: { app?: unknown; context?: unknown };
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as typeof json;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return {
    app: typeof json.app === 'string' ? json.app : undefined,
    context:
      json.context && typeof json.context === 'object' && !Array.isArray(json.context)
        ? (json.context as Record<string, unknown>)
        : undefined,
  };
}

/** `key=value` → [key, value]; the value stays a string, as with the CDK CLI's `-c`. */
export function parseContextFlag(flag: string): [string, string] {
  const at = flag.indexOf('=');
  if (at <= 0) throw new Error(`--context takes key=value, got "${flag}"`);
  return [flag.slice(0, at), flag.slice(at + 1)];
}
