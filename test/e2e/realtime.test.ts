/**
 * End to end: the real-time core through the local cloud as `npm start` runs it, with real `ws`
 * clients: the protocol (subscribe, unsubscribe, ping, errors), authorization of topics, CDC
 * fan-out from a producer's write to exactly the topic's subscribers in `seq` order, gone
 * connections, replay with `lastEventId`, and hot topics split into jobs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { eventually } from '@realtime/local-cloud/testing';
import type { Session } from '../support/realtime-client';
import { usePlatform } from '../support/platform';

const platform = usePlatform({ admin: true });
let alice: Session;
let bob: Session;
let realtimeTable: string;

beforeAll(async () => {
  [alice, bob] = await Promise.all([platform.client.signup('alice'), platform.client.signup('bob')]);
  realtimeTable = String(platform.stateful.RealtimeTableName);
});

let topicCounter = 0;
const freshTopic = (kind = 'feed') => `${kind}:t${Date.now().toString(36)}${topicCounter++}`;

/** How many edges shard 0 of `topic` holds (`undefined` when the query answers no items). */
async function edgeCount(topic: string): Promise<number | undefined> {
  const edges = await platform.db.send(
    new QueryCommand({
      TableName: realtimeTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `edge#${topic}#0` },
    }),
  );
  return edges.Items?.length;
}

async function publish(topic: string, event: string, payload: Record<string, unknown>, coalesce?: boolean) {
  const res = await platform.client.publish(platform.admin, topic, event, payload, coalesce);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
}

describe('protocol', () => {
  it('answers ping with pong', async () => {
    const c = await platform.connect(alice);
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('subscribes and unsubscribes with the client id, idempotently', async () => {
    const c = await platform.connect(alice);
    const topic = freshTopic('content');
    expect(await c.subscribe('s1', topic)).toEqual({ type: 'subscribed', id: 's1', topic });
    expect(await c.subscribe('s1', topic)).toEqual({ type: 'subscribed', id: 's1', topic });
    expect(await c.roundTrip({ type: 'unsubscribe', id: 's1' }, (f) => f.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      id: 's1',
    });
    expect(await c.roundTrip({ type: 'unsubscribe', id: 's1' }, (f) => f.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      id: 's1',
    });
  });

  it("refuses another user's private topic, allows one's own", async () => {
    const c = await platform.connect(alice);
    expect(await c.subscribe('mine', `user:${alice.userId}`)).toMatchObject({ type: 'subscribed' });
    expect(await c.subscribe('theirs', `user:${bob.userId}`)).toMatchObject({ type: 'error', id: 'theirs', code: 'forbidden' });
  });

  it('answers malformed frames with bad_request naming the field, and stays usable', async () => {
    const c = await platform.connect(alice);
    const bad = (frame: unknown) => c.roundTrip(frame, (f) => f.type === 'error');
    expect(await bad({ type: 'subscribe', id: 's1' })).toMatchObject({
      code: 'bad_request',
      id: 's1',
      message: expect.stringContaining('topic'),
    });
    expect(await bad({ type: 'subscribe', id: 's1', topic: 'nope:1' })).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('topic'),
    });
    expect(await bad({ type: 'subscribe', id: 's 1', topic: 'feed:x' })).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('id'),
    });
    expect(await bad({ type: 'subscribe', id: 's2', topic: 'feed:x', extra: 1 })).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('extra'),
    });
    expect(await bad({ type: 'subscribe', id: 's3', topic: 'feed:x', lastEventId: 'feed:y:3' })).toMatchObject({
      code: 'bad_request',
      message: expect.stringContaining('lastEventId'),
    });
    expect(await bad({ type: 'unsubscribe' })).toMatchObject({ code: 'bad_request', message: expect.stringContaining('id') });
    expect(await bad({ type: 'ping', id: 5 })).toMatchObject({ code: 'bad_request' });
    expect(await bad({ type: 'hello' })).toMatchObject({ code: 'unknown_type' });
    expect(await bad('[1,2]')).toMatchObject({ code: 'bad_request' });
    expect(await bad('not json')).toMatchObject({ code: 'bad_request' });
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('answers an oversize message (sent in 32 KB frames) with an error frame, and stays usable', async () => {
    const c = await platform.connect(alice);
    const big = JSON.stringify({ type: 'subscribe', id: 'big', topic: 'feed:x', pad: 'x'.repeat(40 * 1024) });
    const answer = new Promise((resolve) => c.ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
    const half = Math.floor(big.length / 2);
    c.ws.send(big.slice(0, half), { fin: false });
    c.ws.send(big.slice(half), { fin: true });
    expect(await answer).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringContaining('32768') });
    expect(await c.roundTrip({ type: 'ping' }, (f) => f.type === 'pong')).toEqual({ type: 'pong' });
  });

  it('refuses the 101st subscription of a connection with too_many_subscriptions', async () => {
    const c = await platform.connect(bob);
    // Ten at a time: a hundred frames at once can take longer than a round trip's wait on a busy machine.
    const answers = [];
    for (let i = 0; i < 100; i += 10) {
      answers.push(...(await Promise.all(Array.from({ length: 10 }, (_, j) => c.subscribe(`s${i + j}`, `feed:many${i + j}`)))));
    }
    expect(answers.every((a) => a.type === 'subscribed')).toBe(true);
    expect(await c.subscribe('s100', 'feed:many100')).toMatchObject({ type: 'error', id: 's100', code: 'too_many_subscriptions' });
    await c.roundTrip({ type: 'unsubscribe', id: 's0' }, (f) => f.type === 'unsubscribed');
    expect(await c.subscribe('s100', 'feed:many100')).toMatchObject({ type: 'subscribed' });
  }, 60_000);
});

