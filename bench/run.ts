/**
 * `npm run bench`: runs the benchmarks under bench/ in order and writes each one's figures to
 * bench/results/<name>.json. Pass names to run only some: `npm run bench -- local-overhead`; a
 * name also selects every benchmark it is the first part of (`realtime` → `realtime-fanout`).
 * Sizes are set by environment variables, listed in each benchmark's header.
 */
import { dunningStorm } from './dunning-storm';
import { localOverhead } from './local-overhead';
import { realtimeFanout } from './realtime-fanout';
import { renewalStorm } from './renewal-storm';
import { subscribeStorm } from './subscribe-storm';

const benchmarks: Record<string, () => Promise<void>> = {
  'dunning-storm': dunningStorm,
  'local-overhead': localOverhead,
  'realtime-fanout': realtimeFanout,
  'renewal-storm': renewalStorm,
  'subscribe-storm': subscribeStorm,
};

const selected = process.argv.slice(2).filter((a) => a !== '--');
const names = selected.length === 0 ? Object.keys(benchmarks) : selected.flatMap(select);
for (const name of names) await benchmarks[name]!();

function select(name: string): string[] {
  if (benchmarks[name]) return [name];
  const matches = Object.keys(benchmarks).filter((known) => known.startsWith(`${name}-`));
  if (matches.length > 0) return matches;
  console.error(`Unknown benchmark "${name}". Known: ${Object.keys(benchmarks).join(', ')}`);
  process.exit(2);
}
