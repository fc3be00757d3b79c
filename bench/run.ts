/**
 * `npm run bench`: runs the benchmarks under bench/ in order and writes each one's figures to
 * bench/results/<name>.json. Pass names to run only some: `npm run bench -- local-overhead`.
 */
import { localOverhead } from './local-overhead';

const benchmarks: Record<string, () => Promise<void>> = {
  'local-overhead': localOverhead,
};

const selected = process.argv.slice(2).filter((a) => a !== '--');
for (const name of selected.length ? selected : Object.keys(benchmarks)) {
  const run = benchmarks[name];
  if (!run) {
    console.error(`Unknown benchmark "${name}". Known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
  await run();
}
