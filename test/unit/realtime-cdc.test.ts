/**
 * Change data capture → topic events (lambdas/shared/realtime/cdc.ts): which domain-table changes
 * become topic events, the `src` each gets (what `TopicLog.assign` deduplicates retries by, so it
 * must be unique per event and the same on every redelivery), and coalescing of counter-style
 * events within a batch.
 */
import { describe, expect, it } from 'vitest';
import type { DomainChange } from '../../lambdas/shared/cdc/change';
import {
  coalesce,
  TOPIC_EVENT_ENTITY,
  TOPIC_SOURCES,
  topicEventsForChange,
  type TopicEventSpec,
  type TopicSource,
} from '../../lambdas/shared/realtime/cdc';

const CREATED_AT = '2026-11-21T10:00:00.000Z';

/** A `TopicEvent` item as dynamo-topic-events.ts writes it. */
function topicEventItem(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pk: 'TOPIC#feed:prices',
    sk: `EVENT#${CREATED_AT}#0b7c`,
    entity: TOPIC_EVENT_ENTITY,
    topic: 'feed:prices',
    event: 'price.changed',
    payload: { symbol: 'ACME', price: 12.5 },
    createdAt: CREATED_AT,
    publishedBy: 'admin-1',
    expiresAt: 1_900_000_000,
    ...overrides,
  };
}

function change(overrides: Partial<DomainChange> = {}): DomainChange {
  return { id: 'ev-1', type: 'INSERT', occurredAt: CREATED_AT, newImage: topicEventItem(), ...overrides };
}

describe('topicEventsForChange', () => {
  it('turns a TopicEvent INSERT into one event of its topic', () => {
    expect(topicEventsForChange(change())).toEqual([
      {
        topic: 'feed:prices',
        event: 'price.changed',
        payload: { symbol: 'ACME', price: 12.5 },
        ts: CREATED_AT,
        src: 'ev-1#0',
      },
    ]);
  });

  it('makes a coalescable event coalesce by its event name', () => {
    const [spec] = topicEventsForChange(change({ newImage: topicEventItem({ coalesce: true }) }));
    expect(spec?.coalesceKey).toBe('price.changed');
    const [plain] = topicEventsForChange(change({ newImage: topicEventItem({ coalesce: false }) }));
    expect(plain).not.toHaveProperty('coalesceKey');
  });

  it('ignores MODIFY and REMOVE of a TopicEvent (TTL deletions are not news)', () => {
    expect(topicEventsForChange(change({ type: 'MODIFY', oldImage: topicEventItem() }))).toEqual([]);
    expect(topicEventsForChange(change({ type: 'REMOVE', newImage: undefined, oldImage: topicEventItem() }))).toEqual([]);
  });

  it('ignores other entities and changes without an image', () => {
    expect(topicEventsForChange(change({ newImage: { ...topicEventItem(), entity: 'User' } }))).toEqual([]);
    expect(topicEventsForChange(change({ newImage: undefined }))).toEqual([]);
  });

  it.each([
    ['an invalid topic', { topic: 'room:1' }],
    ['a topic with the key separator', { topic: 'feed:a#b' }],
    ['no topic', { topic: undefined }],
    ['an empty event name', { event: '' }],
    ['no payload', { payload: undefined }],
    ['an array payload', { payload: [1, 2] }],
    ['no createdAt', { createdAt: undefined }],
  ])('skips an item with %s', (_, overrides) => {
    expect(topicEventsForChange(change({ newImage: topicEventItem(overrides) }))).toEqual([]);
  });

  it('gives each event of a change its own src, the same on every redelivery', () => {
    const twice: TopicSource = {
      entity: 'Counter',
      change: 'MODIFY',
      map: () => [
        { topic: 'content:c1', event: 'likes', payload: { n: 1 }, ts: CREATED_AT },
        { topic: 'author:a1', event: 'likes', payload: { n: 1 }, ts: CREATED_AT },
      ],
    };
    const counterChange = change({ id: 'rec-9', type: 'MODIFY', newImage: { entity: 'Counter' } });
    const first = topicEventsForChange(counterChange, [twice]);
    const again = topicEventsForChange({ ...counterChange }, [twice]);
    expect(first.map((e) => e.src)).toEqual(['rec-9#0', 'rec-9#1']);
    expect(again.map((e) => e.src)).toEqual(first.map((e) => e.src));
    // Distinct changes never share a src.
    const other = topicEventsForChange({ ...counterChange, id: 'rec-10' }, [twice]);
    expect(other.map((e) => e.src).filter((src) => first.some((e) => e.src === src))).toEqual([]);
  });

  it('numbers srcs across every source that matches, so two sources cannot collide', () => {
    const one = (event: string): TopicSource => ({
      entity: 'Thing',
      change: 'INSERT',
      map: () => [{ topic: 'feed:t', event, payload: {}, ts: CREATED_AT }],
    });
    const specs = topicEventsForChange(change({ newImage: { entity: 'Thing' } }), [one('a'), one('b')]);
    expect(specs.map((e) => [e.event, e.src])).toEqual([
      ['a', 'ev-1#0'],
      ['b', 'ev-1#1'],
    ]);
  });

  it('lists the TopicEvent INSERT among the sources the stream filter is built from', () => {
    expect(TOPIC_SOURCES.map((s) => [s.entity, s.change])).toContainEqual([TOPIC_EVENT_ENTITY, 'INSERT']);
  });
});

describe('coalesce', () => {
  const spec = (src: string, topic: string, coalesceKey?: string): TopicEventSpec => ({
    src,
    topic,
    event: coalesceKey ?? 'comment.added',
    payload: { src },
    ts: CREATED_AT,
    ...(coalesceKey === undefined ? {} : { coalesceKey }),
  });

  it('keeps only the latest event per topic and key, in the original order', () => {
    const input = [
      spec('1', 'content:c1', 'likes'),
      spec('2', 'content:c1'),
      spec('3', 'content:c1', 'likes'),
      spec('4', 'content:c1', 'views'),
      spec('5', 'content:c1', 'likes'),
      spec('6', 'content:c1'),
    ];
    expect(coalesce(input).map((e) => e.src)).toEqual(['2', '4', '5', '6']);
  });

  it('does not coalesce the same key across topics', () => {
    const input = [spec('1', 'content:c1', 'likes'), spec('2', 'content:c2', 'likes'), spec('3', 'content:c1', 'likes')];
    expect(coalesce(input).map((e) => e.src)).toEqual(['2', '3']);
  });

  it('leaves events without a key alone, duplicates included', () => {
    const input = [spec('1', 'feed:a'), spec('1', 'feed:a'), spec('2', 'feed:a')];
    expect(coalesce(input)).toEqual(input);
    expect(coalesce([])).toEqual([]);
  });

  it('returns the events themselves, untouched', () => {
    const latest = spec('9', 'content:c1', 'likes');
    expect(coalesce([spec('8', 'content:c1', 'likes'), latest])[0]).toBe(latest);
  });
});
