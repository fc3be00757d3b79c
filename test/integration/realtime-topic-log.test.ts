/**
 * Per-topic numbering and the replay log (lambdas/shared/realtime/dynamo-topic-log.ts) against DynamoDB
 * Local: `assign` numbers consecutively and gives a retried batch the numbers it already had (the
 * head's `lastSrc`), `append` + `read` round-trip in seq order with limits, past one BatchWrite
 * (25 items) and across Query pages.
 */
import { describe, expect, it } from 'vitest';
import { DeleteCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoTopicLog, logKey, RETRY_CHECK_SOURCES } from '../../lambdas/shared/realtime/dynamo-topic-log';
import {
  HEAD_TTL_SECONDS,
  LOG_RETENTION_SECONDS,
  SEQS_PER_SECOND,
  type LogEntry,
  type TopicLog,
} from '../../lambdas/shared/realtime/topic-log';
import { events, getItem, useLocalDynamo, type LocalDynamo } from '../support/realtime-local';

const NOW = new Date('2026-11-21T10:00:00.000Z');

let local: LocalDynamo;
let table: string;
let log: TopicLog;

useLocalDynamo(async (started, fresh) => {
  local = started;
  table = fresh;
  log = new DynamoTopicLog(
    local.db,
    table,
    () => NOW,
    () => 0,
  );
});

const headSeq = async (topic: string) => (await getItem(local.db, table, `topic#${topic}`, 'head'))?.seq;
const seqs = (entries: readonly LogEntry[]) => entries.map((e) => e.seq);
const srcs = (entries: readonly LogEntry[]) => entries.map((e) => e.src);

describe('assign', () => {
  it('numbers a new topic from 1, in the order given, and continues on the next call', async () => {
    const first = await log.assign('feed:a', events('a', 3));
    expect(first).toEqual({
      entries: events('a', 3).map((e, i) => ({ ...e, topic: 'feed:a', seq: i + 1 })),
      reused: 0,
      shards: 1,
    });
    const second = await log.assign('feed:a', events('a', 2, 4));
    expect(seqs(second.entries)).toEqual([4, 5]);
    expect(second.reused).toBe(0);
    expect(await headSeq('feed:a')).toBe(5);
  });

  it('numbers each topic on its own', async () => {
    await log.assign('feed:a', events('a', 3));
    expect(seqs((await log.assign('feed:b', events('b', 2))).entries)).toEqual([1, 2]);
    expect(seqs((await log.assign('feed:a', events('a', 1, 4))).entries)).toEqual([4]);
  });

  it('gives a retry of the same events the same numbers without advancing the head', async () => {
    await log.assign('feed:a', events('x', 2));
    const batch = events('a', 3);
    const first = await log.assign('feed:a', batch);
    const retry = await log.assign('feed:a', batch);
    expect(retry.entries).toEqual(first.entries);
    expect(seqs(retry.entries)).toEqual([3, 4, 5]);
    expect(retry.reused).toBe(3);
    expect(await headSeq('feed:a')).toBe(5);
    // And again: still the same.
    expect((await log.assign('feed:a', batch)).entries).toEqual(first.entries);
    expect(await headSeq('feed:a')).toBe(5);
  });

  it('keeps the numbers of a numbered prefix and numbers only the new events of a longer retry', async () => {
    await log.assign('feed:a', events('a', 2));
    const retry = await log.assign('feed:a', events('a', 5));
    expect(srcs(retry.entries)).toEqual(['a-1', 'a-2', 'a-3', 'a-4', 'a-5']);
    expect(seqs(retry.entries)).toEqual([1, 2, 3, 4, 5]);
    expect(retry.reused).toBe(2);
    expect(await headSeq('feed:a')).toBe(5);
    expect(await log.assign('feed:a', events('a', 1, 6))).toMatchObject({ entries: [{ seq: 6, src: 'a-6' }], reused: 0 });
  });

  it('recognises a retry that starts later in the numbered events (the stream resumed mid-batch)', async () => {
    await log.assign('feed:a', events('a', 4));
    const retry = await log.assign('feed:a', [...events('a', 2, 3), ...events('a', 1, 5)]);
    expect(srcs(retry.entries)).toEqual(['a-3', 'a-4', 'a-5']);
    expect(seqs(retry.entries)).toEqual([3, 4, 5]);
    expect(retry.reused).toBe(2);
  });

  it("returns the head's shard count", async () => {
    // The registry grows `shards` on the same head item.
    await log.assign('feed:a', events('a', 1));
    await local.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: 'topic#feed:a', sk: 'head' },
        UpdateExpression: 'SET shards = :s',
        ExpressionAttributeValues: { ':s': 4 },
      }),
    );
    expect((await log.assign('feed:a', events('a', 1, 2))).shards).toBe(4);
    expect((await log.assign('feed:a', events('a', 1, 2))).shards).toBe(4);
  });

  it('numbers and recognises a call of more events than the retry check looks at', async () => {
    const count = RETRY_CHECK_SOURCES + 50;
    await expect(log.assign('feed:a', [])).rejects.toThrow(RangeError);
    const all = await log.assign('feed:a', events('a', count));
    expect(seqs(all.entries)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect((await log.assign('feed:a', events('a', count))).reused).toBe(count);
    expect(await headSeq('feed:a')).toBe(count);
  });

  it('gives concurrent assigners disjoint, gap-free numbers', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => log.assign('feed:a', events(`w${i}`, 3))));
    const all = results.flatMap((r) => seqs(r.entries)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const r of results) expect(seqs(r.entries)).toEqual([r.entries[0]!.seq, r.entries[0]!.seq + 1, r.entries[0]!.seq + 2]);
  });

  it('gives a retry that is shorter than the numbered batch its old numbers too', async () => {
    // A Lambda timeout with bisectBatchOnError retries the first half of the batch: its events
    // were numbered 1-4 with the rest, and must not come back to clients as new seqs 5-6.
    await log.assign('feed:a', events('a', 4));
    const half = await log.assign('feed:a', events('a', 2));
    expect(seqs(half.entries)).toEqual([1, 2]);
    expect(await headSeq('feed:a')).toBe(4);
  });
});

