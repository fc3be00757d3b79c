/**
 * `npm start`: this project's CDK app in the local cloud (`@realtime/local-cloud`), synthesized for
 * the `local` stage, with a local administrator created once it is ready. Every flag of the
 * `local-cloud` command works here (`npm start -- --help`), plus `--stage`.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOnError, runCli } from '@realtime/local-cloud';
import { ensureLocalAdmin } from './admin';

const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Takes `--stage NAME` (or `--stage=NAME`) out of argv: the stage is this project's context key. */
function takeStage(argv: string[]): { stage: string; rest: string[] } {
  const rest: string[] = [];
  let stage = 'local';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--stage') {
      const value = argv[++i];
      if (!value || value.startsWith('-')) throw new Error('--stage needs a name');
      stage = value;
    } else if (arg.startsWith('--stage=')) stage = arg.slice('--stage='.length);
    else rest.push(arg);
  }
  return { stage, rest };
}

async function main(): Promise<void> {
  const { stage, rest } = takeStage(process.argv.slice(2));
  // As `-c stage=…`: it wins over cdk.json's context (stage dev, for deploys).
  await runCli(['--context', `stage=${stage}`, ...rest], {
    command: 'npm start --',
    cwd: PROJECT_ROOT,
    // node + tsx directly: the same app as cdk.json's `npx tsx bin/app.ts`, without npx's start-up.
    defaultApp: { command: process.execPath, args: ['--import', 'tsx', join(PROJECT_ROOT, 'bin/app.ts')] },
    extraUsage: ['  --stage NAME         stage to synthesize this project with (default: local)'],
    // This project's app gets a local administrator; a foreign app is run as it is.
    onReady: async ({ cloud, stateDir, defaultApp }) => {
      if (!defaultApp) return;
      const admin = await ensureLocalAdmin(cloud.endpoints, stateDir, cloud.model.region);
      return admin ? [`  Admin      ${admin.email} / ${admin.password}  (${join(stateDir, 'admin.json')})`] : [];
    },
  });
}

exitOnError(main());
