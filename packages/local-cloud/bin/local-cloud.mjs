#!/usr/bin/env node
// The `local-cloud` command. The package ships its TypeScript sources; tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
const { runCli, exitOnError } = await import('../src/cli.ts');
// npx and npm scripts run from the package root; INIT_CWD is where the command was typed.
exitOnError(runCli(process.argv.slice(2), { cwd: process.env.INIT_CWD ?? process.cwd() }));
