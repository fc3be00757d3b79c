/**
 * The domain-event catalog (STYLE 13; docs/events.md): every event the platform publishes on its
 * EventBridge bus, with its detail-type constant, the zod schema of its `detail`, and the change of
 * a domain-table item that raises it. Events come from the table's stream (transactional outbox by
 * change data capture, docs/decisions.md), never from request handlers.
 *
 * Adding an event: a detail-type constant, a detail schema, and one `defineEvent` entry in
 * `CATALOG` naming the item `entity`, the change type and how the detail is built from the image.
 * The publisher's stream filter (`lib/constructs/domain-events.ts`) is built from `CATALOG`
 * through `STREAM_TRIGGERS`, so a new entry is delivered without touching the infrastructure.
 *
 * Events are broadcast to every rule on the bus: details carry identifiers, never personal data
 * (no email, name or password hash). Consumers read more from the owning service if they need it.
 */
import { z } from 'zod';
import { CHANGE_TYPES, ENTITY_ATTRIBUTE, type ChangeType, type DomainChange, type Item, type StreamTrigger } from '../cdc/change';

/** `source` of every event this platform publishes. */
export const EVENT_SOURCE = 'realtime-platform';

// Detail-types. Later issues add Booking.Confirmed, Content.Published.
export const USER_REGISTERED = 'User.Registered';
export const TOPIC_EVENT_PUBLISHED = 'Realtime.TopicEventPublished';
export const SUBSCRIPTION_ACTIVATED = 'Subscription.Activated';
export const SUBSCRIPTION_RENEWED = 'Subscription.Renewed';
export const SUBSCRIPTION_PAST_DUE = 'Subscription.PastDue';
/** `past_due` → `active`: dunning ended paid (a retry, a payment by the user, a new payment method). */
export const SUBSCRIPTION_RECOVERED = 'Subscription.Recovered';
export const SUBSCRIPTION_CANCELED = 'Subscription.Canceled';
export const SUBSCRIPTION_EXPIRED = 'Subscription.Expired';
export const SUBSCRIPTION_INCOMPLETE_EXPIRED = 'Subscription.IncompleteExpired';
export const PAYMENT_SUCCEEDED = 'Payment.Succeeded';
export const PAYMENT_FAILED = 'Payment.Failed';

// The change types are shared with fan-out (cdc/change.ts); re-exported for the catalog's users.
export { CHANGE_TYPES, ENTITY_ATTRIBUTE, type ChangeType, type DomainChange, type Item };

/** An event ready for the bus: `source` is always {@link EVENT_SOURCE}. */
export interface DomainEvent {
  readonly detailType: string;
  readonly detail: Readonly<Record<string, unknown>>;
  /** When the change happened; becomes the EventBridge event's `time`. */
  readonly time: Date;
}

const isoTimestamp = z.iso.datetime({ offset: true });

/** Fields every detail carries, whatever its type. */
const envelope = {
  /**
   * Derived from the stream record's eventID, so it is the same however often the record is
   * delivered or the event re-sent: consumers deduplicate on it (EventBridge's own `id` is new
   * for every PutEvents call).
   */
  idempotencyKey: z.string().min(1),
  /** When the change happened in the domain table. */
  occurredAt: isoTimestamp,
};

export const userRegisteredDetailSchema = z.strictObject({
  ...envelope,
  userId: z.string().min(1),
  /** A string rather than an enum: a new role must not make the event unpublishable. */
  role: z.string().min(1),
  registeredAt: isoTimestamp,
});
export type UserRegisteredDetail = z.infer<typeof userRegisteredDetailSchema>;

export const topicEventPublishedDetailSchema = z.strictObject({
  ...envelope,
  topic: z.string().min(1),
  /** The producer's event name (e.g. `price.changed`); the payload stays in the topic log. */
  event: z.string().min(1),
  publishedAt: isoTimestamp,
});
export type TopicEventPublishedDetail = z.infer<typeof topicEventPublishedDetailSchema>;

/** Every subscription event: where the subscription stands after the change. */
export const subscriptionDetailSchema = z.strictObject({
  ...envelope,
  subscriptionId: z.string().min(1),
  userId: z.string().min(1),
  planId: z.string().min(1),
  status: z.string().min(1),
  /** Index of the current period (1 = the first paid one). */
  period: z.number().int().nonnegative(),
  currentPeriodStart: isoTimestamp.optional(),
  currentPeriodEnd: isoTimestamp.optional(),
  cancelAtPeriodEnd: z.boolean(),
});
export type SubscriptionDetail = z.infer<typeof subscriptionDetailSchema>;