describe('producers', () => {
  it('lets only admins publish, and validates topic and body', async () => {
    const topic = freshTopic();
    expect((await platform.client.publish(alice, topic, 'price.changed', { p: 1 })).status).toBe(403);
    expect((await platform.client.publish(platform.admin, 'bad topic', 'price.changed', { p: 1 })).status).toBe(400);
    const res = await platform.client.request<{ error: { details: unknown } }>(
      'POST',
      `/api/v1/topics/${topic}/events`,
      { event: 'x', payload: 'no' },
      platform.admin.accessToken,
    );
    expect(res.status).toBe(400);
    expect(res.body!.error.details).toEqual([expect.objectContaining({ field: 'payload' })]);
    expect((await platform.client.request('POST', `/api/v1/topics/${topic}/events`, { event: 'x', payload: {} })).status).toBe(401);
  });

  // Each of these used to be a 500 (DynamoDB or the SDK's marshaller refused the write) or, for
  // `__proto__`, a 202 that dropped the key; test/integration/topic-publish-payloads.test.ts has
  // every case against the handler itself.
  it('answers 400 naming the path for payloads DynamoDB cannot store', async () => {
    const topic = freshTopic();
    const cases: [string, string][] = [
      ['{"n":9007199254740993}', 'payload.n'],
      ['{"n":1e999}', 'payload.n'],
      ['{"a":{"b":[1e-200]}}', 'payload.a.b.0'],
      [`${'{"a":'.repeat(32)}1${'}'.repeat(32)}`, `payload${'.a'.repeat(31)}`],
      ['{"":1}', 'payload.""'],
      ['{"constructor":1}', 'payload.constructor'],
      ['{"__proto__":{"admin":true}}', 'payload.__proto__'],
      ['{"s":"\\ud800"}', 'payload.s'],
    ];
    for (const [payload, field] of cases) {
      const res = await platform.client.request<{ error: { code: string; details: { field: string }[] } }>(
        'POST',
        `/api/v1/topics/${encodeURIComponent(topic)}/events`,
        `{"event":"e","payload":${payload}}`,
        platform.admin.accessToken,
      );
      expect(res.status, payload).toBe(400);
      expect(res.body!.error.code).toBe('bad_request');
      expect(res.body!.error.details.map((d) => d.field)).toContain(field);
    }
  });

  it('delivers a payload at every DynamoDB limit intact', async () => {
    const topic = freshTopic();
    const c = await platform.connect(alice);
    await c.subscribe('s', topic);
    const payload = {
      big: Number.MAX_SAFE_INTEGER,
      tiny: 1e-130,
      float: 0.1 + 0.2,
      empty: '',
      emoji: '😀',
      deep: JSON.parse(`${'{"a":'.repeat(30)}1${'}'.repeat(30)}`),
    };
    await publish(topic, 'edge', payload);
    const [frame] = await c.waitForData('s', 1, 30_000);
    expect(frame!.payload).toEqual(payload);
  });
});

