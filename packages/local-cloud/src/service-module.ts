/**
 * One emulated service as `LocalCloud.start` runs it (the modules are listed in `cloud.ts`, in the
 * order they start). Start-up goes over the list three times, each time in that order:
 *
 *  1. `load`: create the service from the templates and serve its API. Services report the
 *     template errors they find while loading, and any stops start-up after this pass, before an
 *     API opens or anything acts on its own.
 *  2. `start` (of what `load` returned): open ports, create tables, follow streams.
 *  3. `run`: start what acts on its own, once every target handler is registered (a template's
 *     rate() schedule fires at once).
 *
 * Whatever a module starts it hands to `stopOnExit` (or `mount`): the local cloud stops everything
 * in the reverse order of starting.
 */
import type { JsonService, RestService } from './aws-protocol';
import type { ServiceContext } from './context';
import type { ControlServer } from './control';
import type { DynamoDbServer } from './dynamodb/server';
import type { ModelResource } from './model';
import type { TlsMaterial } from './tls';

export interface ServiceModule {
  /**
   * The keys of endpoints.json's `services` this module fills → the SDK's `AWS_ENDPOINT_URL_<ID>`
   * suffix that points functions' SDK clients at them (the SDK's service id, upper-cased, spaces
   * as underscores).
   */
  readonly sdkServiceIds: Readonly<Record<string, string>>;
  load(cloud: StartContext): LoadedService | Promise<LoadedService>;
}

export interface LoadedService {
  start?(): void | Promise<void>;
  run?(): void | Promise<void>;
  /** What endpoints.json adds to one of the templates' resources (e.g. a queue's URL). */
  describe?(resource: ModelResource): { readonly url?: string } | undefined;
  /** The module's share of endpoints.json's top-level URLs, once started. */
  urls?(): { readonly httpUrl?: string; readonly wsUrl?: string };
}

/** What a module gets while the local cloud starts. */
export interface StartContext extends ServiceContext {
  readonly host: string;
  /** Where certificates and state that outlives a run (generated secrets) live. */
  readonly stateDir: string;
  readonly tls: TlsMaterial;
  readonly control: ControlServer;
  /** Where the control server serves the services that `mount` registers on it. */
  readonly controlUrl: string;
  /** DynamoDB Local, started before anything else (its JVM is the slowest piece). */
  readonly dynamodb: Promise<DynamoDbServer>;
  /** endpoints.json's `services`: the URL of each service, by key (see `sdkServiceIds`). */
  readonly services: Record<string, string>;
  /** Serves a service on the control port, points functions' SDK at it, and stops it on exit. */
  mount(
    key: string,
    service: { stop(): unknown; isIdle?(): boolean },
    api: { json?: JsonService; rest?: RestService; settles?: string },
  ): void;
  stopOnExit(part: { stop(): Promise<void> }): void;
}