/** Payment.Succeeded and Payment.Failed. The payment token is never in it. */
export const paymentDetailSchema = z.strictObject({
  ...envelope,
  paymentId: z.string().min(1),
  userId: z.string().min(1),
  purpose: z.enum(['subscription', 'booking']),
  /** subscribe, renewal or recovery: dunning starts on a failed renewal. */
  reason: z.string().min(1),
  subscriptionId: z.string().min(1).optional(),
  bookingId: z.string().min(1).optional(),
  /** For a renewal, the end of the period it was for. */
  periodEnd: isoTimestamp.optional(),
  amount: z.number().int(),
  currency: z.string().length(3),
  provider: z.string().min(1),
  failureCode: z.string().min(1).optional(),
  createdAt: isoTimestamp,
});
export type PaymentDetail = z.infer<typeof paymentDetailSchema>;

type Envelope = 'idempotencyKey' | 'occurredAt';

interface EventDefinition<TImage, TDetail extends Record<string, unknown>> {
  readonly detailType: string;
  readonly detailSchema: z.ZodType<TDetail>;
  /** The change that raises the event: an item's `entity` value and the change type. */
  readonly on: { readonly entity: string; readonly change: ChangeType };
  /** Parses the image of the change: the new image for INSERT and MODIFY, the old one for REMOVE. */
  readonly image: z.ZodType<TImage>;
  /** Further condition, e.g. for MODIFY "status became active" (compare `change.oldImage`). @default always */
  readonly when?: (image: TImage, change: DomainChange) => boolean;
  /** The detail's own fields; the envelope is added by the catalog. */
  readonly toDetail: (image: TImage, change: DomainChange) => Omit<TDetail, Envelope>;
}

/** A catalog entry with its types erased, so entries of different events share one list. */
export interface CatalogEntry {
  readonly detailType: string;
  readonly detailSchema: z.ZodType<Record<string, unknown>>;
  readonly on: { readonly entity: string; readonly change: ChangeType };
  /** Zero or one event for `change`, which must be of this entry's entity and change type. */
  readonly map: (change: DomainChange) => DomainEvent | undefined;
}

function defineEvent<TImage, TDetail extends Record<string, unknown>>(definition: EventDefinition<TImage, TDetail>): CatalogEntry {
  return {
    detailType: definition.detailType,
    detailSchema: definition.detailSchema as z.ZodType<Record<string, unknown>>,
    on: definition.on,
    map: (change) => {
      const raw = definition.on.change === 'REMOVE' ? change.oldImage : change.newImage;
      const image = definition.image.safeParse(raw ?? {});
      if (!image.success) throw new MalformedChangeError(definition.detailType, 'image', image.error);
      if (definition.when && !definition.when(image.data, change)) return undefined;
      const detail = definition.detailSchema.safeParse({
        ...definition.toDetail(image.data, change),
        idempotencyKey: `${change.id}:${definition.detailType}`,
        occurredAt: change.occurredAt,
      });
      if (!detail.success) throw new MalformedChangeError(definition.detailType, 'detail', detail.error);
      return { detailType: definition.detailType, detail: detail.data, time: new Date(change.occurredAt) };
    },
  };
}

/** The change does not have the shape its event needs: retrying cannot fix it. */
export class MalformedChangeError extends Error {
  constructor(
    readonly detailType: string,
    readonly part: 'image' | 'detail',
    readonly issues: z.ZodError,
  ) {
    // Field paths only: the values may be personal data.
    super(`${detailType}: the ${part} does not match its schema (${issues.issues.map((i) => i.path.join('.') || '(root)').join(', ')})`);
    this.name = 'MalformedChangeError';
  }
}

const subscriptionImage = z.object({
  id: z.string(),
  userId: z.string(),
  planId: z.string(),
  status: z.string(),
  period: z.number().int(),
  currentPeriodStart: z.string().optional(),
  currentPeriodEnd: z.string().optional(),
  cancelAtPeriodEnd: z.boolean(),
});
type SubscriptionImage = z.infer<typeof subscriptionImage>;

const subscriptionDetail = (s: SubscriptionImage) => ({
  subscriptionId: s.id,
  userId: s.userId,
  planId: s.planId,
  status: s.status,
  period: s.period,
  ...(s.currentPeriodStart ? { currentPeriodStart: s.currentPeriodStart } : {}),
  ...(s.currentPeriodEnd ? { currentPeriodEnd: s.currentPeriodEnd } : {}),
  cancelAtPeriodEnd: s.cancelAtPeriodEnd,
});

/** The subscription before the change, when it was the same one (a subscribe replaces an ended one). */
function before(change: DomainChange, after: SubscriptionImage): SubscriptionImage | undefined {
  const old = subscriptionImage.safeParse(change.oldImage ?? {});
  return old.success && old.data.id === after.id ? old.data : undefined;
}

