/**
 * Many WebSocket subscribers in the benchmark's process, lean enough for 10,000 of them: each
 * stamps a frame's arrival time before it does anything else with it and keeps only what the
 * measurements need (no per-frame waiter lists as in test/support/realtime-client.ts, which this
 * reuses for its HTTP calls). Arrival times are `performance.timeOrigin + performance.now()`, the
 * clock the publisher stamps `sentAt` with, in the same process.
 *
 * Frames the pool understands:
 * - `data` frames whose payload carries `{run, n, sentAt}`: a measured event of our fan-out;
 * - `{"type":"bench-baseline","run","n","sentAt"}`: the same event sent by the baseline
 *   (baseline-chat-app.ts), which posts raw data, not our protocol's frames;
 * - `subscribed` / `error` answers to subscribe frames; `pong`.
 * Anything else is counted as unexpected and reported.
 */
import WebSocket from 'ws';
import { PlatformClient, type Session } from '../test/support/realtime-client';

/** A measured frame as one subscriber received it. */
export interface Receipt {
  readonly n: number;
  /** Our fan-out's seq (undefined for the baseline, which has none). */
  readonly seq?: number;
  readonly sentAt: number;
  readonly at: number;
}

/** The frames `receive` reads (see the header); parsed JSON, trusted as it arrives. */
type IncomingFrame =
  | {
      readonly type: 'data';
      readonly seq: number;
      readonly payload?: { readonly run?: unknown; readonly n: number; readonly sentAt: number };
    }
  | { readonly type: 'bench-baseline'; readonly run: string; readonly n: number; readonly sentAt: number }
  | { readonly type: 'subscribed' | 'error'; readonly id?: unknown }
  | { readonly type: 'pong' };

export const now = (): number => performance.timeOrigin + performance.now();

export class BenchSubscriber {
  /** Receipts per run key (payload `run`), in arrival order. */
  readonly receipts = new Map<string, Receipt[]>();
  readonly errorFrames: string[] = [];
  unexpectedFrames = 0;
  lastActivity = now();
  closed?: { code: number; reason: string; at: number };
  private pendingSubscribes = new Map<string, { resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    readonly ws: WebSocket,
    private readonly onReceipt: (run: string, n: number) => void,
  ) {
    ws.on('message', (data) => this.receive(data.toString()));
    ws.once('close', (code, reason) => {
      this.closed = { code, reason: reason.toString(), at: now() };
      for (const pending of this.pendingSubscribes.values()) pending.reject(new Error(`connection closed (${code})`));
    });
  }

