/**
 * API Gateway v2 WebSocket API, emulated from the template.
 *
 * One server per `AWS::ApiGatewayV2::Api` with ProtocolType WEBSOCKET. It reads the API's stages,
 * routes, integrations (Lambda proxy), route responses and REQUEST authorizers, and serves:
 *
 * - `ws://host:port/{stage}` and `wss://host:tlsPort/{stage}`: the WebSocket endpoint. The
 *   upgrade request stays pending while the `$connect` authorizer and integration run, as in
 *   AWS, so a refusal is a real HTTP status (401/403/the integration's status/500).
 * - `POST|GET|DELETE /{stage}/@connections/{connectionId}` on both ports (http and https): the
 *   management API the `ApiGatewayManagementApiClient` talks to, with AWS's error shapes
 *   (`410` + `x-amzn-ErrorType: GoneException` for unknown or closed connections).
 *
 * Behaviour worth knowing (decisions where AWS leaves room):
 * - Messages of one connection are dispatched as they arrive, concurrently (AWS does not
 *   serialize them either): two-way replies may come back in another order than the requests.
 * - The idle timer (10 min by default) is reset by data frames in either direction (client
 *   messages, route responses, @connections POSTs); ping/pong control frames do not reset it,
 *   which is AWS's behaviour (keep-alive needs a data message, e.g. `{"type":"ping"}`).
 * - Size limits as AWS applies them: a frame carries at most 32 KB, a message (its frames summed)
 *   at most 128 KB. A message of up to 128 KB sent in frames of at most 32 KB each reaches its
 *   route like any other (the application decides what to make of it); a single frame over 32 KB,
 *   or a message over 128 KB in total, closes the connection with 1009 (and `$disconnect` runs).
 *   The message limit is `ws`'s `maxPayload`; the frame limit is a small per-socket hook
 *   (`./ws-frame-limit.ts`, which explains the choice). Outgoing messages (route responses,
 *   @connections POSTs) over 32 KB are sent the same way, split into frames of at most 32 KB; a
 *   PostToConnection over 128 KB is refused with 413 `PayloadTooLargeException`.
 * - An integration that fails (throws, times out, is missing) answers the client with AWS's
 *   `{"message": "Internal server error", "connectionId":..., "requestId":...}` frame, on one-way
 *   routes too (as AWS does); a message no route (and no `$default`) takes gets the
 *   `"Forbidden"` frame of the same shape.
 * - `$disconnect` runs exactly once per accepted connection, whoever closes it, best effort.
 * - Hostile input is answered, never thrown. An upgrade whose URL does not parse or decode is 400
 *   `{"message":"Bad Request"}`; a URL over API Gateway's 4,096 characters is 414; a handshake that
 *   is not a valid WebSocket handshake (method, `Upgrade`, `Sec-WebSocket-Key`/`-Version`,
 *   `Sec-WebSocket-Protocol` syntax) is 400 before the authorizer or `$connect` runs, so no
 *   `$disconnect` is owed for it. A query string that does not decode is passed as is (`%ZZ`
 *   stays `%ZZ`). Frames `ws` refuses close the connection with RFC 6455's codes (1002 protocol
 *   error, 1007 invalid UTF-8, 1009 too big) and `$disconnect` runs. Malformed HTTP is answered
 *   by `answerClientErrors`, @connections paths that do not decode by 400 `BadRequestException`.
 */
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes, randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { CloudModel, ModelResource } from '../model';
import type { LambdaService, InvokeResult } from '../lambda/service';
import type { TlsMaterial } from '../tls';
import { assertFrameLimitSupported, FRAME_TOO_LARGE, limitFrameSize } from './ws-frame-limit';
import { answerClientErrors, decodable, listen } from '../net';

export interface WebSocketApiServerOptions {
  readonly model: CloudModel;
  readonly lambda: LambdaService;
  /** The AWS::ApiGatewayV2::Api resource (ProtocolType WEBSOCKET). */
  readonly api: ModelResource;
  readonly host: string;
  /** Plain ws:// port (0 = any free port). */
  readonly port: number;
  /** TLS port serving wss:// and the @connections API over https (0 = any free port). */
  readonly tlsPort: number;
  readonly tls: TlsMaterial;
  /** @default 600_000 (10 minutes, as API Gateway) */
  readonly idleTimeoutMs?: number;
  /** @default 7_200_000 (2 hours, as API Gateway) */
  readonly maxConnectionMs?: number;
  /** Largest payload of one WebSocket frame, either way (AWS: 32 KB). @default 32 * 1024 */
  readonly maxFrameBytes?: number;
  /**
   * Largest message, its frames' payloads summed (AWS: 128 KB); also the PostToConnection limit.
   * @default 128 * 1024
   */
  readonly maxMessageBytes?: number;
  /** Unexpected internal errors (never a function's own failure). @default console.error */
  readonly log?: (line: string) => void;
}

export interface WebSocketApiEndpoints {
  /** e.g. ws://127.0.0.1:3001/dev (first stage) */
  readonly wsUrl: string;
  /** e.g. ws://127.0.0.1:3001 */
  readonly wsBase: string;
  /** e.g. https://127.0.0.1:3003 — serves wss:// and POST/GET/DELETE /{stage}/@connections/{id} */
  readonly httpsBase: string;
  /** e.g. http://127.0.0.1:3001 — the @connections API over plain http too */
  readonly httpBase: string;
  /** e.g. wss://127.0.0.1:3003/dev (first stage) */
  readonly wssUrl: string;
  readonly stages: string[];
}