/** A subscription event raised when the subscription's status becomes `status`. */
function becameStatus(detailType: string, status: string): CatalogEntry {
  return defineEvent({
    detailType,
    detailSchema: subscriptionDetailSchema,
    on: { entity: 'Subscription', change: 'MODIFY' },
    image: subscriptionImage,
    when: (s, change) => s.status === status && before(change, s)?.status !== status,
    toDetail: subscriptionDetail,
  });
}

const paymentImage = z.object({
  id: z.string(),
  userId: z.string(),
  purpose: z.enum(['subscription', 'booking']),
  reason: z.string(),
  subscriptionId: z.string().optional(),
  bookingId: z.string().optional(),
  periodEnd: z.string().optional(),
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
  provider: z.string(),
  failureCode: z.string().optional(),
  createdAt: z.string(),
});

function paymentEvent(detailType: string, status: string): CatalogEntry {
  return defineEvent({
    detailType,
    detailSchema: paymentDetailSchema,
    on: { entity: 'Payment', change: 'INSERT' },
    image: paymentImage,
    when: (p) => p.status === status,
    toDetail: ({ id, status: _status, ...p }) => ({ paymentId: id, ...p }),
  });
}

export const CATALOG: readonly CatalogEntry[] = [
  defineEvent({
    detailType: USER_REGISTERED,
    detailSchema: userRegisteredDetailSchema,
    on: { entity: 'User', change: 'INSERT' },
    image: z.object({ id: z.string(), role: z.string(), createdAt: z.string() }),
    toDetail: (user) => ({ userId: user.id, role: user.role, registeredAt: user.createdAt }),
  }),
  defineEvent({
    detailType: TOPIC_EVENT_PUBLISHED,
    detailSchema: topicEventPublishedDetailSchema,
    on: { entity: 'TopicEvent', change: 'INSERT' },
    image: z.object({ topic: z.string(), event: z.string(), createdAt: z.string() }),
    toDetail: (item) => ({ topic: item.topic, event: item.event, publishedAt: item.createdAt }),
  }),
  defineEvent({
    detailType: SUBSCRIPTION_ACTIVATED,
    detailSchema: subscriptionDetailSchema,
    on: { entity: 'Subscription', change: 'MODIFY' },
    image: subscriptionImage,
    // From `incomplete` (or a new subscription replacing an ended one); a recovery from
    // `past_due` is a renewal, not an activation.
    when: (s, change) => s.status === 'active' && (before(change, s)?.status ?? 'incomplete') === 'incomplete',
    toDetail: subscriptionDetail,
  }),
  defineEvent({
    detailType: SUBSCRIPTION_RENEWED,
    detailSchema: subscriptionDetailSchema,
    on: { entity: 'Subscription', change: 'MODIFY' },
    image: subscriptionImage,
    // A paid next period: by the renewal, or by a payment that ended dunning.
    when: (s, change) => {
      const old = before(change, s);
      return s.status === 'active' && old !== undefined && old.period >= 1 && s.period > old.period;
    },
    toDetail: subscriptionDetail,
  }),
  becameStatus(SUBSCRIPTION_PAST_DUE, 'past_due'),
  defineEvent({
    detailType: SUBSCRIPTION_RECOVERED,
    detailSchema: subscriptionDetailSchema,
    on: { entity: 'Subscription', change: 'MODIFY' },
    image: subscriptionImage,
    when: (s, change) => s.status === 'active' && before(change, s)?.status === 'past_due',
    toDetail: subscriptionDetail,
  }),
  becameStatus(SUBSCRIPTION_CANCELED, 'canceled'),
  becameStatus(SUBSCRIPTION_EXPIRED, 'expired'),
  becameStatus(SUBSCRIPTION_INCOMPLETE_EXPIRED, 'incomplete_expired'),
  paymentEvent(PAYMENT_SUCCEEDED, 'succeeded'),
  paymentEvent(PAYMENT_FAILED, 'failed'),
];

/** Every detail-type in the catalog. */
export const DETAIL_TYPES: readonly string[] = CATALOG.map((entry) => entry.detailType);

/** The changes the catalog reacts to: the stream filter of the publisher is built from this list. */
export const STREAM_TRIGGERS: readonly StreamTrigger[] = CATALOG.map((entry) => entry.on);

/**
 * The events a change raises (none for entities and change types the catalog does not list).
 * Throws {@link MalformedChangeError} when the item does not have the fields its event needs.
 */
export function eventsForChange(change: DomainChange): DomainEvent[] {
  const image = change.type === 'REMOVE' ? change.oldImage : change.newImage;
  const entity = image?.[ENTITY_ATTRIBUTE];
  return CATALOG.filter((entry) => entry.on.change === change.type && entry.on.entity === entity).flatMap((entry) => {
    const event = entry.map(change);
    return event ? [event] : [];
  });
}