describe('fan-out', () => {
  it("delivers each event once, to exactly the topic's subscribers, in seq order", async () => {
    const topic = freshTopic();
    const other = freshTopic();
    const [a, b, c] = await Promise.all([platform.connect(alice), platform.connect(bob), platform.connect(alice)]);
    await a.subscribe('p', topic);
    await b.subscribe('q', topic);
    await c.subscribe('r', other);
    for (let i = 1; i <= 5; i++) await publish(topic, 'price.changed', { i });

    for (const [conn, id] of [
      [a, 'p'],
      [b, 'q'],
    ] as const) {
      const frames = await conn.waitForData(id, 5);
      // A topic's first head numbers from epoch seconds × 100,000 (topic-log.ts), then by one.
      const first = Number(frames[0]!.seq);
      expect(String(first)).toMatch(/^\d{15}$/);
      expect(frames.map((f) => f.seq)).toEqual([first, first + 1, first + 2, first + 3, first + 4]);
      expect(frames.map((f) => (f.payload as { i: number }).i)).toEqual([1, 2, 3, 4, 5]);
      expect(frames[0]).toMatchObject({
        type: 'data',
        id,
        topic,
        eventId: `${topic}:${first}`,
        event: 'price.changed',
        ts: expect.any(String),
      });
    }
    await publish(other, 'price.changed', { i: 9 });
    await c.waitForData('r', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.data('p')).toHaveLength(5);
    expect(b.data('q')).toHaveLength(5);
    expect(c.data('r')).toHaveLength(1);
  });

  it('stops delivering after unsubscribe', async () => {
    const topic = freshTopic();
    const [a, b] = await Promise.all([platform.connect(alice), platform.connect(bob)]);
    await a.subscribe('s', topic);
    await b.subscribe('s', topic);
    await publish(topic, 'e', { n: 1 });
    await Promise.all([a.waitForData('s', 1), b.waitForData('s', 1)]);
    await a.roundTrip({ type: 'unsubscribe', id: 's' }, (f) => f.type === 'unsubscribed');
    await publish(topic, 'e', { n: 2 });
    await b.waitForData('s', 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(a.data('s')).toHaveLength(1);
  });

  it('removes a connection API Gateway never reported gone on the first 410', async () => {
    const topic = freshTopic();
    const live = await platform.connect(bob);
    await live.subscribe('s', topic);
    // A dead connection's records, as a missed $disconnect leaves them.
    const dead = 'ZGVhZGNvbm4=';
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await platform.db.send(
      new PutCommand({ TableName: realtimeTable, Item: { pk: `conn#${dead}`, sk: 'meta', connectionId: dead, userId: 'u', expiresAt } }),
    );
    await platform.db.send(
      new PutCommand({ TableName: realtimeTable, Item: { pk: `conn#${dead}`, sk: 'sub#x', topic, shard: 0, expiresAt } }),
    );
    await platform.db.send(
      new PutCommand({
        TableName: realtimeTable,
        Item: { pk: `edge#${topic}#0`, sk: `${dead}#x`, connectionId: dead, subId: 'x', mode: 'live', expiresAt },
      }),
    );

    await publish(topic, 'e', { n: 1 });
    await live.waitForData('s', 1);
    await eventually(async () => (await edgeCount(topic)) === 1);
    const meta = await platform.db.send(new GetCommand({ TableName: realtimeTable, Key: { pk: `conn#${dead}`, sk: 'meta' } }));
    expect(meta.Item).toBeUndefined();
  });

  it("removes a closed client's subscriptions on $disconnect", async () => {
    const topic = freshTopic();
    const c = await platform.connect(alice);
    await c.subscribe('s', topic);
    c.ws.terminate();
    await eventually(async () => (await edgeCount(topic)) === 0);
  });

  // Whether a burst lands in one stream batch is up to the stream, so this only shows coalescing
  // never breaks numbering; that a batch keeps only the latest event is proven against DynamoDB
  // Local in test/integration/realtime-fanout.test.ts.
  it('keeps seq consecutive when counter-style events are coalesced', async () => {
    const topic = freshTopic('content');
    const c = await platform.connect(alice);
    await c.subscribe('s', topic);
    await Promise.all(Array.from({ length: 20 }, (_, i) => publish(topic, 'counts.changed', { likes: i }, true)));
    await publish(topic, 'done', {});
    const frames = (await eventually(() => {
      const data = c.data('s');
      return data.at(-1)?.event === 'done' ? data : undefined;
    }))!;
    const counts = frames.filter((f) => f.event === 'counts.changed');
    expect(counts.length).toBeGreaterThanOrEqual(1);
    expect(counts.length).toBeLessThanOrEqual(20);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => Number(frames[0]!.seq) + i));
  });
});

