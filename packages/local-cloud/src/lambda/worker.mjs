// Bootstrap of one Lambda execution environment, run in a worker thread by the local cloud.
//
// Plain JavaScript on purpose: like Lambda's runtime interface client it runs before any user
// code and must not need a TypeScript loader. It loads the handler from the staged bundle,
// forwards console output (tagged by the parent), trusts the local cloud's TLS certificate, and
// answers one invocation at a time, as a Lambda execution environment does.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { existsSync, readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

const { taskRoot, handler, functionName, functionArn, memoryMb, caPem, sourceMaps, clock, niceness } = workerData;

if (sourceMaps) process.setSourceMapsEnabled(true);

// Function code runs at a lower scheduling priority than the local cloud's own threads (the API
// gateways, queues, the clock), as Lambda's compute is separate from API Gateway's: on a small
// machine a woken worker then does not preempt the thread that parses and routes requests.
// Linux only (a thread's id is read from /proc); elsewhere this is a no-op.
if (niceness > 0) {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid)) setPriority(tid, niceness);
  } catch {
    // not Linux, or not permitted: run at normal priority
  }
}

// Business time is the local cloud's virtual clock: `Date` reads it from shared memory, written by
// the parent as [anchorVirtualMs, anchorRealMs, factor] under a sequence counter (a seqlock).
// Timers (setTimeout) stay in real time: handlers use them for back-off, not for business time.
if (clock) {
  const values = new Float64Array(clock);
  const seq = new Int32Array(clock, 24, 2);
  const RealDate = Date;
  const virtualNow = () => {
    for (;;) {
      const before = Atomics.load(seq, 0);
      const [anchorVirtual, anchorReal, factor] = values;
      if (before % 2 === 0 && Atomics.load(seq, 0) === before) {
        return Math.floor(anchorVirtual + (performance.timeOrigin + performance.now() - anchorReal) * factor);
      }
    }
  };
  // A plain function rather than a Proxy: every `Date` access in handler code (and in the SDKs
  // it loads) goes through it, and a Proxy's traps cost several times more on each one.
  // biome-ignore lint/suspicious/noShadowRestrictedNames: named Date on purpose, so that Date.name and (new Date()).constructor.name stay 'Date' for handler code; the body does not use the name
  const VirtualDate = function Date(...args) {
    if (new.target === undefined) return new RealDate(virtualNow()).toString();
    return Reflect.construct(RealDate, args.length === 0 ? [virtualNow()] : args, new.target);
  };
  Object.setPrototypeOf(VirtualDate, RealDate); // Date.UTC, Date.parse
  Object.defineProperty(VirtualDate, 'length', { value: 7 });
  VirtualDate.prototype = RealDate.prototype; // instanceof Date holds for every date
  VirtualDate.now = virtualNow;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: VirtualDate, writable: true, configurable: true });
  globalThis.Date = VirtualDate;
}

// Forward stdout/stderr to the parent, which tags lines with the function name.
for (const [stream, fd] of [
  [process.stdout, 1],
  [process.stderr, 2],
]) {
  stream.write = (chunk, encoding, callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8');
    parentPort.postMessage({ type: 'log', fd, text });
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (typeof cb === 'function') cb();
    return true;
  };
}

// Trust the local cloud's certificate authority for every TLS connection this environment makes,
// so `https://${domainName}/${stage}` (the @connections API as AWS samples build it) works.
if (caPem) {
  const createSecureContext = tls.createSecureContext;
  tls.createSecureContext = (options) => {
    const context = createSecureContext(options);
    context.context.addCACert(caPem);
    return context;
  };
}

let current = null; // { id, requestId } of the running invocation

function serializeError(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name === 'Error' ? (error.constructor?.name ?? 'Error') : error.name,
      errorMessage: error.message,
      stackTrace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), stackTrace: [] };
}

// As in Lambda, an error that escapes the handler's promise chain ends the environment.
function crash(kind, error) {
  const err = serializeError(error);
  err.errorType = `Runtime.${kind}`;
  parentPort.postMessage({ type: 'crash', id: current?.id, error: err });
  process.exit(1);
}
process.on('uncaughtException', (e) => crash('UncaughtException', e));
process.on('unhandledRejection', (e) => crash('UnhandledPromiseRejection', e));

