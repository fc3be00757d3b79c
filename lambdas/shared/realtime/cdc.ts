/**
 * Change data capture → topic events: which domain-table changes clients see live, on which
 * topics (DESIGN.md sections 1 and 7). Producers only write the domain table; this map is the one
 * place that turns a change into `{topic, event, payload}`. Fan-out's stream filter criteria are
 * built from the same list (`TOPIC_SOURCES`), so the function is only invoked for changes that map
 * to a topic.
 *
 * Sources: the server-side producer (`POST /api/v1/topics/{topic}/events`, a `TopicEvent` item),
 * billing (billing/live.ts: subscriptions and payments on `user:{id}`) and notifications
 * (notifications/live.ts: a new notification on `user:{id}`) and bookings (bookings/live.ts:
 * slot counts on `service:{id}`, bookings on `user:{id}`). Later issues add theirs (comments,
 * counters): one entry each, with the entity and change type it reacts to.
 *
 * Order: a topic's events are delivered in the order fan-out numbers them, and the stream keeps
 * order per item key. A producer that needs strict order for a topic writes its events under one
 * partition key per topic (the `TopicEvent` items do: `TOPIC#<topic>`).
 */
import { z } from 'zod';
import { BILLING_TOPIC_SOURCES } from '../billing/live';
import { BOOKING_TOPIC_SOURCES } from '../bookings/live';
import type { ChangeType, DomainChange } from '../cdc/change';
import { NOTIFICATION_TOPIC_SOURCES } from '../notifications/live';
import { topicSchema } from './topics';
import type { TopicEvent } from './topic-log';

/** One topic event a change produces, before it is numbered. */
export interface TopicEventSpec extends TopicEvent {
  readonly topic: string;
  /**
   * Events of one topic with the same key in one batch are coalesced to the latest (counters:
   * only the newest count matters). Absent: every event is delivered.
   */
  readonly coalesceKey?: string;
}

export interface TopicSource {
  /** The item's `entity` attribute. */
  readonly entity: string;
  readonly change: ChangeType;
  /** The topic events of one change of this entity and type (validated; none when invalid). */
  readonly map: (change: DomainChange) => Omit<TopicEventSpec, 'src'>[];
}

export const TOPIC_EVENT_ENTITY = 'TopicEvent';

/** A producer's event as stored in the domain table (dynamo-topic-events.ts writes it). */
export const topicEventItemSchema = z.object({
  entity: z.literal(TOPIC_EVENT_ENTITY),
  topic: topicSchema,
  event: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
  coalesce: z.boolean().optional(),
  createdAt: z.string(),
});

export const TOPIC_SOURCES: readonly TopicSource[] = [
  ...BILLING_TOPIC_SOURCES,
  ...NOTIFICATION_TOPIC_SOURCES,
  ...BOOKING_TOPIC_SOURCES,
  {
    entity: TOPIC_EVENT_ENTITY,
    change: 'INSERT',
    map: (change) => {
      const item = topicEventItemSchema.safeParse(change.newImage);
      if (!item.success) return [];
      const { topic, event, payload, coalesce, createdAt } = item.data;
      return [{ topic, event, payload, ts: createdAt, ...(coalesce ? { coalesceKey: event } : {}) }];
    },
  },
];

/**
 * The topic events of a change, each with a `src` unique to it and stable across redeliveries of
 * the change (the stream's `eventID` and the event's position).
 */
export function topicEventsForChange(change: DomainChange, sources: readonly TopicSource[] = TOPIC_SOURCES): TopicEventSpec[] {
  const image = change.type === 'REMOVE' ? change.oldImage : change.newImage;
  const entity = image?.entity;
  const out: TopicEventSpec[] = [];
  for (const source of sources) {
    if (source.entity !== entity || source.change !== change.type) continue;
    for (const spec of source.map(change)) out.push({ ...spec, src: `${change.id}#${out.length}` });
  }
  return out;
}

/**
 * Drops every coalescable event that a later event of the same topic and key supersedes within
 * the list; the survivors keep their order.
 */
export function coalesce(events: readonly TopicEventSpec[]): TopicEventSpec[] {
  const lastIndex = new Map<string, number>();
  events.forEach((e, i) => {
    if (e.coalesceKey !== undefined) lastIndex.set(`${e.topic}\u0000${e.coalesceKey}`, i);
  });
  return events.filter((e, i) => e.coalesceKey === undefined || lastIndex.get(`${e.topic}\u0000${e.coalesceKey}`) === i);
}