/** What GET @connections/{id} reports (and `getConnection` returns). */
export interface ConnectionInfo {
  readonly connectionId: string;
  readonly stage: string;
  readonly connectedAt: Date;
  readonly lastActiveAt: Date;
  readonly sourceIp: string;
  readonly userAgent: string;
}

const DEFAULT_IDLE_MS = 10 * 60 * 1000;
const DEFAULT_MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;
const DEFAULT_MAX_FRAME_BYTES = 32 * 1024;
/** Message payload limit, fragments summed; also the PostToConnection payload limit. */
const DEFAULT_MAX_MESSAGE_BYTES = 128 * 1024;
/** Integration timeout when the template sets none (WebSocket APIs: 29 s). */
const DEFAULT_INTEGRATION_TIMEOUT_MS = 29_000;
/** API Gateway's quota "length, in characters, of the URL for a WebSocket API". */
const MAX_URL_LENGTH = 4_096;
/** A Sec-WebSocket-Key: 16 bytes, base64 (what `ws` accepts; RFC 6455 section 4.2.1). */
const WEBSOCKET_KEY = /^[+/0-9A-Za-z]{22}==$/;
/** An HTTP token (RFC 7230), what each Sec-WebSocket-Protocol entry must be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** How long `stop()` waits for close handshakes and `$disconnect` invocations. */
const STOP_GRACE_MS = 2_000;

interface StageDef {
  readonly name: string;
  readonly variables: Record<string, string>;
}

interface IntegrationDef {
  readonly where: string;
  /** Lambda function (ARN or invocation URI); undefined for integrations not run locally. */
  readonly functionUri?: string;
  readonly timeoutMs: number;
}

interface AuthorizerDef {
  readonly where: string;
  readonly functionUri?: string;
  readonly identitySources: string[];
}

interface RouteDef {
  readonly key: string;
  readonly where: string;
  readonly integration?: IntegrationDef;
  readonly authorizer?: AuthorizerDef;
  /** Has a `$default` route response: the integration's `body` goes back to the client. */
  readonly twoWay: boolean;
}

interface Connection extends RequestInfo {
  readonly ws: WebSocket;
  lastActiveAt: number;
  open: boolean;
  /** Set when the server closes the connection (or a protocol error does): what `$disconnect` reports. */
  closedBy?: { code: number; reason: string };
  idleTimer?: NodeJS.Timeout;
  maxTimer?: NodeJS.Timeout;
  disconnect?: Promise<void>;
}

/** The part of a request every event of a connection shares. */
interface RequestInfo {
  readonly connectionId: string;
  readonly stage: StageDef;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly host: string;
  readonly authorizer?: Record<string, unknown>;
}

interface Refusal {
  readonly status: number;
  readonly body: string;
  readonly errorType?: string;
}

export class WebSocketApiServer {
  private readonly model: CloudModel;
  private readonly apiId: string;
  private readonly stages = new Map<string, StageDef>();
  private readonly routes = new Map<string, RouteDef>();
  private readonly selectionPath?: string[];
  private readonly http: Server;
  private readonly https: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, Connection>();
  /** Sockets whose upgrade is still pending ($connect running). */
  private readonly pending = new Set<Duplex>();
  /** Sub-protocol the `$connect` integration selected, per upgrade request. */
  private readonly selectedProtocols = new WeakMap<IncomingMessage, string>();
  private readonly disconnects = new Set<Promise<void>>();
  private readonly idleTimeoutMs: number;
  private readonly maxConnectionMs: number;
  private readonly maxFrameBytes: number;
  private readonly maxMessageBytes: number;
  private readonly log: (line: string) => void;
  private domainName = '';
  private stopping = false;

