/**
 * End to end: the WebSocket limits (docs/protocol.md, "Limits") through the local cloud as
 * `npm start` runs it, with the defaults: a connection that sends 2,000 pings back to back gets
 * at most the limit in pongs, then `rate_limited` frames, then is closed; a user's 21st open
 * connection is refused with 429, and one more is accepted once a connection has closed; a
 * user's 61st ticket in a minute is refused with 429 and `Retry-After`.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  DEFAULT_FRAME_RATE_LIMIT,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_TICKETS_PER_MINUTE,
} from '../../lambdas/shared/realtime/limits';
import { usePlatform } from '../support/platform';
import type { Frame } from '../support/realtime-client';

const platform = usePlatform();

/** Waits until the local cloud's clock (what handlers see as `Date`) is at least `margin` seconds from the end of its minute. */
async function awayFromMinuteEnd(marginSeconds: number): Promise<void> {
  for (;;) {
    const { now } = (await (await fetch(`${platform.cloud.endpoints.controlUrl}/clock`)).json()) as { now: string };
    const left = 60 - ((Date.parse(now) / 1000) % 60);
    if (left >= marginSeconds) return;
    await new Promise((r) => setTimeout(r, (left + 0.5) * 1000));
  }
}

describe('open connections per user', () => {
  /** Opens a socket with a fresh ticket; the status of a refused upgrade, or the open socket. */
  async function open(accessToken: string): Promise<{ ws?: WebSocket; refusedWith?: number; body?: unknown }> {
    const ticket = await platform.client.request<{ ticket: string }>('POST', '/api/v1/realtime/ticket', undefined, accessToken);
    expect(ticket.status).toBe(201);
    const ws = new WebSocket(`${platform.client.wsUrl}?ticket=${encodeURIComponent(ticket.body!.ticket)}`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ refusedWith: res.statusCode, body: JSON.parse(body) }));
      });
      ws.once('error', reject);
    });
  }

  it("refuses a user's connection past the cap with 429, and accepts one again once a connection has closed", async () => {
    const user = await platform.client.signup('many-tabs');
    const cap = DEFAULT_MAX_CONNECTIONS_PER_USER;
    const sockets: WebSocket[] = [];
    try {
      // Four at a time, as a browser opening tabs would; 50 at once are in the integration test.
      for (let i = 0; i < cap; i += 4) {
        const opened = await Promise.all(Array.from({ length: Math.min(4, cap - i) }, () => open(user.accessToken)));
        for (const o of opened) {
          expect(o.refusedWith, JSON.stringify(o.body)).toBeUndefined();
          sockets.push(o.ws!);
        }
      }
      // Status and body only: the local cloud passes on no header of a refused $connect.
      expect(await open(user.accessToken)).toMatchObject({
        refusedWith: 429,
        body: { error: { code: 'rate_limited', message: `A user may hold at most ${cap} open connections; close one first` } },
      });
      // Another user is not affected.
      const other = await open((await platform.client.signup('other')).accessToken);
      expect(other.ws?.readyState).toBe(WebSocket.OPEN);
      other.ws!.close();

      // $disconnect releases the slot.
      const closing = sockets.pop()!;
      await new Promise((r) => {
        closing.once('close', r);
        closing.close();
      });
      let again: Awaited<ReturnType<typeof open>> | undefined;
      for (let attempt = 0; attempt < 20 && !again?.ws; attempt++) {
        again = await open(user.accessToken);
        if (!again.ws) await new Promise((r) => setTimeout(r, 250));
      }
      expect(again?.ws?.readyState).toBe(WebSocket.OPEN);
      sockets.push(again!.ws!);
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  }, 120_000);
});

describe('tickets per user', () => {
  it('issues a user 60 tickets a minute and refuses the rest with 429 and Retry-After, even 70 at once', async () => {
    const user = await platform.client.signup('ticket-hungry');
    const other = await platform.client.signup('ticket-modest');
    await awayFromMinuteEnd(15);
    const answers = await Promise.all(
      Array.from({ length: DEFAULT_TICKETS_PER_MINUTE + 10 }, () =>
        fetch(`${platform.client.httpUrl}/api/v1/realtime/ticket`, {
          method: 'POST',
          headers: { authorization: `Bearer ${user.accessToken}` },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(DEFAULT_TICKETS_PER_MINUTE);
    const refused = answers.filter((a) => a.status === 429);
    expect(refused).toHaveLength(10);
    const retryAfter = Number(refused[0]!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused[0]!.json()).toMatchObject({
      error: { code: 'rate_limited', message: expect.stringContaining('60 tickets a minute') },
    });
    // Another user has a budget of their own.
    expect((await platform.client.request('POST', '/api/v1/realtime/ticket', undefined, other.accessToken)).status).toBe(201);
  }, 120_000);
});

// Last in the file: the burst leaves the machine busy for a while.
describe('frames per connection', () => {
  it('lets a client subscribe to 100 topics at connect', async () => {
    const c = await platform.connect(await platform.client.signup('subscriber'));
    // All 100 at once, as a client resuming its subscriptions would; handling them takes a while here.
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        c.roundTrip({ type: 'subscribe', id: `s${i}`, topic: `feed:many${i}` }, (f) => f.id === `s${i}`, 90_000),
      ),
    );
    expect(answers.filter((a) => a.type !== 'subscribed')).toEqual([]);
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  }, 120_000);

  it('answers 2,000 back-to-back pings with at most the limit of pongs, then rate_limited frames, then closes the connection', async () => {
    const { frames, closeAfter } = DEFAULT_FRAME_RATE_LIMIT;
    // The window is that of the frame's receipt (requestTimeEpoch): all 2,000 arrive within a second.
    await awayFromMinuteEnd(10);
    const c = await platform.connect(await platform.client.signup('pinger'));
    const ping = JSON.stringify({ type: 'ping' });
    for (let i = 0; i < 2_000; i++) c.ws.send(ping);
    const closed = await Promise.race([c.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 120_000))]);
    expect(closed, 'the connection was not closed').toBeDefined();
    expect(closed!.code).toBe(1000);

    const pongs = c.frames.filter((f) => f.type === 'pong');
    const limited = c.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    expect(pongs.length).toBeLessThanOrEqual(frames);
    expect(pongs.length).toBeGreaterThan(0);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.length).toBeLessThanOrEqual(closeAfter - frames);
    expect(limited[0]).toEqual({ type: 'error', code: 'rate_limited', message: expect.stringMatching(/^Over 240 frames in 60 s/) });
    expect(c.frames.filter((f: Frame) => f.type !== 'pong' && f.code !== 'rate_limited')).toEqual([]);
    // The frames sent before the close still run (on AWS too): let them finish before what follows.
    await fetch(`${platform.cloud.endpoints.controlUrl}/settled`);
  }, 240_000);
});
