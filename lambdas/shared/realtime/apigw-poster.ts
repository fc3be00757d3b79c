/**
 * `ConnectionPoster` (poster.ts) over API Gateway's `@connections` API, with the two failures
 * fan-out must treat differently (DESIGN.md section 7; STYLE counter-examples):
 *
 * - the connection is gone (`GoneException`, 410): not an error, the caller removes it;
 * - API Gateway throttles (`LimitExceededException`, 429 / `TooManyRequestsException`), or the
 *   request fails on the way (a reset or timed-out socket, a 5xx): retried here with exponential
 *   backoff and full jitter, then `Throttled` is thrown so the caller can retry the whole delivery
 *   later instead of dropping it.
 *
 * Anything else is thrown as is. Errors are recognised by name and HTTP status, never by
 * `e.statusCode` (SDK v3 has none).
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { retry, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../retry';
import { serializeFrame, type ServerFrame } from './frames';
import { Throttled, type ConnectionPoster, type PostOutcome } from './poster';

export const DEFAULT_BACKOFF: BackoffPolicy = { attempts: 5, baseDelayMs: 50, maxDelayMs: 2_000 };

interface SdkError {
  readonly name?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

export function isGone(error: unknown): boolean {
  const e = error as SdkError;
  return e?.name === 'GoneException' || e?.$metadata?.httpStatusCode === 410;
}

export function isThrottling(error: unknown): boolean {
  const e = error as SdkError;
  return (
    e?.name === 'LimitExceededException' ||
    e?.name === 'TooManyRequestsException' ||
    e?.name === 'ThrottlingException' ||
    e?.$metadata?.httpStatusCode === 429
  );
}

/** A failure of the request itself, not an answer about the connection: worth another try. */
export function isTransient(error: unknown): boolean {
  const e = error as SdkError & { code?: string; message?: string };
  const status = e?.$metadata?.httpStatusCode;
  return (
    e?.name === 'TimeoutError' ||
    ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED'].includes(e?.code ?? '') ||
    /socket hang up/i.test(e?.message ?? '') ||
    (status !== undefined && status >= 500)
  );
}

/** Throttling or a failed request: retried here, then reported as `Throttled`. */
function isWorthRetrying(error: unknown): boolean {
  return isThrottling(error) || isTransient(error);
}

/**
 * The `@connections` endpoint to post to: the stage's callback URL (`https://{domain}/{stage}`), or
 * the SDK's standard per-service endpoint override `AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI` when
 * it is set, the way it applies to every other client. On AWS nothing sets it; the local cloud
 * does, pointing at its plain-HTTP `@connections` API, which spares every post a TLS round of CPU
 * that the 2-core benchmarks would otherwise pay in both processes.
 */
export function connectionsEndpoint(callbackUrl: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI || callbackUrl;
}

/**
 * An `@connections` client whose own retries are off: throttling is retried by its callers, with
 * jitter, and a 410 must not be retried at all.
 */
export function connectionsClient(endpoint: string): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });
}

/** The SDK call itself, so tests can replace it. */
export type SendFrame = (connectionId: string, data: string) => Promise<void>;

export class ApiGatewayPoster implements ConnectionPoster {
  private readonly send: SendFrame;

  constructor(
    send: SendFrame | { readonly endpoint: string },
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly sleep: Sleep = defaultSleep,
  ) {
    if (typeof send === 'function') {
      this.send = send;
    } else {
      const client = connectionsClient(send.endpoint);
      this.send = async (ConnectionId, data) => {
        await client.send(new PostToConnectionCommand({ ConnectionId, Data: Buffer.from(data) }));
      };
    }
  }

  async post(connectionId: string, frame: ServerFrame | string): Promise<PostOutcome> {
    const data = typeof frame === 'string' ? frame : serializeFrame(frame);
    try {
      await retry(() => this.send(connectionId, data), { ...this.policy, sleep: this.sleep, retryable: isWorthRetrying });
      return 'sent';
    } catch (error) {
      if (isGone(error)) return 'gone';
      if (isWorthRetrying(error)) throw new Throttled(connectionId, error);
      throw error;
    }
  }
}