  constructor(readonly options: WebSocketApiServerOptions) {
    this.model = options.model;
    this.apiId = options.api.ref;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
    this.maxConnectionMs = options.maxConnectionMs ?? DEFAULT_MAX_CONNECTION_MS;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.log = options.log ?? ((line) => console.error(line));
    this.selectionPath = this.readTemplate();
    assertFrameLimitSupported();

    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      // The whole message, fragments summed; each frame is checked by `limitFrameSize` on accept.
      maxPayload: this.maxMessageBytes,
      handleProtocols: (_protocols, req) => this.selectedProtocols.get(req) ?? false,
    });
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.handleManagement(req, res).catch((error: unknown) => {
        this.log(`WebSocket API ${this.options.api.where}: management request failed: ${describe(error)}`);
        if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
        else res.destroy();
      });
    };
    const onUpgrade = (secure: boolean) => (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head, secure).catch((error: unknown) => {
        this.log(`WebSocket API ${this.options.api.where}: upgrade failed: ${describe(error)}`);
        refuse(socket, { status: 500, body: JSON.stringify({ message: 'Internal server error' }) });
      });
    };
    this.http = createHttpServer(onRequest);
    this.https = createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, onRequest);
    for (const [server, secure] of [
      [this.http, false],
      [this.https, true],
    ] as const) {
      server.keepAliveTimeout = 5_000;
      server.on('upgrade', onUpgrade(secure));
      answerClientErrors(server);
    }
  }

  async start(): Promise<WebSocketApiEndpoints> {
    const { host } = this.options;
    const what = `WebSocket API ${this.options.api.where}`;
    const port = await listen(this.http, this.options.port, host, what);
    const tlsPort = await listen(this.https, this.options.tlsPort, host, `${what} (TLS)`);
    const publicHost = ['0.0.0.0', '::', ''].includes(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    // What AWS puts in requestContext.domainName: `https://${domainName}/${stage}` is the
    // management endpoint AWS samples build, so it must name the TLS port.
    this.domainName = `${publicHost}:${tlsPort}`;
    const stages = [...this.stages.keys()];
    const first = stages[0] !== undefined ? `/${encodeURIComponent(stages[0])}` : '';
    const wsBase = `ws://${publicHost}:${port}`;
    return {
      wsUrl: `${wsBase}${first}`,
      wsBase,
      wssUrl: `wss://${publicHost}:${tlsPort}${first}`,
      httpBase: `http://${publicHost}:${port}`,
      httpsBase: `https://${this.domainName}`,
      stages,
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    const open = [...this.connections.values()];
    for (const conn of open) this.close(conn, 1001, 'Going away');
    // Close handshakes end in 'close' events, which start the $disconnect invocations.
    await Promise.race([
      Promise.allSettled(
        open.map((c) => new Promise<void>((r) => (c.ws.readyState === WebSocket.CLOSED ? r() : c.ws.once('close', () => r())))),
      ),
      delay(STOP_GRACE_MS),
    ]);
    for (const conn of open) conn.ws.terminate();
    await Promise.race([Promise.allSettled([...this.disconnects]), delay(STOP_GRACE_MS)]);
    for (const server of [this.http, this.https]) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    this.wss.close();
  }

  /** Whether a connection with this id is open (what @connections GET would find). */
  hasConnection(connectionId: string): boolean {
    return this.connections.get(connectionId)?.open === true;
  }

  /** Open connections' ids. */
  connectionIds(): string[] {
    return [...this.connections.values()].filter((c) => c.open).map((c) => c.connectionId);
  }

  getConnection(connectionId: string): ConnectionInfo | undefined {
    const conn = this.connections.get(connectionId);
    if (!conn?.open) return undefined;
    return {
      connectionId: conn.connectionId,
      stage: conn.stage.name,
      connectedAt: new Date(conn.connectedAt),
      lastActiveAt: new Date(conn.lastActiveAt),
      sourceIp: conn.sourceIp,
      userAgent: conn.userAgent,
    };
  }

  /**
   * Sends one message to a connection, as PostToConnection does: a text frame when `data` is a
   * string or valid UTF-8, a binary frame otherwise. Returns false when the connection is gone.
   */
  post(connectionId: string, data: string | Uint8Array): boolean {
    const conn = this.connections.get(connectionId);
    if (!conn?.open) return false;
    this.send(
      conn,
      typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      typeof data !== 'string' && !isUtf8(data),
    );
    return true;
  }

  /** Closes a connection, as DeleteConnection does. Returns false when the connection is gone. */
  deleteConnection(connectionId: string): boolean {
    const conn = this.connections.get(connectionId);
    if (!conn?.open) return false;
    this.close(conn, 1000, '');
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Template

  /** Reads stages, routes, integrations and authorizers; returns the route selection path. */
  private readTemplate(): string[] | undefined {
    const { model, apiId } = this;
    const api = this.options.api;
    const apiProps = model.properties(api);
    const belongs = (r: ModelResource) => model.properties(r).ApiId === apiId;
    const unsupported = (where: string, message: string) => model.diagnostics.unsupported(where, message);

    if (apiProps.Body !== undefined || apiProps.BodyS3Location !== undefined) {
      unsupported(`${api.where}/Body`, 'APIs imported from an OpenAPI body are not emulated; define routes as resources');
    }
    if (apiProps.ApiKeySelectionExpression !== undefined) {
      unsupported(`${api.where}/ApiKeySelectionExpression`, 'API keys are not checked locally');
    }
    if (apiProps.DisableExecuteApiEndpoint === true) {
      unsupported(`${api.where}/DisableExecuteApiEndpoint`, 'the local endpoint is served anyway');
    }

    let selectionPath: string[] | undefined;
    const expression = String(apiProps.RouteSelectionExpression ?? '$request.body.action');
    const normalized = /^\$\{(.*)\}$/.exec(expression)?.[1] ?? expression.replace(/^\$/, '');
    const match = /^request\.body\.([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)$/.exec(normalized);
    if (match) selectionPath = match[1]!.split('.');
    else {
      unsupported(
        `${api.where}/RouteSelectionExpression`,
        `route selection expression "${expression}" is not supported locally (only $request.body.<path>); every message goes to $default`,
      );
    }

    for (const stage of model.ofType('AWS::ApiGatewayV2::Stage').filter(belongs)) {
      const props = model.properties(stage);
      const name = String(props.StageName ?? stage.ref);
      const variables: Record<string, string> = {};
      for (const [k, v] of Object.entries((props.StageVariables ?? {}) as Record<string, unknown>)) variables[k] = String(v);
      this.stages.set(name, { name, variables });
      for (const key of ['DefaultRouteSettings', 'RouteSettings']) {
        if (props[key] !== undefined)
          model.diagnostics.ignored(`${stage.where}/${key}`, 'stage throttling and logging settings have no local effect');
      }
      if (props.AccessLogSettings !== undefined)
        model.diagnostics.ignored(`${stage.where}/AccessLogSettings`, 'access logs are not written locally');
    }

    const integrations = new Map<string, IntegrationDef>();
    for (const integration of model.ofType('AWS::ApiGatewayV2::Integration').filter(belongs)) {
      const props = model.properties(integration);
      const type = String(props.IntegrationType ?? '');
      const uri = typeof props.IntegrationUri === 'string' ? props.IntegrationUri : undefined;
      const timeoutMs = Number(props.TimeoutInMillis ?? DEFAULT_INTEGRATION_TIMEOUT_MS);
      let functionUri: string | undefined;
      if (type !== 'AWS_PROXY') {
        unsupported(
          `${integration.where}/IntegrationType`,
          `${type || 'missing'} integrations are not emulated (Lambda proxy only): $connect through it succeeds, messages get no reply`,
        );
      } else if (!uri || !this.options.lambda.get(uri)) {
        unsupported(`${integration.where}/IntegrationUri`, `integration target ${uri ?? '(none)'} is not a function the local cloud runs`);
      } else functionUri = uri;
      for (const key of [
        'RequestTemplates',
        'TemplateSelectionExpression',
        'RequestParameters',
        'ContentHandlingStrategy',
        'PassthroughBehavior',
      ]) {
        if (props[key] !== undefined) unsupported(`${integration.where}/${key}`, `${key} is not applied locally`);
      }
      integrations.set(integration.ref, { where: integration.where, functionUri, timeoutMs });
    }
    for (const response of model.ofType('AWS::ApiGatewayV2::IntegrationResponse').filter(belongs)) {
      unsupported(response.where, 'integration responses (non-proxy) are not applied locally');
    }

    const authorizers = new Map<string, AuthorizerDef>();
    for (const authorizer of model.ofType('AWS::ApiGatewayV2::Authorizer').filter(belongs)) {
      const props = model.properties(authorizer);
      const type = String(props.AuthorizerType ?? '');
      const uri = typeof props.AuthorizerUri === 'string' ? props.AuthorizerUri : undefined;
      if (type !== 'REQUEST') {
        unsupported(`${authorizer.where}/AuthorizerType`, `${type} authorizers are not emulated; connections are allowed without it`);
        continue;
      }
      if (!uri || !this.options.lambda.get(uri)) {
        unsupported(
          `${authorizer.where}/AuthorizerUri`,
          `authorizer ${uri ?? '(none)'} is not a function the local cloud runs; connections are refused (500)`,
        );
      }
      if (props.AuthorizerResultTtlInSeconds !== undefined && Number(props.AuthorizerResultTtlInSeconds) > 0) {
        model.diagnostics.ignored(`${authorizer.where}/AuthorizerResultTtlInSeconds`, 'authorizer results are not cached locally');
      }
      const source = props.IdentitySource;
      const identitySources = (Array.isArray(source) ? source.map(String) : typeof source === 'string' ? source.split(',') : [])
        .map((s) => s.trim())
        .filter(Boolean);
      authorizers.set(authorizer.ref, {
        where: authorizer.where,
        functionUri: uri && this.options.lambda.get(uri) ? uri : undefined,
        identitySources,
      });
    }

    const routeResponses = model.ofType('AWS::ApiGatewayV2::RouteResponse').filter(belongs);
    for (const route of model.ofType('AWS::ApiGatewayV2::Route').filter(belongs)) {
      const props = model.properties(route);
      const key = String(props.RouteKey ?? '');
      const target = typeof props.Target === 'string' ? props.Target : undefined;
      let integration: IntegrationDef | undefined;
      if (target) {
        integration = integrations.get(target.replace(/^integrations\//, ''));
        if (!integration) unsupported(`${route.where}/Target`, `target ${target} is not an integration of this API`);
      } else {
        unsupported(`${route.where}/Target`, 'routes without an integration target do nothing locally');
      }
      const authorizationType = String(props.AuthorizationType ?? 'NONE');
      let authorizer: AuthorizerDef | undefined;
      if (authorizationType === 'CUSTOM') {
        if (key !== '$connect') unsupported(`${route.where}/AuthorizationType`, 'WebSocket authorizers apply to $connect only');
        else {
          authorizer = authorizers.get(String(props.AuthorizerId ?? ''));
          if (!authorizer) unsupported(`${route.where}/AuthorizerId`, `authorizer ${String(props.AuthorizerId)} is not emulated`);
        }
      } else if (authorizationType !== 'NONE') {
        unsupported(`${route.where}/AuthorizationType`, `${authorizationType} authorization is not checked locally`);
      }
      if (props.ApiKeyRequired === true) unsupported(`${route.where}/ApiKeyRequired`, 'API keys are not checked locally');
      for (const k of ['RequestModels', 'ModelSelectionExpression', 'RequestParameters']) {
        if (props[k] !== undefined) unsupported(`${route.where}/${k}`, `${k} is not validated locally`);
      }
      const responses = routeResponses.filter((r) => model.properties(r).RouteId === route.ref);
      for (const response of responses) {
        const responseKey = String(model.properties(response).RouteResponseKey ?? '');
        if (responseKey !== '$default')
          unsupported(`${response.where}/RouteResponseKey`, `route response key ${responseKey} is not supported locally (only $default)`);
        for (const k of ['ResponseModels', 'ModelSelectionExpression', 'ResponseParameters']) {
          if (model.properties(response)[k] !== undefined) unsupported(`${response.where}/${k}`, `${k} is not applied locally`);
        }
      }
      const selection = props.RouteResponseSelectionExpression;
      if (selection !== undefined && selection !== '$default') {
        unsupported(`${route.where}/RouteResponseSelectionExpression`, `"${String(selection)}" is not supported locally (only $default)`);
      }
      if (key === '$disconnect' && responses.length > 0) unsupported(`${route.where}`, '$disconnect cannot answer the client');
      this.routes.set(key, { key, where: route.where, integration, authorizer, twoWay: responses.length > 0 && key !== '$disconnect' });
    }
    return selectionPath;
  }

  // -------------------------------------------------------------------------------------------
  // $connect

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): Promise<void> {
    socket.on('error', () => {});
    if (this.stopping) return void socket.destroy();
    const target = req.url ?? '/';
    if (target.length > MAX_URL_LENGTH) return refuse(socket, uriTooLong());
    const url = URL.canParse(target, 'http://local') ? new URL(target, 'http://local') : undefined;
    if (!url || !decodable(url.pathname)) return refuse(socket, badRequest());
    const stage = this.stageOf(url.pathname);
    if (!stage) return refuse(socket, forbidden());
    // Everything `ws` checks in handleUpgrade, checked before the authorizer and $connect run: a
    // handshake `ws` refused after a successful $connect would leave a connection that never gets
    // its $disconnect.
    if (!validHandshake(req)) return refuse(socket, badRequest());

    this.pending.add(socket);
    let socketClosed = false;
    socket.once('close', () => (socketClosed = true));
    const now = Date.now();
    const info: RequestInfo = {
      connectionId: newId(),
      stage,
      connectedAt: now,
      sourceIp: sourceIpOf(req),
      userAgent: String(req.headers['user-agent'] ?? ''),
      host: String(req.headers.host ?? this.domainName),
    };
    const headers = requestHeaders(req, info.sourceIp, secure);
    const query = queryParameters(url.searchParams);

    try {
      const route = this.routes.get('$connect');
      let authorizer: Record<string, unknown> | undefined;
      if (route?.authorizer) {
        const outcome = await this.authorize(route.authorizer, info, headers, query);
        if ('status' in outcome) return refuse(socket, outcome);
        authorizer = outcome.context;
      }
      const connected: RequestInfo = { ...info, authorizer };
      let subprotocol: string | undefined;
      if (route?.integration) {
        const requestId = newId();
        const event = {
          headers: headers.single,
          multiValueHeaders: headers.multi,
          ...(query ? { queryStringParameters: query.single, multiValueQueryStringParameters: query.multi } : {}),
          ...this.stageVariables(stage),
          requestContext: this.requestContext(connected, '$connect', 'CONNECT', requestId),
          isBase64Encoded: false,
        };
        const result = await this.invoke(route.integration, event);
        if (!result.ok) return refuse(socket, internalError());
        const response = parseResponse(result.payload);
        const status = response.statusCode ?? 200;
        if (status < 200 || status > 299) {
          return refuse(socket, { status, body: typeof response.body === 'string' ? response.body : '' });
        }
        subprotocol = headerValue(response.headers, 'sec-websocket-protocol');
      }
      if (socketClosed || socket.destroyed || this.stopping) {
        // $connect succeeded but the client is gone already: the connection existed, so clean up.
        if (!this.stopping) this.invokeDisconnect(connected, 1006, 'Client closed the connection during $connect');
        return;
      }
      if (subprotocol) this.selectedProtocols.set(req, subprotocol.split(',')[0]!.trim());
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        // Before any frame is read (ws reads on a later tick): the per-frame limit on this socket.
        limitFrameSize(ws, this.maxFrameBytes);
        this.accept(ws, connected);
      });
    } finally {
      this.pending.delete(socket);
    }
  }

  private async authorize(
    authorizer: AuthorizerDef,
    info: RequestInfo,
    headers: Headers,
    query: Query | undefined,
  ): Promise<Refusal | { context: Record<string, unknown> }> {
    for (const source of authorizer.identitySources) {
      if (!identityPresent(source, headers, query, info.stage)) return unauthorized();
    }
    if (!authorizer.functionUri) return internalError();
    const methodArn = `arn:aws:execute-api:${this.model.region}:${this.model.accountId}:${this.apiId}/${info.stage.name}/$connect`;
    const requestId = newId();
    const event = {
      type: 'REQUEST',
      methodArn,
      headers: headers.single,
      multiValueHeaders: headers.multi,
      queryStringParameters: query?.single ?? {},
      multiValueQueryStringParameters: query?.multi ?? {},
      stageVariables: info.stage.variables,
      requestContext: this.requestContext(info, '$connect', 'CONNECT', requestId),
    };
    const started = Date.now();
    const result = await this.invoke(
      { where: authorizer.where, functionUri: authorizer.functionUri, timeoutMs: DEFAULT_INTEGRATION_TIMEOUT_MS },
      event,
    );
    if (!result.ok) return result.error.errorMessage === 'Unauthorized' ? unauthorized() : internalError();
    let response: unknown;
    try {
      response = JSON.parse(result.payload);
    } catch {
      return internalError();
    }
    if (!isObject(response) || !isObject(response.policyDocument)) return internalError();
    const context = response.context ?? {};
    if (!isObject(context) || Object.values(context).some((v) => v !== null && typeof v === 'object')) return internalError();
    const effect = evaluatePolicy(response.policyDocument, methodArn);
    if (effect !== 'Allow') return forbidden();
    return {
      context: {
        ...context,
        principalId: response.principalId === undefined ? '' : String(response.principalId),
        integrationLatency: Date.now() - started,
      },
    };
  }

  private accept(ws: WebSocket, info: RequestInfo): void {
    if (this.stopping) {
      ws.terminate();
      return;
    }
    const conn: Connection = { ...info, ws, lastActiveAt: Date.now(), open: true };
    this.connections.set(conn.connectionId, conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('error', (error) => {
      // Protocol errors (a frame over the limit, invalid UTF-8, ...): ws closes with their code.
      const code = statusCodeOf(error);
      if (code !== undefined && !conn.closedBy) {
        const tooBig = (error as { code?: unknown }).code === FRAME_TOO_LARGE ? 'Frame too big' : 'Message too big';
        conn.closedBy = { code, reason: code === 1009 ? tooBig : error.message };
      }
    });
    ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString('utf8')));
    conn.maxTimer = setTimeout(() => this.close(conn, 1001, 'Going away'), this.maxConnectionMs);
    conn.maxTimer.unref();
    this.armIdleTimer(conn);
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (!conn.open) return;
    this.touch(conn);
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const body = isBinary ? buffer.toString('base64') : buffer.toString('utf8');
    const routeKey = isBinary ? '$default' : this.selectRoute(body);
    const route = this.routes.get(routeKey) ?? this.routes.get('$default');
    const requestId = newId();
    if (!route) {
      this.send(conn, errorFrame('Forbidden', conn.connectionId, requestId));
      return;
    }
    if (!route.integration) return;
    const event = {
      requestContext: {
        ...this.requestContext(conn, route.key, 'MESSAGE', requestId),
        messageId: newId(),
      },
      body,
      isBase64Encoded: isBinary,
      ...this.stageVariables(conn.stage),
    };
    void this.invoke(route.integration, event).then((result) => {
      if (!conn.open) return;
      if (!result.ok) return this.send(conn, errorFrame('Internal server error', conn.connectionId, requestId));
      if (!route.twoWay) return;
      const response = parseResponse(result.payload);
      if (response.body === undefined || response.body === null) return;
      if (response.isBase64Encoded === true && typeof response.body === 'string') {
        return this.send(conn, Buffer.from(response.body, 'base64'), true);
      }
      this.send(conn, typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
    });
  }

  /** The route key a text message selects; `$default` when it is not JSON or lacks the key. */
  private selectRoute(body: string): string {
    if (!this.selectionPath) return '$default';
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return '$default';
    }
    for (const part of this.selectionPath) {
      if (!isObject(value)) return '$default';
      value = value[part];
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return '$default';
    const key = String(value);
    return key === '$connect' || key === '$disconnect' ? '$default' : key;
  }

  /** Sends one message, in frames of at most `maxFrameBytes` each, as API Gateway does. */
  private send(conn: Connection, data: string | Buffer, binary = false): void {
    if (!conn.open || conn.ws.readyState !== WebSocket.OPEN) return;
    this.touch(conn);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length <= this.maxFrameBytes) return void conn.ws.send(bytes, { binary, fin: true });
    // Continuation frames carry no type of their own: ws sends the first with the message's
    // opcode and the rest as continuations. The calls are synchronous, so no other message of
    // this connection can be interleaved between the fragments.
    for (let offset = 0; offset < bytes.length; offset += this.maxFrameBytes) {
      const end = Math.min(offset + this.maxFrameBytes, bytes.length);
      conn.ws.send(bytes.subarray(offset, end), { binary, fin: end === bytes.length });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Closing and $disconnect

  private close(conn: Connection, code: number, reason: string): void {
    if (!conn.open) return;
    conn.closedBy ??= { code, reason };
    conn.open = false;
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    try {
      conn.ws.close(code, reason);
    } catch {
      conn.ws.terminate();
    }
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    conn.open = false;
    clearTimeout(conn.idleTimer);
    clearTimeout(conn.maxTimer);
    this.connections.delete(conn.connectionId);
    if (conn.disconnect) return;
    const { code: disconnectCode, reason: disconnectReason } = conn.closedBy ?? {
      code,
      reason: code === 1006 ? 'Connection closed abnormally' : reason,
    };
    conn.disconnect = this.invokeDisconnect(conn, disconnectCode, disconnectReason);
  }

  /** Invokes `$disconnect` (if the API has one); never rejects. */
  private invokeDisconnect(info: RequestInfo, code: number, reason: string): Promise<void> {
    const route = this.routes.get('$disconnect');
    if (!route?.integration) return Promise.resolve();
    const event = {
      headers: { Host: info.host, 'X-Forwarded-For': info.sourceIp },
      multiValueHeaders: { Host: [info.host], 'X-Forwarded-For': [info.sourceIp] },
      requestContext: {
        ...this.requestContext(info, '$disconnect', 'DISCONNECT', newId()),
        disconnectStatusCode: code,
        disconnectReason: reason,
      },
      isBase64Encoded: false,
      ...this.stageVariables(info.stage),
    };
    const promise = this.invoke(route.integration, event).then(
      () => undefined,
      () => undefined,
    );
    this.disconnects.add(promise);
    void promise.finally(() => this.disconnects.delete(promise));
    return promise;
  }

  private touch(conn: Connection): void {
    conn.lastActiveAt = Date.now();
  }

  /** One timer per connection, re-armed lazily: activity only updates `lastActiveAt`. */
  private armIdleTimer(conn: Connection): void {
    const remaining = conn.lastActiveAt + this.idleTimeoutMs - Date.now();
    conn.idleTimer = setTimeout(
      () => {
        if (!conn.open) return;
        if (Date.now() - conn.lastActiveAt >= this.idleTimeoutMs) this.close(conn, 1001, 'Going away');
        else this.armIdleTimer(conn);
      },
      Math.max(0, remaining),
    );
    conn.idleTimer.unref();
  }

  // -------------------------------------------------------------------------------------------
  // @connections management API

  private async handleManagement(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    if (!URL.canParse(target, 'http://local')) {
      req.resume();
      return sendJson(res, 400, { message: 'Bad Request' }, 'BadRequestException');
    }
    const url = new URL(target, 'http://local');
    const match = /^(?:\/([^/]+))?\/@connections\/([^/]+)\/?$/.exec(url.pathname);
    if (!match) {
      req.resume();
      if (req.method === 'GET' && this.stageOf(url.pathname)) {
        return sendJson(res, 426, { message: 'Upgrade Required: connect with a WebSocket client' });
      }
      return sendJson(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
    }
    let stageName: string | undefined;
    let connectionId: string;
    try {
      stageName = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
      connectionId = decodeURIComponent(match[2]!);
    } catch {
      req.resume();
      return sendJson(res, 400, { message: 'Invalid connection id' }, 'BadRequestException');
    }
    if (stageName !== undefined && !this.stages.has(stageName)) {
      req.resume();
      return sendJson(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
    }
    const method = req.method ?? 'GET';
    if (!['POST', 'GET', 'DELETE'].includes(method)) {
      req.resume();
      return sendJson(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
    }
    if (method !== 'POST') req.resume();
    const body = method === 'POST' ? await readBody(req, this.maxMessageBytes) : Buffer.alloc(0);
    if (body === 'aborted') return;
    if (body === undefined) {
      return sendJson(
        res,
        413,
        { message: `Request entity too large: PostToConnection data is limited to ${this.maxMessageBytes} bytes` },
        'PayloadTooLargeException',
      );
    }
    const conn = this.connections.get(connectionId);
    if (!conn?.open || (stageName !== undefined && conn.stage.name !== stageName)) {
      return sendJson(res, 410, { message: `Connection ${connectionId} is gone (closed, or never existed on this API)` }, 'GoneException');
    }
    switch (method) {
      case 'POST':
        this.send(conn, isUtf8(body) ? body.toString('utf8') : body, !isUtf8(body));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '0', 'x-amzn-RequestId': randomUUID() });
        return void res.end();
      case 'GET':
        return sendJson(res, 200, {
          connectedAt: new Date(conn.connectedAt).toISOString(),
          identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        });
      default:
        this.close(conn, 1000, '');
        res.writeHead(204, { 'x-amzn-RequestId': randomUUID() });
        return void res.end();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private stageOf(pathname: string): StageDef | undefined {
    const match = /^\/([^/]+)\/?$/.exec(pathname);
    if (!match) return undefined;
    try {
      return this.stages.get(decodeURIComponent(match[1]!));
    } catch {
      return undefined;
    }
  }

  private stageVariables(stage: StageDef): { stageVariables?: Record<string, string> } {
    return Object.keys(stage.variables).length > 0 ? { stageVariables: stage.variables } : {};
  }

  private requestContext(info: RequestInfo, routeKey: string, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', requestId: string) {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: clfTime(new Date(now)),
      messageDirection: 'IN',
      stage: info.stage.name,
      connectedAt: info.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: info.sourceIp, userAgent: info.userAgent },
      requestId,
      domainName: this.domainName,
      connectionId: info.connectionId,
      apiId: this.apiId,
      ...(info.authorizer ? { authorizer: info.authorizer } : {}),
    };
  }

  /** Invokes a Lambda integration within its timeout; anything but a result is a failure. */
  private async invoke(integration: IntegrationDef, event: unknown): Promise<InvokeResult> {
    const failure = (errorType: string, errorMessage: string): InvokeResult => ({
      ok: false,
      requestId: randomUUID(),
      functionError: 'Unhandled',
      error: { errorType, errorMessage },
    });
    const fn = integration.functionUri ? this.options.lambda.get(integration.functionUri) : undefined;
    if (!fn) {
      // Not a Lambda proxy integration (reported at start-up): behaves like an empty MOCK.
      return integration.functionUri
        ? failure('ResourceNotFoundException', 'function not found')
        : { ok: true, payload: 'null', requestId: randomUUID() };
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<InvokeResult>((resolve) => {
      timer = setTimeout(() => resolve(failure('IntegrationTimeout', 'Endpoint request timed out')), integration.timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([fn.invoke(event), timeout]);
    } catch (error) {
      return failure('InvokeError', describe(error));
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface Headers {
  readonly single: Record<string, string>;
  readonly multi: Record<string, string[]>;
}

interface Query {
  readonly single: Record<string, string>;
  readonly multi: Record<string, string[]>;
}

/** Headers as AWS passes them: original casing, plus the ones its front end adds. */
function requestHeaders(req: IncomingMessage, sourceIp: string, secure: boolean): Headers {
  const multi: Record<string, string[]> = Object.create(null);
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    multi[raw[i]!] ??= [];
    multi[raw[i]!].push(raw[i + 1]!);
  }
  const has = (name: string) => Object.keys(multi).some((k) => k.toLowerCase() === name.toLowerCase());
  const add = (name: string, value: string) => {
    if (!has(name)) multi[name] = [value];
  };
  add('X-Amzn-Trace-Id', `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`);
  add('X-Forwarded-For', sourceIp);
  add('X-Forwarded-Port', String(req.socket.localPort ?? (secure ? 443 : 80)));
  add('X-Forwarded-Proto', secure ? 'https' : 'http');
  const single: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(multi)) single[k] = v.join(',');
  return { single, multi };
}

function queryParameters(params: URLSearchParams): Query | undefined {
  const multi: Record<string, string[]> = Object.create(null);
  for (const [k, v] of params) {
    multi[k] ??= [];
    multi[k].push(v);
  }
  if (Object.keys(multi).length === 0) return undefined;
  const single: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(multi)) single[k] = v[v.length - 1]!;
  return { single, multi };
}

/** Whether an authorizer identity source (`route.request.header.X`, ...) has a non-empty value. */
function identityPresent(source: string, headers: Headers, query: Query | undefined, stage: StageDef): boolean {
  const header = /^route\.request\.header\.(.+)$/i.exec(source);
  if (header) {
    const name = header[1]!.toLowerCase();
    return Object.entries(headers.multi).some(([k, v]) => k.toLowerCase() === name && v.some((x) => x !== ''));
  }
  const param = /^route\.request\.querystring\.(.+)$/i.exec(source);
  if (param) return (query?.multi[param[1]!] ?? []).some((x) => x !== '');
  const variable = /^stageVariables\.(.+)$/.exec(source);
  if (variable) return (stage.variables[variable[1]!] ?? '') !== '';
  return true; // context variables are always present
}

/** IAM policy evaluation for `execute-api:Invoke` on `methodArn`: an explicit Deny wins. */
function evaluatePolicy(policy: Record<string, unknown>, methodArn: string): 'Allow' | 'Deny' {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  let allowed = false;
  for (const statement of statements) {
    if (!isObject(statement)) continue;
    const actions = toList(statement.Action);
    const resources = toList(statement.Resource);
    const applies = actions.some((a) => glob(a.toLowerCase(), 'execute-api:invoke')) && resources.some((r) => glob(r, methodArn));
    if (!applies) continue;
    const effect = String(statement.Effect ?? '').toLowerCase();
    if (effect === 'deny') return 'Deny';
    if (effect === 'allow') allowed = true;
  }
  return allowed ? 'Allow' : 'Deny';
}

function toList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  return value === undefined ? [] : [String(value)];
}

function glob(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return regex.test(value);
}

interface ProxyResponse {
  statusCode?: number;
  body?: unknown;
  headers?: Record<string, unknown>;
  isBase64Encoded?: boolean;
}

function parseResponse(payload: string): ProxyResponse {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return {};
  }
  if (!isObject(value)) return {};
  return {
    statusCode:
      typeof value.statusCode === 'number'
        ? value.statusCode
        : value.statusCode === undefined
          ? undefined
          : Number(value.statusCode) || 500,
    body: value.body,
    headers: isObject(value.headers) ? value.headers : undefined,
    isBase64Encoded: value.isBase64Encoded === true,
  };
}

function headerValue(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const entry = Object.entries(headers ?? {}).find(([k]) => k.toLowerCase() === name);
  return entry && entry[1] !== undefined && entry[1] !== null ? String(entry[1]) : undefined;
}

/** Connection, request and message ids shaped like AWS's: 16 characters ending with `=`. */
function newId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

/** `21/Nov/2026:10:00:00 +0000`, the requestTime format of API Gateway events. */
function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${p(date.getUTCHours())}:${p(date.getUTCMinutes())}:${p(date.getUTCSeconds())} +0000`;
}

function sourceIpOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

/** AWS's error frame, byte for byte in its odd spacing. */
function errorFrame(message: string, connectionId: string, requestId: string): string {
  return `{"message": ${JSON.stringify(message)}, "connectionId":${JSON.stringify(connectionId)}, "requestId":${JSON.stringify(requestId)}}`;
}

/** Whether `ws`'s handleUpgrade would accept this handshake (perMessageDeflate is off: extensions are ignored). */
function validHandshake(req: IncomingMessage): boolean {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  if (req.method !== 'GET' || String(req.headers.upgrade).toLowerCase() !== 'websocket') return false;
  if (typeof key !== 'string' || !WEBSOCKET_KEY.test(key)) return false;
  if (version !== '13' && version !== '8') return false;
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols !== undefined) {
    const names = protocols.split(',').map((p) => p.trim());
    if (names.some((p) => !TOKEN.test(p)) || new Set(names).size !== names.length) return false;
  }
  return true;
}

function badRequest(): Refusal {
  return { status: 400, body: JSON.stringify({ message: 'Bad Request' }) };
}

/** AWS documents the 4,096-character URL quota, not the status it answers with; 414 is HTTP's. */
function uriTooLong(): Refusal {
  return { status: 414, body: JSON.stringify({ message: 'URI Too Long' }) };
}

function forbidden(): Refusal {
  return { status: 403, body: JSON.stringify({ message: 'Forbidden' }), errorType: 'ForbiddenException' };
}

function unauthorized(): Refusal {
  return { status: 401, body: JSON.stringify({ message: 'Unauthorized' }), errorType: 'UnauthorizedException' };
}

function internalError(): Refusal {
  return { status: 500, body: JSON.stringify({ message: 'Internal server error' }) };
}

/** Answers a pending upgrade with a plain HTTP response and closes the socket. */
function refuse(socket: Duplex, refusal: Refusal): void {
  if (socket.destroyed) return;
  const body = Buffer.from(refusal.body, 'utf8');
  const lines = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${body.length}`,
    `x-amzn-RequestId: ${randomUUID()}`,
    ...(refusal.errorType ? [`x-amzn-ErrorType: ${refusal.errorType}`] : []),
  ];
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
  setTimeout(() => socket.destroy(), 1_000).unref();
}

function sendJson(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
  });
  res.end(text);
}

/** Reads a request body; undefined when it exceeds `limit` bytes, 'aborted' when the client went away. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined | 'aborted'> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk as Buffer);
    }
  } catch {
    return 'aborted';
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

function statusCodeOf(error: Error): number | undefined {
  const symbol = Object.getOwnPropertySymbols(error).find((s) => s.description === 'status-code');
  const code = symbol ? (error as unknown as Record<symbol, unknown>)[symbol] : undefined;
  return typeof code === 'number' ? code : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
