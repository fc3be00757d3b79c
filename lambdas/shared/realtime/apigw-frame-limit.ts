/**
 * The `@connections` side of the frame limit (limits.ts): closing a connection that kept sending
 * far past its limit, with `DeleteConnection`. API Gateway then closes the socket (code 1000 here
 * and in the local cloud) and sends `$disconnect`, which releases what the connection held.
 *
 * A connection that is gone already (`GoneException`, 410) is what was wanted; throttling and
 * failed requests are retried as posts are (apigw-poster.ts); anything else is thrown.
 */
import { DeleteConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { retry, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../retry';
import { connectionsClient, DEFAULT_BACKOFF, isGone, isThrottling, isTransient } from './apigw-poster';
import type { ConnectionCloser } from './limits';

/** The SDK call itself, so tests can replace it. */
export type DeleteConnection = (connectionId: string) => Promise<void>;

export class ApiGatewayCloser implements ConnectionCloser {
  private readonly delete: DeleteConnection;

  constructor(
    target: DeleteConnection | { readonly endpoint: string },
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly sleep: Sleep = defaultSleep,
  ) {
    if (typeof target === 'function') {
      this.delete = target;
    } else {
      const client = connectionsClient(target.endpoint);
      this.delete = async (ConnectionId) => {
        await client.send(new DeleteConnectionCommand({ ConnectionId }));
      };
    }
  }

  async close(connectionId: string): Promise<void> {
    try {
      await retry(() => this.delete(connectionId), {
        ...this.policy,
        sleep: this.sleep,
        retryable: (error) => isThrottling(error) || isTransient(error),
      });
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }
}