  /** Sends a subscribe frame and resolves on `subscribed` (rejects on an error frame or timeout). */
  subscribe(id: string, topic: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingSubscribes.delete(id);
        reject(new Error(`no answer to subscribe ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pendingSubscribes.set(id, { resolve, reject, timer });
      this.send({ type: 'subscribe', id, topic });
    });
  }

  send(frame: unknown): void {
    this.lastActivity = now();
    this.ws.send(JSON.stringify(frame));
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private receive(text: string): void {
    const at = now();
    this.lastActivity = at;
    let frame: IncomingFrame;
    try {
      frame = JSON.parse(text) as IncomingFrame;
    } catch {
      this.unexpectedFrames++;
      return;
    }
    if (frame.type === 'data' && typeof frame.payload?.run === 'string') {
      this.record(frame.payload.run, { n: frame.payload.n, seq: frame.seq, sentAt: frame.payload.sentAt, at });
    } else if (frame.type === 'bench-baseline') {
      this.record(frame.run, { n: frame.n, sentAt: frame.sentAt, at });
    } else if (frame.type === 'subscribed' || frame.type === 'error') {
      const id = typeof frame.id === 'string' ? frame.id : undefined;
      const pending = id === undefined ? undefined : this.pendingSubscribes.get(id);
      if (frame.type === 'error') this.errorFrames.push(text.slice(0, 300));
      if (id === undefined || !pending) return;
      clearTimeout(pending.timer);
      this.pendingSubscribes.delete(id);
      if (frame.type === 'subscribed') pending.resolve();
      else pending.reject(new Error(`subscribe refused: ${text.slice(0, 300)}`));
    } else if (frame.type !== 'pong') {
      this.unexpectedFrames++;
      if (this.errorFrames.length < 5) this.errorFrames.push(`unexpected: ${text.slice(0, 300)}`);
    }
  }

  private record(run: string, receipt: Receipt): void {
    let list = this.receipts.get(run);
    if (!list) {
      list = [];
      this.receipts.set(run, list);
    }
    list.push(receipt);
    this.onReceipt(run, receipt.n);
  }
}

export interface PoolOptions {
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** Connections opened (ticket + upgrade) or subscribed at once. */
  readonly concurrency: number;
  /** Connections per signed-up user: at most the per-user cap (20 by default; docs/protocol.md, "Limits"). */
  readonly connectionsPerUser: number;
  /** Per-step timeout (ticket, upgrade, subscribe answer). */
  readonly stepTimeoutMs: number;
}

/**
 * The subscribers, grown stage by stage. Keeps idle connections open: API Gateway (and the local
 * cloud) closes a connection after 10 minutes without a data frame, and a long setup could reach
 * that, so any subscriber quiet for 4 minutes sends `{"type":"ping"}`.
 */
export class SubscriberPool {
  readonly subscribers: BenchSubscriber[] = [];
  readonly client: PlatformClient;
  /** Distinct receipts per run key (first arrival of each (subscriber, n)). */
  private readonly counts = new Map<string, number>();
  private readonly seen = new WeakMap<BenchSubscriber, Map<string, Set<number>>>();
  private users: Session[] = [];
  private readonly keepAlive: NodeJS.Timeout;
  /** Connects that failed and were tried again (a third failure stops the setup). */
  connectRetries = 0;
  readonly setupErrors: string[] = [];

  constructor(private readonly options: PoolOptions) {
    this.client = new PlatformClient(options.httpUrl, options.wsUrl);
    this.keepAlive = setInterval(() => {
      const quietSince = now() - 4 * 60_000;
      for (const s of this.subscribers) if (!s.closed && s.lastActivity < quietSince) s.send({ type: 'ping' });
    }, 30_000);
    this.keepAlive.unref();
  }

  /** Distinct (subscriber, n) receipts of `run` so far. */
  received(run: string): number {
    return this.counts.get(run) ?? 0;
  }

  /** Opens connections until the pool holds `size`; returns how long it took. */
  async grow(size: number): Promise<number> {
    const started = now();
    const missing = size - this.subscribers.length;
    if (missing <= 0) return 0;
    const usersNeeded = Math.ceil(size / this.options.connectionsPerUser);
    if (this.users.length < usersNeeded) {
      this.users.push(...(await this.client.signupMany(usersNeeded - this.users.length, 'bench-subscriber')));
    }
    const from = this.subscribers.length;
    await limited(missing, this.options.concurrency, async (i) => {
      const user = this.users[Math.floor((from + i) / this.options.connectionsPerUser)]!;
      this.subscribers.push(await this.connectWithRetry(user));
    });
    return now() - started;
  }

  /** Subscribes the first `count` subscribers to `topic` as `subId`; returns how long it took. */
  async subscribeAll(count: number, subId: string, topic: string): Promise<number> {
    const started = now();
    const targets = this.subscribers.slice(0, count);
    await limited(targets.length, this.options.concurrency, async (i) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await targets[i]!.subscribe(subId, topic, this.options.stepTimeoutMs);
          return;
        } catch (error) {
          // Subscribing again with the same id and topic is idempotent, so a retry is safe.
          if (attempt >= 3 || targets[i]!.closed) throw error;
          this.setupErrors.push(`subscribe retried: ${(error as Error).message}`);
        }
      }
    });
    return now() - started;
  }

  closeAll(): void {
    clearInterval(this.keepAlive);
    for (const s of this.subscribers) s.close();
  }

  private async connectWithRetry(user: Session): Promise<BenchSubscriber> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect(user);
      } catch (error) {
        if (attempt >= 3) throw new Error(`could not connect a subscriber after ${attempt} attempts: ${(error as Error).message}`);
        this.connectRetries++;
        this.setupErrors.push(`connect retried: ${(error as Error).message}`);
      }
    }
  }

  /** A fresh single-use ticket, then the upgrade. */
  private async connect(user: Session): Promise<BenchSubscriber> {
    const res = await withTimeout(
      this.client.request<{ ticket: string }>('POST', '/api/v1/realtime/ticket', undefined, user.accessToken),
      this.options.stepTimeoutMs,
      'ticket',
    );
    if (res.status !== 201) throw new Error(`ticket: ${res.status} ${JSON.stringify(res.body)}`);
    // API Gateway does not negotiate permessage-deflate; off here too (it also costs memory per socket).
    const ws = new WebSocket(`${this.options.wsUrl}?ticket=${encodeURIComponent(res.body!.ticket)}`, { perMessageDeflate: false });
    const subscriber = new BenchSubscriber(ws, (run, n) => this.count(subscriber, run, n));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('unexpected-response', (_req, r) => reject(new Error(`upgrade refused: ${r.statusCode}`)));
        ws.once('error', reject);
      }),
      this.options.stepTimeoutMs,
      'upgrade',
    ).catch((error: unknown) => {
      ws.terminate();
      throw error;
    });
    ws.on('error', () => undefined); // reported through `closed`
    return subscriber;
  }

  private count(subscriber: BenchSubscriber, run: string, n: number): void {
    let byRun = this.seen.get(subscriber);
    if (!byRun) {
      byRun = new Map();
      this.seen.set(subscriber, byRun);
    }
    let ns = byRun.get(run);
    if (!ns) {
      ns = new Set();
      byRun.set(run, ns);
    }
    if (ns.has(n)) return;
    ns.add(n);
    this.counts.set(run, (this.counts.get(run) ?? 0) + 1);
  }
}

/** Runs `work(0 … count-1)` with at most `limit` in flight; rejects with the first error once all settled. */
export async function limited(count: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < count && !failure) {
      const i = next++;
      try {
        await work(i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  if (failure) throw failure.error;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
