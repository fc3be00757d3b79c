/**
 * Starts this project as `npm start` does (`local/start.ts`), in a child process on free ports,
 * and waits until it is ready: for the end-to-end tests and the benchmarks.
 */
import { fileURLToPath } from 'node:url';
import { launchLocalCloud, type LaunchedCloud } from '@realtime/local-cloud';

const START = fileURLToPath(new URL('./start.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function launchPlatform(args: string[] = [], timeoutMs?: number): Promise<LaunchedCloud> {
  return launchLocalCloud(args, { entry: START, cwd: PROJECT_ROOT, timeoutMs });
}
