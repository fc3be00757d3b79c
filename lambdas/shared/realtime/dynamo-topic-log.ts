/**
 * Per-topic sequence numbers and the replay log (topic-log.ts) in the realtime table:
 *
 *   pk `topic#<topic>` sk `head`       seq: the last number assigned, seqBase: where this head started
 *                                      numbering (topic-log.ts `seqBase`); lastSrcs: the sources
 *                                      of the events the last `assign` numbered, in order (see
 *                                      `assign`); expires `HEAD_TTL_SECONDS` after the last event
 *   pk `log#<topic>`   sk `<seq, 15 digits>`   seq, event, payload, ts, src; expires after 24 h
 *
 * Retries do not renumber. A stream batch that fails after its events were numbered comes back
 * whole, as its first half (bisect), or from a later record (a partial batch response); in each
 * case its events for a topic are among those the last `assign` of that topic numbered, possibly
 * followed by new ones. The head remembers those sources, so `assign` hands the same numbers back
 * and numbers only the new events: the retry re-delivers events with the seq clients already have,
 * which they drop as duplicates. (What it cannot see: another invocation numbering the same topic
 * in between, from another stream shard; decision 12.)
 */
import { paginateQuery, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { z } from 'zod';
import { epochSeconds, systemClock, type Clock } from '../clock';
import { batchWriteAll, isConditionalCheckFailed } from '../dynamodb';
import { headKey } from './dynamo-subscription-registry';
import {
  HEAD_TTL_SECONDS,
  LOG_RETENTION_SECONDS,
  seqBase as defaultSeqBase,
  type Assignment,
  type LogEntry,
  type TopicEvent,
  type TopicLog,
} from './topic-log';

/**
 * How many of a call's first sources the retry check looks at. A retry's events for a topic are a
 * part of the last call's events (a prefix after bisect, a suffix after a partial batch response)
 * followed by new ones, so if any was numbered, the first was: checking a few is enough, and
 * condition expressions are limited to 300 operators.
 */
export const RETRY_CHECK_SOURCES = 20;

export const logKey = (topic: string, seq: number) => ({ pk: `log#${topic}`, sk: seqKey(seq) });
const seqKey = (seq: number) => String(seq).padStart(15, '0');

const headSchema = z.object({
  seq: z.number().int().nonnegative(),
  shards: z.number().int().positive().default(1),
  lastSrcs: z.array(z.string()).default([]),
});

const entrySchema = z.object({
  seq: z.number().int().positive(),
  event: z.string(),
  payload: z.record(z.string(), z.unknown()),
  ts: z.string(),
  src: z.string(),
});

export class DynamoTopicLog implements TopicLog {
  constructor(
    // A real document client, not `DocumentClientLike`: `paginateQuery` insists on one.
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
    /** Where a new head starts numbering; tests that pin seqs pass `() => 0`. */
    private readonly seqBase: (now: Date) => number = defaultSeqBase,
  ) {}

  async assign(topic: string, events: readonly TopicEvent[]): Promise<Assignment> {
    if (events.length === 0) throw new RangeError('assign needs at least one event');
    const checked = events.slice(0, RETRY_CHECK_SOURCES);
    const srcValues = Object.fromEntries(checked.map((e, i) => [`:s${i}`, e.src]));
    const notSeen = Object.keys(srcValues)
      .map((name) => `NOT contains(lastSrcs, ${name})`)
      .join(' AND ');
    const now = this.clock();
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: headKey(topic),
          UpdateExpression:
            'SET seq = if_not_exists(seq, :base) + :n, seqBase = if_not_exists(seqBase, :base), shards = if_not_exists(shards, :one), lastSrcs = :srcs, expiresAt = :expiresAt',
          ConditionExpression: `attribute_not_exists(lastSrcs) OR (${notSeen})`,
          ExpressionAttributeValues: {
            ':base': this.seqBase(now),
            ':one': 1,
            ':n': events.length,
            ':srcs': events.map((e) => e.src),
            ':expiresAt': epochSeconds(now) + HEAD_TTL_SECONDS,
            ...srcValues,
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const head = headSchema.parse(out.Attributes);
      return { entries: number(topic, events, head.seq - events.length + 1), reused: 0, shards: head.shards };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // The document client does not unmarshall the item an error carries.
      const old = headSchema.parse(unmarshall((error as { Item?: Record<string, never> }).Item ?? {}));
      const firstOfLastCall = old.seq - old.lastSrcs.length + 1;
      const numbered = new Map(old.lastSrcs.map((src, i) => [src, firstOfLastCall + i]));
      const fresh = events.filter((e) => !numbered.has(e.src));
      const next = fresh.length > 0 ? await this.assign(topic, fresh) : undefined;
      const nextSeq = new Map(next?.entries.map((e) => [e.src, e.seq]));
      const entries = events.map((e) => ({
        topic,
        seq: numbered.get(e.src) ?? nextSeq.get(e.src)!,
        src: e.src,
        event: e.event,
        payload: e.payload,
        ts: e.ts,
      }));
      return { entries, reused: events.length - fresh.length, shards: next?.shards ?? old.shards };
    }
  }

  async append(entries: readonly LogEntry[]): Promise<void> {
    const expiresAt = epochSeconds(this.clock()) + LOG_RETENTION_SECONDS;
    await batchWriteAll(
      this.client,
      this.tableName,
      entries.map(({ topic, seq, event, payload, ts, src }) => ({
        PutRequest: { Item: { ...logKey(topic, seq), seq, event, payload, ts, src, expiresAt } },
      })),
    );
  }

  async read(topic: string, afterSeq: number, limit: number): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    const input = {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk > :after',
      ExpressionAttributeValues: { ':pk': `log#${topic}`, ':after': seqKey(afterSeq) },
      ConsistentRead: true,
      Limit: limit,
    };
    for await (const page of paginateQuery({ client: this.client }, input)) {
      for (const item of page.Items ?? []) entries.push({ topic, ...entrySchema.parse(item) });
      if (entries.length >= limit) break;
      // The paginator sends this same input for the next page: ask only for what is still missing.
      input.Limit = limit - entries.length;
    }
    return entries.slice(0, limit);
  }
}

function number(topic: string, events: readonly TopicEvent[], firstSeq: number): LogEntry[] {
  return events.map((e, i) => ({ topic, seq: firstSeq + i, src: e.src, event: e.event, payload: e.payload, ts: e.ts }));
}
