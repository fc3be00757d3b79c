// Keeps a child process (DynamoDB Local's JVM) from outliving the local cloud.
//
// Usage: node watchdog.mjs <command> [args...]. The parent holds our stdin open; when the parent
// exits for any reason (Ctrl-C, crash, SIGKILL), the pipe closes and we stop the child. Java
// offers no "die with parent" switch, and an orphaned JVM would keep the port and 300 MB.
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
let stopping = false;

function stop() {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 2000).unref();
}

child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
child.on('error', (error) => {
  process.stderr.write(`watchdog: cannot start ${command}: ${error.message}\n`);
  process.exit(127);
});
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, stop);