describe('replay', () => {
  it('sends exactly the missed events, then live ones, on resubscribe with lastEventId', async () => {
    const topic = freshTopic();
    const first = await platform.connect(alice);
    await first.subscribe('s', topic);
    for (let i = 1; i <= 3; i++) await publish(topic, 'e', { i });
    const seen = await first.waitForData('s', 3);
    first.ws.terminate();
    for (let i = 4; i <= 7; i++) await publish(topic, 'e', { i });

    const again = await platform.connect(alice);
    const subscribed = await again.subscribe('s', topic, String(seen.at(-1)!.eventId));
    expect(subscribed).toMatchObject({ type: 'subscribed' });
    const replayed = await again.waitForData('s', 4);
    const last = Number(seen.at(-1)!.seq);
    expect(replayed.map((f) => f.seq)).toEqual([last + 1, last + 2, last + 3, last + 4]);
    // `subscribed` comes before the replay.
    expect(again.frames.findIndex((f) => f.type === 'subscribed')).toBeLessThan(again.frames.findIndex((f) => f.type === 'data'));
    await publish(topic, 'e', { i: 8 });
    expect((await again.waitForData('s', 5)).map((f) => f.seq)).toEqual([1, 2, 3, 4, 5].map((i) => last + i));
  });

  it('sends reset when the client is too far behind, then live data', async () => {
    const topic = freshTopic();
    const c = await platform.connect(alice);
    await publish(topic, 'e', { i: 1 });
    const head = (await eventually(async () => {
      const out = await platform.db.send(new GetCommand({ TableName: realtimeTable, Key: { pk: `topic#${topic}`, sk: 'head' } }));
      return out.Item?.seq as number | undefined;
    }))!;
    await c.subscribe('s', topic, `${topic}:${head + 99}`);
    expect(await c.waitFor((f) => f.type === 'reset')).toEqual({ type: 'reset', id: 's', topic, reason: 'replay_unavailable' });
    await publish(topic, 'e', { i: 2 });
    expect((await c.waitForData('s', 1)).map((f) => f.seq)).toEqual([head + 1]);
  });

  it('loses nothing and orders everything when events keep coming during resubscribe', async () => {
    const topic = freshTopic();
    const c = await platform.connect(bob);
    await c.subscribe('s', topic);
    await publish(topic, 'e', { i: 1 });
    const [firstFrame] = await c.waitForData('s', 1);
    const first = Number(firstFrame!.seq);
    c.ws.terminate();
    const publishing = (async () => {
      for (let i = 2; i <= 30; i++) await publish(topic, 'e', { i });
    })();
    await new Promise((r) => setTimeout(r, 50));
    const again = await platform.connect(bob);
    await again.subscribe('s', topic, `${topic}:${first}`);
    await publishing;
    const frames = await again.waitForData('s', 29, 20_000);
    const seqs = frames.map((f) => Number(f.seq));
    // Duplicates are allowed (the client drops them by seq); gaps and reordering are not.
    const distinct = seqs.filter((s, i) => i === 0 || s > seqs[i - 1]!);
    expect(distinct).toEqual(Array.from({ length: 29 }, (_, i) => first + i + 1));
    expect(seqs.every((s, i) => i === 0 || s >= seqs[i - 1]!)).toBe(true);
  }, 60_000);
});

describe('frames of one id that race, and what a client leaves behind', () => {
  it('subscribe and unsubscribe of one id sent back to back end unsubscribed, in whatever order they ran', async () => {
    // API Gateway runs one connection's frames concurrently; the last frame sent must win.
    const topic = freshTopic();
    const [c, control] = await Promise.all([platform.connect(alice), platform.connect(bob)]);
    await control.subscribe('s', topic);
    for (let i = 0; i < 20; i++) {
      c.send({ type: 'subscribe', id: `r${i}`, topic });
      c.send({ type: 'unsubscribe', id: `r${i}` });
    }
    await eventually(() => c.frames.filter((f) => f.type === 'unsubscribed').length === 20 || undefined, 30_000);
    // Give a subscribe that ran last the time to finish what it would do.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await edgeCount(topic)).toBe(1); // the control subscriber's
    await publish(topic, 'e', { n: 1 });
    await control.waitForData('s', 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.frames.filter((f) => f.type === 'data')).toEqual([]);
    expect(c.frames.filter((f) => f.type === 'error')).toEqual([]);
  }, 60_000);

  it('subscribing to topic names nobody publishes to leaves nothing behind once the client is gone', async () => {
    const c = await platform.connect(bob);
    const topics = Array.from({ length: 50 }, () => freshTopic());
    for (let i = 0; i < topics.length; i += 10) {
      await Promise.all(topics.slice(i, i + 10).map((topic, j) => c.subscribe(`h${i + j}`, topic)));
    }
    c.ws.terminate();
    await eventually(async () => (await Promise.all(topics.map(edgeCount))).every((n) => n === 0) || undefined, 20_000);
    const heads = await Promise.all(
      topics.map((topic) => platform.db.send(new GetCommand({ TableName: realtimeTable, Key: { pk: `topic#${topic}`, sk: 'head' } }))),
    );
    expect(heads.filter((out) => out.Item !== undefined)).toEqual([]);
  }, 60_000);
});