describe('heads expire, and numbers never repeat', () => {
  it('a new head starts numbering above epoch seconds × 100,000 and expires a week after its last event', async () => {
    const timed = new DynamoTopicLog(local.db, table, () => NOW);
    const base = (NOW.getTime() / 1000) * SEQS_PER_SECOND;
    expect(seqs((await timed.assign('feed:a', events('e', 3))).entries)).toEqual([base + 1, base + 2, base + 3]);
    expect(String(base + 1)).toHaveLength(15); // the log's sort key pads to 15 digits
    expect(await getItem(local.db, table, 'topic#feed:a', 'head')).toMatchObject({
      seq: base + 3,
      seqBase: base,
      expiresAt: NOW.getTime() / 1000 + HEAD_TTL_SECONDS,
    });
    // Later events keep counting by one and push the expiry out.
    const later = new Date(NOW.getTime() + 3_600_000);
    const next = await new DynamoTopicLog(local.db, table, () => later).assign('feed:a', events('f', 1));
    expect(seqs(next.entries)).toEqual([base + 4]);
    expect(await getItem(local.db, table, 'topic#feed:a', 'head')).toMatchObject({
      seqBase: base,
      expiresAt: later.getTime() / 1000 + HEAD_TTL_SECONDS,
    });
  });

  it('a head created again after it expired numbers above every seq the old one gave', async () => {
    // A busy week: 10,000 events a second for 7 days on the old head, then it expires a week later.
    const old = new DynamoTopicLog(local.db, table, () => NOW);
    const [last] = (await old.assign('feed:a', events('e', 1))).entries;
    await local.db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: 'topic#feed:a', sk: 'head' },
        UpdateExpression: 'ADD seq :n',
        ExpressionAttributeValues: { ':n': 10_000 * 7 * 86_400 },
      }),
    );
    const oldHighest = last!.seq + 10_000 * 7 * 86_400;
    await local.db.send(new DeleteCommand({ TableName: table, Key: { pk: 'topic#feed:a', sk: 'head' } })); // TTL
    const reborn = new Date(NOW.getTime() + 14 * 86_400_000);
    const [first] = (await new DynamoTopicLog(local.db, table, () => reborn).assign('feed:a', events('g', 1))).entries;
    expect(first!.seq).toBeGreaterThan(oldHighest);
  });
});

