/**
 * A client of the running platform as an application would write one: HTTP calls with fetch,
 * WebSocket connections with `ws`, frames collected as they arrive. Used by the end-to-end tests
 * and the benchmarks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';

export interface Session {
  readonly userId: string;
  readonly accessToken: string;
}

/** What signup and login answer, as far as a session needs it. */
interface SessionAnswer {
  readonly user: { readonly id: string };
  readonly accessToken: string;
}

export interface Frame {
  readonly type: string;
  readonly [key: string]: unknown;
}

export class PlatformClient {
  private counter = 0;

  constructor(
    readonly httpUrl: string,
    readonly wsUrl: string,
  ) {}

  /** `T` is what the caller expects the JSON answer to be (unchecked); `body` is undefined when the answer is empty. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T | undefined }> {
    const res = await fetch(`${this.httpUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as T) : undefined };
  }

  async signup(tag = 'user'): Promise<Session> {
    const email = `${tag}-${process.pid}-${Date.now()}-${this.counter++}@example.com`;
    const res = await this.request<SessionAnswer>('POST', '/api/v1/auth/signup', { email, password: 'correct-horse-battery', name: tag });
    if (res.status !== 201) throw new Error(`signup: ${res.status} ${JSON.stringify(res.body)}`);
    return { userId: res.body!.user.id, accessToken: res.body!.accessToken };
  }

  /**
   * `count` new users, `concurrency` sign-ups at a time (each is a scrypt hash in the auth
   * function). For tests and benchmarks that open many connections: a user may hold at most
   * 20 open at once and get 60 tickets a minute (docs/protocol.md, "Limits").
   */
  async signupMany(count: number, tag = 'user', concurrency = 4): Promise<Session[]> {
    const sessions: Session[] = new Array(count);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) {
          const i = next++;
          sessions[i] = await this.signup(`${tag}${i}`);
        }
      }),
    );
    return sessions;
  }

  async login(email: string, password: string): Promise<Session> {
    const res = await this.request<SessionAnswer>('POST', '/api/v1/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
    return { userId: res.body!.user.id, accessToken: res.body!.accessToken };
  }

  /** Logs in as the local admin `npm start` created (its credentials are in the state directory). */
  async admin(stateDir: string): Promise<Session> {
    const { email, password } = JSON.parse(readFileSync(join(stateDir, 'admin.json'), 'utf8')) as { email: string; password: string };
    return this.login(email, password);
  }

  async connect(session: Session): Promise<LiveConnection> {
    const res = await this.request<{ ticket: string }>('POST', '/api/v1/realtime/ticket', undefined, session.accessToken);
    if (res.status !== 201) throw new Error(`ticket: ${res.status} ${JSON.stringify(res.body)}`);
    const ws = new WebSocket(`${this.wsUrl}?ticket=${encodeURIComponent(res.body!.ticket)}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, r) => reject(new Error(`upgrade refused: ${r.statusCode}`)));
      ws.once('error', reject);
    });
    return new LiveConnection(ws);
  }

  /** `POST /api/v1/topics/{topic}/events` as `session` (an admin to succeed). */
  publish(session: Session, topic: string, event: string, payload: Record<string, unknown>, coalesce?: boolean) {
    return this.request(
      'POST',
      `/api/v1/topics/${encodeURIComponent(topic)}/events`,
      { event, payload, ...(coalesce ? { coalesce } : {}) },
      session.accessToken,
    );
  }
}

/** An open WebSocket with every frame it received, in order, and a way to wait for the next ones. */
export class LiveConnection {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { predicate: (f: Frame) => boolean; resolve: (f: Frame) => void; from: number }[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.predicate(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (already received or still to come) matching `predicate`. */
  waitFor(predicate: (f: Frame) => boolean, timeoutMs = 10_000, label = 'frame'): Promise<Frame> {
    const seen = this.frames.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${label} within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`)),
        timeoutMs,
      );
      this.waiters.push({
        predicate,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        from: this.frames.length,
      });
    });
  }

  /** Sends `frame` and waits for the first matching answer received after it was sent. */
  async roundTrip(frame: unknown, predicate: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const before = this.frames.length;
    const answer = new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer to ${JSON.stringify(frame).slice(0, 200)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const check = (f: Frame) => predicate(f) && this.frames.indexOf(f) >= before;
      this.waiters.push({
        predicate: check,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        from: before,
      });
    });
    this.send(frame);
    return answer;
  }

  async subscribe(id: string, topic: string, lastEventId?: string): Promise<Frame> {
    return this.roundTrip(
      { type: 'subscribe', id, topic, ...(lastEventId ? { lastEventId } : {}) },
      (f) => f.id === id && (f.type === 'subscribed' || f.type === 'error'),
    );
  }

  /** Data frames of subscription `id`, in arrival order. */
  data(id: string): Frame[] {
    return this.frames.filter((f) => f.type === 'data' && f.id === id);
  }

  /** Waits until subscription `id` has received `count` data frames. */
  async waitForData(id: string, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.data(id).length < count) {
      if (Date.now() > deadline) throw new Error(`subscription ${id}: ${this.data(id).length}/${count} data frames after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.data(id);
  }

  close(): void {
    this.ws.close();
  }
}
