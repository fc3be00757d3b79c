/**
 * The wire protocols the local cloud's AWS services speak to the real AWS SDK v3 clients, served
 * by one gateway (the control server's port): the JSON protocol (`X-Amz-Target: Prefix.Operation`;
 * SQS, EventBridge, Step Functions, Lambda-free services) and REST-JSON (paths; Scheduler, the
 * Lambda Invoke API). Services register operations; the gateway parses, dispatches and renders
 * errors the way the SDK expects them (`__type`, `x-amzn-ErrorType`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error the SDK client turns into an exception named `code`. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Extra response headers (e.g. SQS's `x-amzn-query-error`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

export interface RequestContext {
  readonly region: string;
  readonly accountId: string;
}

export type JsonOperation = (input: Record<string, unknown>, context: RequestContext) => unknown;

export interface JsonService {
  /** The `X-Amz-Target` prefix, e.g. `AmazonSQS`, `AWSEvents`, `AWSStepFunctions`. */
  readonly targetPrefix: string;
  /** `application/x-amz-json-1.0` or `-1.1`, echoed in responses. */
  readonly contentType: string;
  readonly operations: Record<string, JsonOperation>;
  /** Maps an error code to the `__type` the SDK expects (e.g. SQS wants `com.amazonaws.sqs#QueueDoesNotExist`). */
  readonly errorType?: (code: string) => string;
}

export interface RestRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export interface RestResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface RestService {
  readonly name: string;
  /** Whether this service handles the request (by path). */
  matches(method: string, path: string): boolean;
  handle(request: RestRequest, context: RequestContext): Promise<RestResponse> | RestResponse;
}

/**
 * A path segment decoded, or the client's error (400, `code`) when its percent-encoding is not
 * `%XX` escapes of UTF-8: `decodeURIComponent` throws a URIError there, which would otherwise be
 * answered as the service's own failure (500).
 */
export function decodePathSegment(segment: string, code = 'ValidationException'): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AwsError(code, `malformed percent-encoding in the request path: ${JSON.stringify(segment)}`, 400);
  }
}

export async function readBody(req: IncomingMessage, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new AwsError('RequestEntityTooLarge', `request body over ${limit} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Serves one JSON-protocol request for `service`. */
export async function serveJson(
  service: JsonService,
  operation: string,
  req: IncomingMessage,
  res: ServerResponse,
  context: RequestContext,
): Promise<void> {
  const renderError = (error: AwsError) =>
    sendJson(
      res,
      error.status,
      { __type: service.errorType?.(error.code) ?? error.code, message: error.message },
      { 'x-amzn-errortype': error.code, ...error.headers },
      service.contentType,
    );
  try {
    const handler = service.operations[operation];
    if (!handler)
      throw new AwsError('UnknownOperationException', `${service.targetPrefix}.${operation} is not supported by the local cloud`);
    const body = await readBody(req);
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      throw new AwsError('SerializationException', 'request body is not valid JSON');
    }
    // Every JSON-protocol input is a structure: `null`, an array or a scalar is refused as AWS's
    // deserializer refuses it, before any operation reads a field of it.
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      throw new AwsError('SerializationException', 'request body must be a JSON object');
    }
    const output = await handler(input as Record<string, unknown>, context);
    sendJson(res, 200, output ?? {}, {}, service.contentType);
  } catch (error) {
    if (error instanceof AwsError) return renderError(error);
    console.error(`${service.targetPrefix}.${operation} failed:`, error);
    renderError(new AwsError('InternalFailure', (error as Error).message ?? String(error), 500));
  }
}

/** Serves one REST-JSON request for `service`. */
export async function serveRest(
  service: RestService,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  context: RequestContext,
): Promise<void> {
  try {
    const body = await readBody(req);
    const response = await service.handle(
      { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body },
      context,
    );
    if (Buffer.isBuffer(response.body)) {
      res.writeHead(response.status, { 'content-length': response.body.length, ...response.headers });
      res.end(response.body);
      return;
    }
    sendJson(res, response.status, response.body, response.headers);
  } catch (error) {
    const e = error instanceof AwsError ? error : new AwsError('InternalServerException', (error as Error).message ?? String(error), 500);
    if (!(error instanceof AwsError)) console.error(`${service.name} ${req.method} ${url.pathname} failed:`, error);
    sendJson(res, e.status, { message: e.message, Message: e.message }, { 'x-amzn-errortype': e.code, ...e.headers });
  }
}
