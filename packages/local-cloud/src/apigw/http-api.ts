/**
 * API Gateway v2 HTTP API emulation, driven by the template: routes (most specific match first),
 * Lambda proxy integrations with payload format 2.0, REQUEST Lambda authorizers (simple and IAM
 * policy responses, cached per identity), CORS as configured, named or `$default` stages, and
 * API Gateway's own error answers (404, 401, 403, 500, 503 on the 30 s integration timeout).
 *
 * Hostile input is answered, never thrown: a request target that does not parse or a path whose
 * percent-encoding does not decode (`%ZZ`, `%`, a truncated or non-UTF-8 sequence) is 400
 * `{"message":"Bad Request"}` before routing; malformed HTTP (invalid characters, bad framing) is
 * refused by Node's parser and answered by `answerClientErrors`; request line and headers over
 * API Gateway's 10,240 bytes are 431; a body over 10 MB is 413. The query string is passed raw, as
 * AWS does (`rawQueryString`); `queryStringParameters` are decoded leniently (`%ZZ` stays `%ZZ`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { CloudModel, ModelResource } from '../model';
import type { InvokeResult, LambdaService } from '../lambda/service';
import { answerClientErrors, decodable, listen } from '../net';

export interface HttpApiServerOptions {
  readonly model: CloudModel;
  readonly lambda: LambdaService;
  readonly api: ModelResource;
  readonly host: string;
  readonly port: number;
}

/** API Gateway's payload limit for HTTP APIs. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/**
 * API Gateway's quota "total combined size of request line and header values" for HTTP APIs
 * (10,240 bytes). Node's parser counts the request target, the header names and the values (not
 * the method, version and separators), which is as close as it gets. AWS does not document the
 * status it answers with; 431 is HTTP's (and what Node sends for its own limit).
 */
const MAX_REQUEST_LINE_AND_HEADERS = 10_240;
/** Distinct `METHOD path` pairs whose route match is remembered. */
const MATCH_CACHE_SIZE = 1_000;
/** Content types API Gateway passes as text; any other body is base64-encoded. */
const TEXT_CONTENT_TYPE = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml)))/i;

const BAD_REQUEST = JSON.stringify({ message: 'Bad Request' });
const NOT_FOUND = JSON.stringify({ message: 'Not Found' });
const TOO_LARGE = JSON.stringify({ message: 'Request Entity Too Large' });
const UNAUTHORIZED = JSON.stringify({ message: 'Unauthorized' });
const FORBIDDEN = JSON.stringify({ message: 'Forbidden' });
const INTERNAL_ERROR = JSON.stringify({ message: 'Internal Server Error' });
const SERVICE_UNAVAILABLE = JSON.stringify({ message: 'Service Unavailable' });

interface Integration {
  readonly functionUri: string;
  readonly timeoutMs: number;
}

interface Authorizer {
  readonly where: string;
  readonly functionUri: string;
  readonly identitySource: string[];
  readonly simpleResponses: boolean;
  readonly payloadVersion: string;
  readonly ttlSeconds: number;
  readonly cache: Map<string, { expires: number; decision: AuthDecision }>;
}

interface RouteMatch {
  readonly route: Route;
  readonly pathParameters: Readonly<Record<string, string>>;
}

type AuthDecision = { allowed: true; context: Record<string, unknown> } | { allowed: false; status: 401 | 403 | 500 };

interface Route {
  readonly routeKey: string;
  readonly method: string; // 'ANY' for any method; '' for $default
  readonly segments: string[];
  readonly integration?: Integration;
  readonly authorizer?: Authorizer;
}

interface Cors {
  readonly allowOrigins: string[];
  readonly allowMethods: string[];
  readonly allowHeaders: string[];
  readonly exposeHeaders: string[];
  readonly maxAge?: number;
  readonly allowCredentials: boolean;
}

