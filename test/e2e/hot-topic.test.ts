/**
 * End to end: a hot topic through the local cloud. 2,000 `ws` clients follow one topic, so its
 * edges spread over shards and its deliveries go out as jobs on the fan-out FIFO queue, handled
 * by parallel workers; 5 clients follow another topic. Every hot subscriber gets the event exactly
 * once, and the small topic's event, published right after, is not held up behind the big one.
 *
 * The connections are spread over as many users as the per-user cap requires (20 each: docs/
 * protocol.md, "Limits"), so no user holds more than the cap or needs more than 20 tickets.
 */
import { expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LiveConnection, Session } from '../support/realtime-client';
import { usePlatform } from '../support/platform';
import { DEFAULT_MAX_CONNECTIONS_PER_USER } from '../../lambdas/shared/realtime/limits';

const HOT_SUBSCRIBERS = 2_000;
const COLD_SUBSCRIBERS = 5;

const platform = usePlatform({ admin: true });

const PER_USER = DEFAULT_MAX_CONNECTIONS_PER_USER;
const usersFor = (connections: number) => Math.ceil(connections / PER_USER);

/** Opens `count` connections subscribed to `topic`, `parallel` at a time, `PER_USER` per user in turn. */
async function subscribers(users: Session[], topic: string, count: number, parallel = 40): Promise<LiveConnection[]> {
  if (users.length * PER_USER < count) throw new Error(`${count} connections need ${usersFor(count)} users, got ${users.length}`);
  const out: LiveConnection[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const n = next++;
        const c = await platform.connect(users[Math.floor(n / PER_USER)]!);
        const answer = await c.subscribe('s', topic);
        if (answer.type !== 'subscribed') throw new Error(`subscriber ${n}: ${JSON.stringify(answer)}`);
        out.push(c);
      }
    }),
  );
  return out;
}

it('delivers a 2,000-subscriber topic to all, through shards and jobs, without delaying a 5-subscriber topic', async () => {
  const hotUsers = usersFor(HOT_SUBSCRIBERS);
  const users = await platform.client.signupMany(hotUsers + usersFor(COLD_SUBSCRIBERS), 'fan');
  const hotTopic = `feed:hot${Date.now().toString(36)}`;
  const coldTopic = `feed:cold${Date.now().toString(36)}`;
  const hot = await subscribers(users.slice(0, hotUsers), hotTopic, HOT_SUBSCRIBERS);
  const cold = await subscribers(users.slice(hotUsers), coldTopic, COLD_SUBSCRIBERS);

  // The hot topic's edges are sharded (so fan-out hands it to the job queue); the cold one is not.
  const table = String(platform.stateful.RealtimeTableName);
  const head = async (topic: string) =>
    (await platform.db.send(new GetCommand({ TableName: table, Key: { pk: `topic#${topic}`, sk: 'head' } }))).Item;
  expect((await head(hotTopic))?.shards).toBeGreaterThan(1);
  expect((await head(coldTopic))?.shards ?? 1).toBe(1); // no head until its first event

  const receipts: number[] = [];
  for (const c of hot) void c.waitFor((f) => f.type === 'data', 120_000).then(() => receipts.push(performance.now()));
  const coldReceipts: number[] = [];
  for (const c of cold) void c.waitFor((f) => f.type === 'data', 120_000).then(() => coldReceipts.push(performance.now()));

  expect((await platform.client.publish(platform.admin, hotTopic, 'tick', { n: 1 })).status).toBe(202);
  expect((await platform.client.publish(platform.admin, coldTopic, 'tick', { n: 1 })).status).toBe(202);

  await Promise.all(hot.map((c) => c.waitForData('s', 1, 120_000)));
  await Promise.all(cold.map((c) => c.waitForData('s', 1, 30_000)));
  await new Promise((r) => setTimeout(r, 500));

  // Exactly once each.
  const seq = hot[0]!.data('s')[0]!.seq;
  expect(hot.every((c) => c.data('s').length === 1 && c.data('s')[0]!.seq === seq)).toBe(true);
  expect(cold.every((c) => c.data('s').length === 1)).toBe(true);
  // The cold topic's subscribers all had their event before the hot topic's delivery finished.
  expect(Math.max(...coldReceipts)).toBeLessThan(Math.max(...receipts));
}, 600_000);