describe('append and read', () => {
  it('round-trips entries in seq order, after a seq, up to a limit', async () => {
    const { entries } = await log.assign('feed:a', events('a', 5));
    await log.append(entries);
    expect(await log.read('feed:a', 0, 10)).toEqual(entries);
    expect(seqs(await log.read('feed:a', 2, 2))).toEqual([3, 4]);
    expect(seqs(await log.read('feed:a', 4, 10))).toEqual([5]);
    expect(await log.read('feed:a', 5, 10)).toEqual([]);
    expect(await log.read('feed:b', 0, 10)).toEqual([]);
  });

  it('orders by number, not by text, across digit boundaries', async () => {
    const entry = (seq: number): LogEntry => ({ topic: 'feed:a', seq, src: `s${seq}`, event: 'tick', payload: {}, ts: NOW.toISOString() });
    await log.append([entry(100), entry(9), entry(10), entry(1000), entry(99)]);
    expect(seqs(await log.read('feed:a', 0, 10))).toEqual([9, 10, 99, 100, 1000]);
    expect(seqs(await log.read('feed:a', 10, 2))).toEqual([99, 100]);
  });

  it('keeps payloads intact and expires entries after the retention', async () => {
    const payload = { price: 12.5, tags: ['a', 'b'], nested: { ok: true, none: null }, text: 'é ✓' };
    const { entries } = await log.assign('feed:a', [{ src: 'p', event: 'price.changed', payload, ts: '2026-11-21T09:59:59.000Z' }]);
    await log.append(entries);
    expect(await log.read('feed:a', 0, 1)).toEqual([
      { topic: 'feed:a', seq: 1, src: 'p', event: 'price.changed', payload, ts: '2026-11-21T09:59:59.000Z' },
    ]);
    const item = await getItem(local.db, table, logKey('feed:a', 1).pk, logKey('feed:a', 1).sk);
    expect(item?.expiresAt).toBe(NOW.getTime() / 1000 + LOG_RETENTION_SECONDS);
  });

  it('writes and reads more than one batch (25) of entries', async () => {
    const { entries } = await log.assign('feed:a', events('a', 60));
    await log.append(entries);
    expect(await log.read('feed:a', 0, 100)).toEqual(entries);
    expect(seqs(await log.read('feed:a', 10, 25))).toEqual(Array.from({ length: 25 }, (_, i) => 11 + i));
  });

  it('pages through a read that DynamoDB cuts short, asking each page only for what is missing', async () => {
    const { entries } = await log.assign('feed:a', events('a', 10));
    await log.append(entries);
    // Pages of at most 3 items, as if each stopped at DynamoDB's 1 MB: the rest comes on later pages.
    const limits: number[] = [];
    const shortPages: DynamoDBDocumentClient = Object.assign(Object.create(local.db) as DynamoDBDocumentClient, {
      send: (command: object) => {
        if (command instanceof QueryCommand) {
          const input = command.input as { Limit?: number };
          limits.push(input.Limit!);
          input.Limit = Math.min(input.Limit!, 3);
        }
        return local.db.send(command as never);
      },
    });
    expect(
      await new DynamoTopicLog(
        shortPages,
        table,
        () => NOW,
        () => 0,
      ).read('feed:a', 0, 8),
    ).toEqual(entries.slice(0, 8));
    expect(limits).toEqual([8, 5, 2]);
  });

  it('is idempotent: appending a retry again changes nothing', async () => {
    const batch = events('a', 3);
    await log.append((await log.assign('feed:a', batch)).entries);
    await log.append((await log.assign('feed:a', batch)).entries);
    expect(srcs(await log.read('feed:a', 0, 10))).toEqual(['a-1', 'a-2', 'a-3']);
  });
});