export class HttpApiServer {
  private readonly server = createServer({ maxHeaderSize: MAX_REQUEST_LINE_AND_HEADERS }, (req, res) => {
    // Input errors are answered inside handle(); this catch is for the emulator's own bugs, so one
    // request's failure is a 500 for that request, never an unhandled rejection.
    this.handle(req, res).catch((error: unknown) => {
      console.error(`HTTP API ${this.options.api.where}: ${req.method} ${req.url} failed:`, error);
      if (!res.headersSent) this.reply(res, randomUUID(), 500, INTERNAL_ERROR);
      else res.destroy();
    });
  });
  private readonly routes: Route[] = [];
  private readonly stageNames: string[] = [];
  private readonly matches = new Map<string, RouteMatch | undefined>();
  private cors?: Cors;
  private domainName = '';
  private domainPrefix = '';

  constructor(readonly options: HttpApiServerOptions) {
    this.server.keepAliveTimeout = 60_000;
    answerClientErrors(this.server);
    this.load();
  }

  async start(): Promise<{ url: string }> {
    const { host, port } = this.options;
    const bound = await listen(this.server, port, host, `HTTP API ${this.options.api.where}`);
    this.domainName = `${host}:${bound}`;
    this.domainPrefix = this.domainName.split('.')[0]!;
    return { url: `http://${host}:${bound}` };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  // ---------------------------------------------------------------------------------------------
  // Template → routes

  private load(): void {
    const { model, api } = this.options;
    const apiProps = model.properties(api);
    for (const key of ['Body', 'BodyS3Location', 'Target', 'RouteKey', 'CredentialsArn']) {
      if (apiProps[key] !== undefined)
        model.diagnostics.unsupported(`${api.where}/${key}`, `HTTP API ${key} (quick create / OpenAPI import) is not emulated`);
    }
    this.cors = parseCors(apiProps.CorsConfiguration as Record<string, unknown> | undefined);
    const belongs = (r: ModelResource) => model.properties(r).ApiId === api.ref;

    for (const stage of model.ofType('AWS::ApiGatewayV2::Stage').filter(belongs)) {
      const props = model.properties(stage);
      this.stageNames.push(String(props.StageName));
      if (props.StageVariables) model.diagnostics.unsupported(`${stage.where}/StageVariables`, 'stage variables are not emulated');
    }
    if (this.stageNames.length === 0) model.diagnostics.unsupported(api.where, 'HTTP API without a stage: nothing is served');

    const integrations = new Map<string, Integration>();
    for (const resource of model.ofType('AWS::ApiGatewayV2::Integration').filter(belongs)) {
      const props = model.properties(resource);
      if (props.IntegrationType !== 'AWS_PROXY' || !String(props.IntegrationUri ?? '').includes(':lambda:')) {
        model.diagnostics.unsupported(
          resource.where,
          `integration type ${String(props.IntegrationType)} (${String(props.IntegrationUri ?? props.IntegrationSubtype ?? '')}) is not emulated; only Lambda proxy integrations`,
        );
        continue;
      }
      if (String(props.PayloadFormatVersion ?? '2.0') !== '2.0') {
        model.diagnostics.unsupported(
          `${resource.where}/PayloadFormatVersion`,
          `payload format ${String(props.PayloadFormatVersion)} is not emulated; use 2.0`,
        );
        continue;
      }
      if (props.RequestParameters || props.ResponseParameters) {
        model.diagnostics.unsupported(resource.where, 'parameter mapping is not emulated');
      }
      integrations.set(resource.ref, {
        functionUri: String(props.IntegrationUri),
        timeoutMs: Math.min(Number(props.TimeoutInMillis ?? 30_000), 30_000),
      });
    }

    const authorizers = new Map<string, Authorizer>();
    for (const resource of model.ofType('AWS::ApiGatewayV2::Authorizer').filter(belongs)) {
      const props = model.properties(resource);
      if (props.AuthorizerType !== 'REQUEST') {
        model.diagnostics.unsupported(
          resource.where,
          `${String(props.AuthorizerType)} authorizers are not emulated; only Lambda REQUEST authorizers`,
        );
        continue;
      }
      authorizers.set(resource.ref, {
        where: resource.where,
        functionUri: String(props.AuthorizerUri),
        identitySource: ((props.IdentitySource as string[] | undefined) ?? []).map(String),
        simpleResponses: props.EnableSimpleResponses === true,
        payloadVersion: String(props.AuthorizerPayloadFormatVersion ?? '2.0'),
        ttlSeconds: Number(props.AuthorizerResultTtlInSeconds ?? 0),
        cache: new Map(),
      });
    }

    for (const resource of model.ofType('AWS::ApiGatewayV2::Route').filter(belongs)) {
      const props = model.properties(resource);
      const routeKey = String(props.RouteKey);
      const target = String(props.Target ?? '');
      const integration = integrations.get(target.replace(/^integrations\//, ''));
      if (target && !integration) {
        // The integration itself was reported; the route answers 500 like a broken integration.
      }
      let authorizer: Authorizer | undefined;
      const authType = String(props.AuthorizationType ?? 'NONE');
      if (authType === 'CUSTOM') {
        authorizer = authorizers.get(String(props.AuthorizerId));
        if (!authorizer)
          model.diagnostics.unsupported(resource.where, 'route authorizer is not emulated: the route refuses every request (403)');
      } else if (authType !== 'NONE') {
        model.diagnostics.unsupported(
          resource.where,
          `authorization type ${authType} is not emulated: the route refuses every request (403)`,
        );
      }
      const [method, path] = routeKey === '$default' ? ['', ''] : routeKey.split(' ', 2);
      this.routes.push({
        routeKey,
        method: method!,
        segments: path ? path.split('/').filter(Boolean) : [],
        integration,
        authorizer: authType === 'NONE' ? undefined : (authorizer ?? DENY_ALL),
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Requests

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const target = splitTarget(req.url ?? '/');
    const method = (req.method ?? 'GET').toUpperCase();
    const origin = req.headers.origin;
    // A path API Gateway cannot decode never reaches routing (path parameters are decoded there).
    if (!target || !decodable(target.pathname)) {
      req.resume();
      return this.reply(res, requestId, 400, BAD_REQUEST, origin);
    }

    // Preflight is answered by API Gateway itself when CORS is configured.
    if (this.cors && method === 'OPTIONS' && origin && req.headers['access-control-request-method']) {
      req.resume();
      this.writePreflight(res, requestId, origin, req.headers);
      return;
    }

    const { stage, path } = this.splitStage(target.pathname);
    if (stage === undefined) return this.reply(res, requestId, 404, NOT_FOUND, origin);

    let body: Buffer = EMPTY;
    if (hasBody(req)) {
      const read = await readBody(req, MAX_BODY_BYTES);
      if (read === 'aborted') return;
      if (read === 'too large') {
        // The rest of the upload is not read: answer, then close the connection.
        res.shouldKeepAlive = false;
        return this.reply(res, requestId, 413, TOO_LARGE, origin);
      }
      body = read;
    } else {
      req.resume(); // nothing to read: no need to wait a turn of the event loop for 'end'
    }

    const match = this.match(method, path);
    if (!match) return this.reply(res, requestId, 404, NOT_FOUND, origin);
    const { route, pathParameters } = match;

    const event = this.buildEvent(req, target, path, stage, route, pathParameters, body, requestId);
    if (route.authorizer) {
      const decision = await this.authorize(route.authorizer, route, event);
      if (!decision.allowed) {
        const message = decision.status === 401 ? UNAUTHORIZED : decision.status === 403 ? FORBIDDEN : INTERNAL_ERROR;
        return this.reply(res, requestId, decision.status, message, origin);
      }
      (event.requestContext as Record<string, unknown>).authorizer = { lambda: decision.context };
    }
    if (!route.integration) return this.reply(res, requestId, 500, INTERNAL_ERROR, origin);

    const fn = this.options.lambda.get(route.integration.functionUri);
    if (!fn) return this.reply(res, requestId, 500, INTERNAL_ERROR, origin);
    const result = await withTimeout(fn.invoke(event), route.integration.timeoutMs);
    if (result === 'timeout') return this.reply(res, requestId, 503, SERVICE_UNAVAILABLE, origin);
    if (!result.ok) {
      // API Gateway's 500 says nothing of why; its log (integrationErrorMessage) does, and so does this.
      console.error(
        `HTTP API ${this.options.api.where}: ${method} ${target.pathname} answered 500: ${fn.spec.displayName} failed (request ${result.requestId}): ${result.error.errorType}: ${result.error.errorMessage}`,
      );
      return this.reply(res, requestId, 500, INTERNAL_ERROR, origin);
    }
    this.writeIntegrationResponse(res, requestId, result, origin);
  }

  private splitStage(pathname: string): { stage?: string; path: string } {
    if (this.stageNames.includes('$default')) return { stage: '$default', path: pathname };
    const [first, ...rest] = pathname.split('/').filter(Boolean);
    if (first && this.stageNames.includes(decodeURIComponent(first)))
      return { stage: decodeURIComponent(first), path: `/${rest.join('/')}` };
    return { path: pathname };
  }

  /**
   * Most specific route wins: literal segments over variables over greedy; a method over ANY.
   * Matches are remembered per method and path (routes never change once loaded), so a busy
   * path is matched once.
   */
  private match(method: string, path: string): RouteMatch | undefined {
    const key = `${method} ${path}`;
    const cached = this.matches.get(key);
    if (cached !== undefined || this.matches.has(key)) return cached;
    const found = this.matchUncached(method, path);
    if (this.matches.size >= MATCH_CACHE_SIZE) this.matches.delete(this.matches.keys().next().value!);
    this.matches.set(key, found);
    return found;
  }

  private matchUncached(method: string, path: string): RouteMatch | undefined {
    const segments = path.split('/').filter(Boolean);
    let best: (RouteMatch & { score: number[] }) | undefined;
    for (const route of this.routes) {
      if (route.routeKey === '$default') continue;
      if (route.method !== 'ANY' && route.method !== method) continue;
      const result = matchSegments(route.segments, segments);
      if (!result) continue;
      const score = [...result.score, route.method === 'ANY' ? 0 : 1];
      if (!best || compareScores(score, best.score) > 0) best = { route, pathParameters: result.params, score };
    }
    if (best) return { route: best.route, pathParameters: best.pathParameters };
    const fallback = this.routes.find((r) => r.routeKey === '$default');
    return fallback ? { route: fallback, pathParameters: {} } : undefined;
  }

  private buildEvent(
    req: IncomingMessage,
    target: RequestTarget,
    path: string,
    stage: string,
    route: Route,
    pathParameters: Readonly<Record<string, string>>,
    body: Buffer,
    requestId: string,
  ): Record<string, unknown> {
    const headers: Record<string, string> = Object.create(null);
    let cookies: string[] | undefined;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      if (name === 'cookie') {
        cookies ??= [];
        cookies.push(
          ...value
            .split(';')
            .map((c) => c.trim())
            .filter(Boolean),
        );
        continue;
      }
      const previous = headers[name];
      headers[name] = previous === undefined ? value : `${previous},${value}`;
    }
    const now = Date.now();
    const contentType = headers['content-type'] ?? '';
    const isText = body.length === 0 || TEXT_CONTENT_TYPE.test(contentType);
    const remote = req.socket.remoteAddress ?? '127.0.0.1';
    const event: Record<string, unknown> = {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath: target.pathname,
      rawQueryString: target.query,
    };
    if (cookies?.length) event.cookies = cookies;
    event.headers = headers;
    if (target.query) {
      const query: Record<string, string> = Object.create(null);
      for (const [k, v] of new URLSearchParams(target.query)) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
      if (Object.keys(query).length) event.queryStringParameters = query;
    }
    event.requestContext = {
      accountId: this.options.model.accountId,
      apiId: this.options.api.ref,
      domainName: this.domainName,
      domainPrefix: this.domainPrefix,
      http: {
        method: (req.method ?? 'GET').toUpperCase(),
        path,
        protocol: req.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${req.httpVersion}`,
        sourceIp: remote.startsWith('::ffff:') ? remote.slice(7) : remote,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.routeKey,
      stage,
      time: clfTime(now),
      timeEpoch: now,
    };
    if (Object.keys(pathParameters).length > 0) event.pathParameters = { ...pathParameters };
    if (body.length) event.body = isText ? body.toString('utf8') : body.toString('base64');
    event.isBase64Encoded = body.length > 0 && !isText;
    return event;
  }

  private async authorize(authorizer: Authorizer, route: Route, event: Record<string, unknown>): Promise<AuthDecision> {
    if (authorizer === DENY_ALL) return { allowed: false, status: 403 };
    const identity = authorizer.identitySource.map((source) => identityValue(source, event));
    if (identity.some((v) => v === undefined || v === '')) return { allowed: false, status: 401 };
    const cacheKey = identity.join('\u0000');
    const cached = authorizer.cache.get(cacheKey);
    if (cached && cached.expires > Date.now()) return cached.decision;

    const context = event.requestContext as Record<string, unknown>;
    const routeArn = `arn:aws:execute-api:${this.options.model.region}:${this.options.model.accountId}:${this.options.api.ref}/${String(context.stage)}/${route.routeKey === '$default' ? '$default' : route.routeKey.replace(' ', '')}`;
    const authEvent =
      authorizer.payloadVersion === '2.0'
        ? { ...event, type: 'REQUEST', routeArn, identitySource: identity, body: undefined, isBase64Encoded: undefined }
        : {
            version: '1.0',
            type: 'REQUEST',
            methodArn: routeArn,
            identitySource: identity.join(','),
            authorizationToken: identity[0],
            resource: route.routeKey.split(' ')[1] ?? '$default',
            path: (context.http as { path: string }).path,
            httpMethod: (context.http as { method: string }).method,
            headers: event.headers,
            queryStringParameters: event.queryStringParameters ?? {},
            pathParameters: event.pathParameters ?? {},
            requestContext: context,
          };
    const fn = this.options.lambda.get(authorizer.functionUri);
    const result: InvokeResult | undefined = fn ? await fn.invoke(authEvent) : undefined;
    let decision: AuthDecision;
    if (!result?.ok) {
      // An authorizer that fails (or throws) is a 500 for HTTP APIs, except the conventional "Unauthorized".
      decision = { allowed: false, status: result && !result.ok && result.error.errorMessage === 'Unauthorized' ? 401 : 500 };
    } else {
      let response: unknown;
      try {
        response = JSON.parse(result.payload);
      } catch {
        response = undefined; // not JSON: interpreted as a refusal below
      }
      decision = interpretAuthorizerResponse(response, authorizer.simpleResponses);
    }
    if (authorizer.ttlSeconds > 0 && (decision.allowed || decision.status !== 500)) {
      authorizer.cache.set(cacheKey, { expires: Date.now() + authorizer.ttlSeconds * 1000, decision });
    }
    return decision;
  }

  private writeIntegrationResponse(res: ServerResponse, requestId: string, result: { payload: string }, origin?: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.payload);
    } catch {
      parsed = result.payload;
    }
    // Payload 2.0: an object with statusCode is a full response; anything else is a 200 JSON body.
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'statusCode' in parsed) {
      const r = parsed as {
        statusCode: number;
        headers?: Record<string, unknown>;
        body?: unknown;
        isBase64Encoded?: boolean;
        cookies?: string[];
      };
      const status = Number(r.statusCode);
      if (!Number.isInteger(status) || status < 100 || status > 599) {
        this.reply(res, requestId, 500, INTERNAL_ERROR, origin);
        return;
      }
      // Headers go to writeHead as one flat [name, value, ...] list: Node then writes them as they
      // are, where setHeader() per header would build and validate a header map first.
      const headers: string[] = [];
      let hasContentType = false;
      let hasRequestId = false;
      if (r.headers) {
        for (const name in r.headers) {
          const lower = name.toLowerCase();
          if (lower === 'content-length') continue; // API Gateway sets it from the body it sends
          hasContentType ||= lower === 'content-type';
          hasRequestId ||= lower === 'apigw-requestid';
          headers.push(lower, String(r.headers[name]));
        }
      }
      if (!hasRequestId) headers.push('apigw-requestid', requestId);
      if (Array.isArray(r.cookies)) for (const cookie of r.cookies) headers.push('set-cookie', String(cookie));
      this.corsHeaders(headers, origin);
      // Text bodies go out as strings: Node writes headers and body in one write() then, where a
      // Buffer body costs a writev of two chunks (measurably slower under load).
      const body: string | Buffer =
        r.body === undefined || r.body === null ? '' : r.isBase64Encoded ? Buffer.from(String(r.body), 'base64') : String(r.body);
      const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
      if (!hasContentType && length > 0) headers.push('content-type', 'application/json');
      headers.push('content-length', String(length));
      try {
        res.writeHead(status, headers);
      } catch {
        // A header name or value Node refuses to send (a control character, a space in a name):
        // a malformed integration response, which API Gateway answers with 500.
        this.reply(res, requestId, 500, INTERNAL_ERROR, origin);
        return;
      }
      res.end(body);
      return;
    }
    this.reply(res, requestId, 200, typeof parsed === 'string' ? parsed : JSON.stringify(parsed), origin);
  }

  /** A JSON answer: API Gateway's own (errors, 404s) and a handler's non-response result. */
  private reply(res: ServerResponse, requestId: string, status: number, text: string, origin?: string): void {
    const headers = ['apigw-requestid', requestId];
    this.corsHeaders(headers, origin);
    headers.push('content-type', 'application/json', 'content-length', String(Buffer.byteLength(text)));
    res.writeHead(status, headers);
    res.end(text);
  }

  /** Appends the CORS response headers for `origin`, when CORS is configured and allows it. */
  private corsHeaders(headers: string[], origin?: string): void {
    const cors = this.cors;
    if (!cors || !origin || !originAllowed(cors, origin)) return;
    headers.push('access-control-allow-origin', cors.allowOrigins.includes('*') && !cors.allowCredentials ? '*' : origin);
    if (cors.allowCredentials) headers.push('access-control-allow-credentials', 'true');
    if (cors.exposeHeaders.length) headers.push('access-control-expose-headers', cors.exposeHeaders.join(','));
    headers.push('vary', 'Origin');
  }

  private writePreflight(res: ServerResponse, requestId: string, origin: string, requested: IncomingMessage['headers']): void {
    const cors = this.cors!;
    const headers = ['apigw-requestid', requestId];
    const requestedMethod = String(requested['access-control-request-method']).toUpperCase();
    const methodOk = cors.allowMethods.includes('*') || cors.allowMethods.includes(requestedMethod);
    if (originAllowed(cors, origin) && methodOk) {
      this.corsHeaders(headers, origin);
      headers.push('access-control-allow-methods', cors.allowMethods.join(','));
      const requestedHeaders = requested['access-control-request-headers'];
      const allowHeaders = cors.allowHeaders.includes('*') ? String(requestedHeaders ?? '') : cors.allowHeaders.join(',');
      if (allowHeaders) headers.push('access-control-allow-headers', allowHeaders);
      if (cors.maxAge !== undefined) headers.push('access-control-max-age', String(cors.maxAge));
    }
    res.writeHead(204, headers);
    res.end();
  }
}

const DENY_ALL: Authorizer = {
  where: 'deny-all',
  functionUri: '',
  identitySource: [],
  simpleResponses: true,
  payloadVersion: '2.0',
  ttlSeconds: 0,
  cache: new Map(),
};

function interpretAuthorizerResponse(response: unknown, simple: boolean): AuthDecision {
  const r = (response ?? {}) as Record<string, unknown>;
  const context = (r.context && typeof r.context === 'object' ? r.context : {}) as Record<string, unknown>;
  if (simple) {
    return r.isAuthorized === true ? { allowed: true, context } : { allowed: false, status: 403 };
  }
  const statements = (r.policyDocument as { Statement?: Array<{ Effect?: string; Action?: unknown }> } | undefined)?.Statement ?? [];
  const invokes = statements.filter((s) => [s.Action].flat().some((a) => a === 'execute-api:Invoke' || a === 'execute-api:*' || a === '*'));
  if (invokes.some((s) => s.Effect === 'Deny') || !invokes.some((s) => s.Effect === 'Allow')) return { allowed: false, status: 403 };
  return { allowed: true, context: { ...context, ...(r.principalId ? { principalId: r.principalId } : {}) } };
}

function identityValue(source: string, event: Record<string, unknown>): string | undefined {
  const headers = event.headers as Record<string, string>;
  const query = (event.queryStringParameters ?? {}) as Record<string, string>;
  const context = event.requestContext as Record<string, unknown>;
  const m = /^\$(request\.header|request\.querystring|context|stageVariables)\.(.+)$/.exec(source);
  if (!m) return undefined;
  switch (m[1]) {
    case 'request.header':
      return headers[m[2]!.toLowerCase()];
    case 'request.querystring':
      return query[m[2]!];
    case 'context':
      return (
        String(m[2]!.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], context) ?? '') || undefined
      );
    default:
      return undefined;
  }
}

function matchSegments(pattern: string[], actual: string[]): { params: Record<string, string>; score: number[] } | undefined {
  const params: Record<string, string> = Object.create(null);
  const score: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const greedy = /^\{(.+)\+\}$/.exec(p);
    if (greedy) {
      if (i !== pattern.length - 1 || actual.length <= i) return undefined;
      params[greedy[1]!] = actual.slice(i).map(decodeURIComponent).join('/');
      score.push(1);
      return { params, score };
    }
    const a = actual[i];
    if (a === undefined) return undefined;
    const variable = /^\{(.+)\}$/.exec(p);
    if (variable) {
      params[variable[1]!] = decodeURIComponent(a);
      score.push(2);
    } else if (p === a) {
      score.push(3);
    } else {
      return undefined;
    }
  }
  return actual.length === pattern.length ? { params, score } : undefined;
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function parseCors(config: Record<string, unknown> | undefined): Cors | undefined {
  if (!config) return undefined;
  const list = (v: unknown) => ((v as unknown[] | undefined) ?? []).map((x) => String(x));
  return {
    allowOrigins: list(config.AllowOrigins),
    allowMethods: list(config.AllowMethods).map((m) => m.toUpperCase()),
    allowHeaders: list(config.AllowHeaders).map((h) => h.toLowerCase()),
    exposeHeaders: list(config.ExposeHeaders),
    maxAge: config.MaxAge === undefined ? undefined : Number(config.MaxAge),
    allowCredentials: config.AllowCredentials === true,
  };
}

function originAllowed(cors: Cors, origin: string): boolean {
  return cors.allowOrigins.some(
    (o) => o === '*' || o === origin || (o.includes('*') && new RegExp(`^${o.split('*').map(escapeRegExp).join('.*')}$`).test(origin)),
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const EMPTY = Buffer.alloc(0);

/** Whether the request declares a body (HTTP/1.1: a non-zero Content-Length or chunked encoding). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The body, or why there is none: over `limit` bytes, or the client went away mid-upload. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        resolve('too large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve('aborted'));
    req.on('aborted', () => resolve('aborted'));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

interface RequestTarget {
  /** The path as the client sent it (dot segments resolved, as URL parsing does). */
  readonly pathname: string;
  /** The query string without `?`, as sent. */
  readonly query: string;
}

/**
 * A plain path (the common case) is split as is; anything unusual goes through URL parsing.
 * Undefined when the target does not parse as a URL (e.g. `//[`, `//a:99999`: a path starting
 * with `//` reads as an authority).
 */
function splitTarget(target: string): RequestTarget | undefined {
  const q = target.indexOf('?');
  const pathname = q === -1 ? target : target.slice(0, q);
  if (PLAIN_PATH.test(pathname) && !DOT_SEGMENT.test(pathname)) return { pathname, query: q === -1 ? '' : target.slice(q + 1) };
  if (!URL.canParse(target, 'http://local')) return undefined;
  const url = new URL(target, 'http://local');
  return { pathname: url.pathname, query: url.search.slice(1) };
}
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$)/i;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let clfSecond = -1;
let clfText = '';

/** `12/Mar/2020:19:03:58 +0000`, the format of requestContext.time (formatted once per second). */
function clfTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== clfSecond) {
    const d = new Date(second * 1000);
    const p = (n: number) => String(n).padStart(2, '0');
    clfText = `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
    clfSecond = second;
  }
  return clfText;
}