async function loadHandler() {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${handler}: expected "file.export"`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = handler.slice(0, dot);
  const exportPath = handler.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, modulePath + ext)).find((f) => existsSync(f));
  if (!file) throw Object.assign(new Error(`Cannot find module '${modulePath}' in ${taskRoot}`), { name: 'Runtime.ImportModuleError' });
  let mod;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    const err = new Error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    err.name = 'Runtime.ImportModuleError';
    err.stack = e instanceof Error ? e.stack : err.stack;
    throw err;
  }
  let fn = mod;
  for (const part of exportPath.split('.')) fn = fn?.[part] ?? (fn === mod ? mod.default?.[part] : undefined);
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${exportPath} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return fn;
}

// Init runs before the first invocation, as Lambda's init phase does; the parent waits for it.
const handlerPromise = loadHandler();
handlerPromise.then(
  () => parentPort.postMessage({ type: 'ready' }),
  (error) => parentPort.postMessage({ type: 'init-error', error: serializeError(error) }),
);

function run(fn, event, context) {
  if (fn.length >= 3) {
    return new Promise((resolve, reject) => {
      const maybe = fn(event, context, (err, result) => (err ? reject(err) : resolve(result)));
      if (maybe && typeof maybe.then === 'function') maybe.then(resolve, reject);
    });
  }
  return fn(event, context);
}

// Invocations run one at a time, in the order they arrive. Under load the local cloud hands an
// environment its next invocation before the current one ends (see service.ts), so a busy
// environment goes from one to the next without sleeping; one that has not started yet can be
// taken back ('revoke') when another environment frees up first.
//
// An invocation arrives as one string, `id \t requestId \t timeoutMs \t eventJson`, and a
// successful result leaves as `id \t payload`: a string crosses threads as a copy, where an object
// is serialized and rebuilt field by field on every invocation. Everything else is an object.
const inbox = [];
let draining = false;

const idOf = (invocation) => Number(invocation.slice(0, invocation.indexOf('\t')));

parentPort.on('message', (message) => {
  if (typeof message === 'string') {
    inbox.push(message);
    if (!draining) void drain();
  } else if (message.type === 'revoke') {
    const i = inbox.findIndex((m) => idOf(m) === message.id);
    if (i !== -1) {
      inbox.splice(i, 1);
      parentPort.postMessage({ type: 'revoked', id: message.id });
    }
  }
});

async function drain() {
  draining = true;
  while (inbox.length > 0) await invoke(inbox.shift());
  draining = false;
}

async function invoke(invocation) {
  const a = invocation.indexOf('\t');
  const b = invocation.indexOf('\t', a + 1);
  const c = invocation.indexOf('\t', b + 1);
  const id = Number(invocation.slice(0, a));
  const requestId = invocation.slice(a + 1, b);
  const timeoutMs = Number(invocation.slice(b + 1, c));
  const eventJson = invocation.slice(c + 1);
  // The deadline starts when the invocation does, as Lambda's does (not when it was handed over).
  const deadline = performance.timeOrigin + performance.now() + timeoutMs;
  current = { id, requestId };
  const context = {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: functionArn,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
    clientContext: undefined,
    identity: undefined,
    callbackWaitsForEmptyEventLoop: true,
    // Real time left of this invocation's timeout (not business time).
    getRemainingTimeInMillis: () => Math.max(0, deadline - (performance.timeOrigin + performance.now())),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const fn = await handlerPromise;
    const result = await run(fn, JSON.parse(eventJson), context);
    let payload;
    try {
      payload = result === undefined ? 'null' : JSON.stringify(result);
    } catch (e) {
      throw Object.assign(new Error(`Unable to stringify response body: ${e.message}`), { name: 'Runtime.ResponseSerialization' });
    }
    parentPort.postMessage(`${id}\t${payload}`);
  } catch (error) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: serializeError(error) });
  } finally {
    current = null;
  }
}
