/**
 * The control API of the local cloud (`controlUrl`): what is running and where, and what landed
 * in on-failure destinations. It also answers any AWS SDK call for a service the local cloud does
 * not emulate (functions get `AWS_ENDPOINT_URL` pointing here), so such a call fails loudly
 * instead of reaching a real AWS account.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from './net';

export interface ControlServerOptions {
  readonly host: string;
  readonly port: number;
}

export class ControlServer {
  private readonly server = createServer((req, res) => this.handle(req, res));
  private endpoints: unknown = {};
  private readonly failures: Array<{ destination: string; record: unknown; at: string }> = [];

  constructor(private readonly options: ControlServerOptions) {
    this.server.keepAliveTimeout = 5_000;
  }

  async start(): Promise<string> {
    const port = await listen(this.server, this.options.port, this.options.host, 'control API');
    return `http://${this.options.host}:${port}`;
  }

  setEndpoints(endpoints: unknown): void {
    this.endpoints = endpoints;
  }

  recordFailure(destination: string, record: unknown): void {
    this.failures.push({ destination, record, at: new Date().toISOString() });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://local');
    req.resume();
    if (url.pathname.startsWith('/unsupported-service')) {
      // Shaped like an AWS JSON-protocol error so SDK clients surface the message.
      const target = String(req.headers['x-amz-target'] ?? req.headers.host ?? 'unknown');
      return send(res, 501, {
        __type: 'NotImplemented',
        message: `The local cloud does not emulate this AWS service (request ${req.method} ${url.pathname} ${target}). Add it to local/ or avoid calling it locally.`,
      });
    }
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && url.pathname === '/endpoints') return send(res, 200, this.endpoints);
    if (req.method === 'GET' && url.pathname === '/failures') return send(res, 200, { failures: this.failures });
    send(res, 404, { message: `No control route ${req.method} ${url.pathname}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
