/**
 * API Gateway v2 in the local cloud: each HTTP and WebSocket API of the templates on a port of its
 * own, the first of each kind on the well-known port, further ones on free ports.
 */
import type { ServiceModule } from '../service-module';
import { HttpApiServer } from './http-api';
import { WebSocketApiServer, type WebSocketApiEndpoints } from './websocket-api';

export interface ApiGatewayModuleOptions {
  /** Port of the first HTTP API. @default 3000 */
  readonly httpPort?: number;
  /** Port of the first WebSocket API. @default 3001 */
  readonly wsPort?: number;
  /** TLS port of the first WebSocket API (wss:// and https @connections). @default 3003 */
  readonly tlsPort?: number;
  /** WebSocket API limits (defaults: API Gateway's; see `WebSocketApiServerOptions`). */
  readonly websocket?: {
    readonly idleTimeoutMs?: number;
    readonly maxConnectionMs?: number;
    readonly maxFrameBytes?: number;
    readonly maxMessageBytes?: number;
  };
}

export function apiGatewayModule(options: ApiGatewayModuleOptions): ServiceModule {
  return {
    sdkServiceIds: { apigatewaymanagementapi: 'APIGATEWAYMANAGEMENTAPI' },
    load({ model, lambda, host, tls, services, stopOnExit }) {
      /** URL of each API, by `Stack/LogicalId`. */
      const apiUrls = new Map<string, string>();
      let httpUrl: string | undefined;
      let wsUrl: string | undefined;
      return {
        async start() {
          const apis = model.ofType('AWS::ApiGatewayV2::Api');
          const httpApis = apis.filter((a) => model.properties(a).ProtocolType === 'HTTP');
          const wsApis = apis.filter((a) => model.properties(a).ProtocolType === 'WEBSOCKET');
          for (const [i, api] of httpApis.entries()) {
            const server = new HttpApiServer({ model, lambda, api, host, port: i === 0 ? (options.httpPort ?? 3000) : 0 });
            stopOnExit(server);
            const { url } = await server.start();
            model.setApiEndpoints(api.ref, { https: url });
            apiUrls.set(api.where, url);
            httpUrl ??= url;
          }
          for (const [i, api] of wsApis.entries()) {
            const server = new WebSocketApiServer({
              model,
              lambda,
              api,
              host,
              port: i === 0 ? (options.wsPort ?? 3001) : 0,
              tlsPort: i === 0 ? (options.tlsPort ?? 3003) : 0,
              tls,
              idleTimeoutMs: options.websocket?.idleTimeoutMs,
              maxConnectionMs: options.websocket?.maxConnectionMs,
              maxFrameBytes: options.websocket?.maxFrameBytes,
              maxMessageBytes: options.websocket?.maxMessageBytes,
            });
            stopOnExit(server);
            const endpoints: WebSocketApiEndpoints = await server.start();
            model.setApiEndpoints(api.ref, { https: endpoints.httpsBase, wss: endpoints.wsBase });
            apiUrls.set(api.where, endpoints.wsUrl);
            if (i === 0) services.apigatewaymanagementapi = `${endpoints.httpBase}/${endpoints.stages[0] ?? ''}`.replace(/\/$/, '');
            wsUrl ??= endpoints.wsUrl;
          }
        },
        describe: (resource) => (apiUrls.has(resource.where) ? { url: apiUrls.get(resource.where) } : undefined),
        urls: () => ({ ...(httpUrl ? { httpUrl } : {}), ...(wsUrl ? { wsUrl } : {}) }),
      };
    },
  };
}
