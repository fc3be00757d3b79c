/**
 * The command line refuses what it cannot run before it starts anything (no JVM, no synthesis),
 * with a message naming the flag.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli';

const empty = () => mkdtempSync(join(tmpdir(), 'cli-args-'));

describe('runCli arguments', () => {
  it.each([
    [['--http-port', '70000'], /--http-port must be a port number/],
    [['--max-workers', 'many'], /--max-workers must be a whole number from 1, got "many"/],
    [['--max-workers', '0'], /--max-workers must be a whole number from 1/],
    [['--clock-factor=-1'], /--clock-factor must be a number from 0/],
    [['--clock-factor', 'fast'], /--clock-factor must be a number from 0/],
    [['--assembly', 'cdk.out', '-c', 'stage=dev'], /--context applies to a synthesis: it has no effect with --assembly/],
    [['--assembly', 'cdk.out', '--app', 'node app.mjs'], /give --app or --assembly, not both/],
    [['-c', 'novalue'], /--context takes key=value, got "novalue"/],
    [['--bogus'], /Unknown option '--bogus'/],
    [[], /no CDK app: give --app CMD or --assembly DIR/],
  ])('%j is refused', async (argv, message) => {
    await expect(runCli(argv, { cwd: empty() })).rejects.toThrow(message);
  });

  it('names cdk.json when it is not JSON', async () => {
    const dir = empty();
    writeFileSync(join(dir, 'cdk.json'), '{ "app": ');
    await expect(runCli([], { cwd: dir })).rejects.toThrow(/cdk\.json is not valid JSON/);
  });
});
