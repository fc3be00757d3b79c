import { describe, expect, it } from 'vitest';
import { marshall } from '@aws-sdk/util-dynamodb';
import {
  CATALOG,
  DETAIL_TYPES,
  eventsForChange,
  MalformedChangeError,
  STREAM_TRIGGERS,
  TOPIC_EVENT_PUBLISHED,
  topicEventPublishedDetailSchema,
  USER_REGISTERED,
  userRegisteredDetailSchema,
  type DomainChange,
} from '../../lambdas/shared/events/catalog';
import { parseStreamRecord } from '../../lambdas/shared/cdc/stream-record';

const user = {
  pk: 'USER#u-1',
  sk: 'PROFILE',
  entity: 'User',
  id: 'u-1',
  email: 'ada@example.com',
  name: 'Ada',
  role: 'user',
  createdAt: '2026-11-21T10:00:00.000Z',
  passwordHash: 'scrypt$...',
};

const topicEvent = {
  pk: 'TOPIC#feed:prices',
  sk: 'EVENT#2026-11-21T10:00:01.000Z#ab12',
  entity: 'TopicEvent',
  topic: 'feed:prices',
  event: 'price.changed',
  payload: { symbol: 'ACME', price: 4200 },
  createdAt: '2026-11-21T10:00:01.000Z',
  expiresAt: 1_795_000_000,
};

function change(type: DomainChange['type'], images: { newImage?: object; oldImage?: object }): DomainChange {
  return { id: 'c4ca4238a0b923820dcc509a6f75849b', type, occurredAt: '2026-11-21T10:00:02.000Z', ...images } as DomainChange;
}

describe('the event catalog', () => {
  it('maps a new User to User.Registered without personal data', () => {
    const [event, ...rest] = eventsForChange(change('INSERT', { newImage: user }));
    expect(rest).toEqual([]);
    expect(event).toEqual({
      detailType: USER_REGISTERED,
      detail: {
        idempotencyKey: 'c4ca4238a0b923820dcc509a6f75849b:User.Registered',
        occurredAt: '2026-11-21T10:00:02.000Z',
        userId: 'u-1',
        role: 'user',
        registeredAt: '2026-11-21T10:00:00.000Z',
      },
      time: new Date('2026-11-21T10:00:02.000Z'),
    });
    expect(userRegisteredDetailSchema.parse(event!.detail)).toEqual(event!.detail);
    expect(JSON.stringify(event)).not.toMatch(/ada@example.com|Ada|scrypt/);
  });

  it('maps a new TopicEvent to Realtime.TopicEventPublished (without the payload)', () => {
    const [event] = eventsForChange(change('INSERT', { newImage: topicEvent }));
    expect(event!.detailType).toBe(TOPIC_EVENT_PUBLISHED);
    expect(event!.detail).toEqual({
      idempotencyKey: 'c4ca4238a0b923820dcc509a6f75849b:Realtime.TopicEventPublished',
      occurredAt: '2026-11-21T10:00:02.000Z',
      topic: 'feed:prices',
      event: 'price.changed',
      publishedAt: '2026-11-21T10:00:01.000Z',
    });
    expect(topicEventPublishedDetailSchema.safeParse(event!.detail).success).toBe(true);
  });

  it('raises nothing for other entities and other change types', () => {
    expect(eventsForChange(change('INSERT', { newImage: { ...user, entity: 'UserEmail' } }))).toEqual([]);
    expect(eventsForChange(change('INSERT', { newImage: { pk: 'X', sk: 'Y' } }))).toEqual([]);
    expect(eventsForChange(change('MODIFY', { newImage: user, oldImage: user }))).toEqual([]);
    expect(eventsForChange(change('REMOVE', { oldImage: user }))).toEqual([]);
  });

  it('refuses an item that lacks what its event needs, naming fields but not values', () => {
    const broken = change('INSERT', { newImage: { ...user, role: undefined, createdAt: 'yesterday' } });
    expect(() => eventsForChange(broken)).toThrow(MalformedChangeError);
    try {
      eventsForChange(broken);
    } catch (error) {
      expect((error as Error).message).toMatch(/User.Registered: the image does not match its schema \(role\)/);
    }
    // The image parses, but registeredAt is not a timestamp: the detail schema catches it.
    expect(() => eventsForChange(change('INSERT', { newImage: { ...user, createdAt: 'yesterday' } }))).toThrow(/detail.*registeredAt/);
  });

  it('keeps detail schemas strict, so a stray field (PII) cannot slip into an event', () => {
    const detail = eventsForChange(change('INSERT', { newImage: user }))[0]!.detail;
    expect(userRegisteredDetailSchema.safeParse({ ...detail, email: 'ada@example.com' }).success).toBe(false);
  });

  it('lists each detail-type once, with the triggers the stream filter is built from', () => {
    expect(DETAIL_TYPES).toEqual([
      USER_REGISTERED,
      TOPIC_EVENT_PUBLISHED,
      'Subscription.Activated',
      'Subscription.Renewed',
      'Subscription.PastDue',
      'Subscription.Recovered',
      'Subscription.Canceled',
      'Subscription.Expired',
      'Subscription.IncompleteExpired',
      'Payment.Succeeded',
      'Payment.Failed',
    ]);
    expect(new Set(DETAIL_TYPES).size).toBe(CATALOG.length);
    expect(new Set(STREAM_TRIGGERS.map((t) => `${t.entity} ${t.change}`))).toEqual(
      new Set(['User INSERT', 'TopicEvent INSERT', 'Subscription MODIFY', 'Payment INSERT']),
    );
  });
});

describe('stream records', () => {
  const record = (overrides: Record<string, unknown> = {}) => ({
    eventID: 'c4ca4238a0b923820dcc509a6f75849b',
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: 1_795_226_402,
      Keys: marshall({ pk: user.pk, sk: user.sk }),
      NewImage: marshall(user),
      SequenceNumber: '111',
      SizeBytes: 120,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: 'arn:aws:dynamodb:eu-west-1:123456789012:table/T/stream/2026-11-21T00:00:00.000',
    ...overrides,
  });

  it('unmarshalls the images and dates the change from the stream', () => {
    const parsed = parseStreamRecord(record());
    expect(parsed).toEqual({
      ok: true,
      sequenceNumber: '111',
      change: { id: 'c4ca4238a0b923820dcc509a6f75849b', type: 'INSERT', occurredAt: '2026-11-21T02:00:02.000Z', newImage: user },
    });
  });

  it('reports what is wrong with a record that does not parse, and its sequence number when it has one', () => {
    expect(parseStreamRecord(record({ eventName: 'UPSERT' }))).toMatchObject({
      ok: false,
      sequenceNumber: '111',
      reason: expect.stringMatching(/^eventName:/),
    });
    expect(parseStreamRecord({ nonsense: true })).toMatchObject({ ok: false, reason: expect.stringMatching(/eventID/) });
    expect(parseStreamRecord(null)).toMatchObject({ ok: false });
    const badImage = record({ dynamodb: { ...record().dynamodb, NewImage: { role: { Q: 'x' } } } });
    expect(parseStreamRecord(badImage)).toMatchObject({ ok: false, sequenceNumber: '111', reason: 'image: Unsupported type passed: Q' });
  });
});
