/**
 * The control API of the local cloud (`controlUrl`): what is running and where, and what landed
 * in on-failure destinations. It also answers any AWS SDK call for a service the local cloud does
 * not emulate (functions get `AWS_ENDPOINT_URL` pointing here), so such a call fails loudly
 * instead of reaching a real AWS account.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  AwsError,
  readBody,
  sendJson,
  serveJson,
  serveRest,
  type JsonService,
  type RequestContext,
  type RestService,
} from './aws-protocol';
import type { VirtualClock } from './clock';
import { answerClientErrors, listen } from './net';

const MAX_FAILURES = 1_000;

/** A control request a service answers (e.g. `GET /ses/messages`): its query and body. */
export interface ControlRequest {
  readonly query: URLSearchParams;
  readonly body: Buffer;
}

/** Answered as JSON; throw an `AwsError` for the caller's mistakes (answered `{message}` with its status). */
export type ControlRoute = (request: ControlRequest) => { status: number; body: unknown } | Promise<{ status: number; body: unknown }>;

export interface ControlServerOptions {
  readonly host: string;
  readonly port: number;
  readonly clock: VirtualClock;
  readonly context: RequestContext;
}

export class ControlServer {
  private readonly server = createServer((req, res) => {
    // Input errors are answered inside handle(); this catch is for the emulator's own bugs, so one
    // request's failure is a 500 for that request, never an unhandled rejection.
    this.handle(req, res).catch((error: unknown) => {
      console.error(`control API: ${req.method} ${req.url} failed:`, error);
      if (!res.headersSent) send(res, 500, { message: (error as Error)?.message ?? String(error) });
      else res.destroy();
    });
  });
  private endpoints: unknown = {};
  private readonly jsonServices = new Map<string, JsonService>();
  private readonly restServices: RestService[] = [];
  /** Control routes services add, by `METHOD /path`. */
  private readonly routes = new Map<string, ControlRoute>();
  private readonly failures: Array<{ destination: string; record: unknown; at: string }> = [];

  constructor(private readonly options: ControlServerOptions) {
    this.server.keepAliveTimeout = 5_000;
    answerClientErrors(this.server);
  }

  async start(): Promise<string> {
    const port = await listen(this.server, this.options.port, this.options.host, 'control API');
    return `http://${this.options.host}:${port}`;
  }

  setEndpoints(endpoints: unknown): void {
    this.endpoints = endpoints;
  }

  /** Serves an AWS JSON-protocol service (dispatched on `X-Amz-Target`) on this port. */
  registerJson(service: JsonService): void {
    this.jsonServices.set(service.targetPrefix, service);
  }

  /** Serves an AWS REST-JSON service (dispatched on the path) on this port. */
  registerRest(service: RestService): void {
    this.restServices.push(service);
  }

  /**
   * Adds a control route a service owns (`GET /ses/messages`): the path is matched exactly, the
   * query is passed on. The built-in routes cannot be replaced.
   */
  route(method: string, path: string, handler: ControlRoute): void {
    this.routes.set(`${method} ${path}`, handler);
  }

  recordFailure(destination: string, record: unknown): void {
    this.failures.push({ destination, record, at: this.options.clock.date().toISOString() });
    // A debugging aid, not a store: keep the most recent ones only.
    if (this.failures.length > MAX_FAILURES) this.failures.splice(0, this.failures.length - MAX_FAILURES);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A target starting with `//` reads as an authority and may not parse (`//`, `//[`, `//a:99999`).
    if (!URL.canParse(req.url ?? '/', 'http://local')) {
      req.resume();
      return send(res, 400, { __type: 'BadRequestException', message: `malformed request target ${JSON.stringify(req.url)}` });
    }
    const url = new URL(req.url ?? '/', 'http://local');
    const { context, clock } = this.options;
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix, operation] = target.split('.', 2) as [string, string | undefined];
      const service = this.jsonServices.get(prefix);
      if (service) return serveJson(service, operation ?? '', req, res, context);
      req.resume();
      return send(res, 501, notEmulated(`${target}`));
    }
    const rest = this.restServices.find((s) => s.matches(req.method ?? 'GET', url.pathname));
    if (rest) return serveRest(rest, req, res, url, context);

    try {
      if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
      if (req.method === 'GET' && url.pathname === '/endpoints') return send(res, 200, this.endpoints);
      if (req.method === 'GET' && url.pathname === '/failures') return send(res, 200, { failures: this.failures });
      if (req.method === 'GET' && url.pathname === '/clock') return send(res, 200, this.clockState());
      if (req.method === 'GET' && url.pathname === '/settled') {
        await clock.settle();
        return send(res, 200, this.clockState());
      }
      if (req.method === 'POST' && url.pathname === '/clock/advance') {
        const body = await jsonBody(req);
        if (typeof body.to === 'string') {
          const to = Date.parse(body.to);
          if (Number.isNaN(to)) throw new AwsError('ValidationError', `"to" must be an ISO time, got ${JSON.stringify(body.to)}`);
          await clock.advanceTo(to);
        } else if (typeof body.seconds === 'number') {
          await clock.advance(body.seconds);
        } else {
          throw new AwsError('ValidationError', 'body must be {"seconds": N} or {"to": ISO time}');
        }
        return send(res, 200, this.clockState());
      }
      if (req.method === 'POST' && url.pathname === '/clock/scale') {
        const body = await jsonBody(req);
        if (typeof body.factor !== 'number') throw new AwsError('ValidationError', 'body must be {"factor": F} with F ≥ 0');
        clock.scale(body.factor);
        return send(res, 200, this.clockState());
      }
      const route = this.routes.get(`${req.method} ${url.pathname}`);
      if (route) {
        const answer = await route({ query: url.searchParams, body: await readBody(req, 64 * 1024) });
        return send(res, answer.status, answer.body);
      }
      if (url.pathname.startsWith('/unsupported-service')) {
        req.resume();
        return send(res, 501, notEmulated(`${req.method} ${url.pathname} (host ${String(req.headers.host)})`));
      }
      req.resume();
      send(res, 404, { message: `No control route ${req.method} ${url.pathname}` });
    } catch (error) {
      if (error instanceof AwsError) return send(res, error.status, { message: error.message });
      send(res, error instanceof RangeError ? 400 : 500, { message: (error as Error).message });
    }
  }

  private clockState() {
    const { clock } = this.options;
    return { now: clock.date().toISOString(), factor: clock.factor, pendingTimers: clock.pending().length };
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, 64 * 1024);
  try {
    const parsed = JSON.parse(body.toString('utf8') || '{}') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw new AwsError('ValidationError', 'body must be a JSON object');
}

/** Shaped like an AWS JSON-protocol error so SDK clients surface the message. */
function notEmulated(what: string) {
  return {
    __type: 'NotImplemented',
    message: `The local cloud does not emulate this AWS service or operation (${what}). Add it to the local cloud (@realtime/local-cloud) or avoid calling it locally.`,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body);
}
