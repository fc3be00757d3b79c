/**
 * Subscriptions in the domain table (single-table; docs/billing.md):
 *
 *   pk `USER#<userId>`  sk `SUBSCRIPTION`  entity `Subscription`, the Subscription fields,
 *   and while something is due: dueBucket `DUE#<yyyy-mm-dd>`, dueSort `<dueAt>#<userId>`
 *
 * One item per user: the current subscription. A subscribe after an ended one replaces it (its
 * payments keep its id). Every write is conditional on what the caller saw (subscription-store.ts).
 *
 * The due index (`DUE_INDEX`, sparse: only items with something due carry its keys) is how the
 * daily reconciliation finds overdue subscriptions with queries, never a scan: one partition per
 * day of due times, read by one query (paginated). A day of a million users' monthly renewals is
 * about 33,000 items, written at the pace they renew, far below a partition's limits.
 */
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import { CURRENCIES } from './money';
import { SUBSCRIPTION_STATUSES, type Subscription } from './subscription';
import type { BeginResult, Change, DueRef, Expect, SubscriptionStore } from './subscription-store';

export const SUBSCRIPTION_ENTITY = 'Subscription';
/** The due index: its name and key attributes (lib/constructs/storage.ts creates it). */
export const DUE_INDEX = {
  name: 'DueIndex',
  partitionKey: 'dueBucket',
  sortKey: 'dueSort',
  /** What the reconciliation reads of an item (`due`): the rest stays out of the index. */
  include: ['userId', 'id', 'dueAt'],
} as const;

export const subscriptionKey = (userId: string) => ({ pk: `USER#${userId}`, sk: 'SUBSCRIPTION' });

/** The due index partition of a time: its UTC day. */
export function dueBucket(at: Date | string): string {
  return `DUE#${new Date(at).toISOString().slice(0, 10)}`;
}

const dueKeys = (dueAt: string, userId: string) => ({ dueBucket: dueBucket(dueAt), dueSort: `${dueAt}#${userId}` });

/** The item as stored; also what stream consumers parse (events, frames). */
export const subscriptionItemSchema = z.object({
  entity: z.literal(SUBSCRIPTION_ENTITY),
  id: z.string(),
  userId: z.string(),
  planId: z.string(),
  status: z.enum(SUBSCRIPTION_STATUSES),
  amount: z.number().int(),
  currency: z.enum(CURRENCIES),
  interval: z.enum(['month', 'year']),
  intervalCount: z.number().int(),
  anchor: z.string().optional(),
  period: z.number().int(),
  currentPeriodStart: z.string().optional(),
  currentPeriodEnd: z.string().optional(),
  cancelAtPeriodEnd: z.boolean(),
  paymentToken: z.string(),
  dueAt: z.string().optional(),
  leaseUntil: z.number().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  canceledAt: z.string().optional(),
  expiredAt: z.string().optional(),
});

function toSubscription(item: unknown): Subscription {
  const { entity: _entity, ...subscription } = subscriptionItemSchema.parse(item);
  return subscription;
}

const dueRefSchema = z.object({ userId: z.string(), id: z.string(), dueAt: z.string() });

export class DynamoSubscriptionStore implements SubscriptionStore {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
  ) {}

  async get(userId: string): Promise<Subscription | undefined> {
    const out = await this.client.send(new GetCommand({ TableName: this.tableName, Key: subscriptionKey(userId), ConsistentRead: true }));
    return out.Item ? toSubscription(out.Item) : undefined;
  }

  async begin(subscription: Subscription, leaseUntil: number, now: number): Promise<BeginResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...subscriptionKey(subscription.userId),
            entity: SUBSCRIPTION_ENTITY,
            ...subscription,
            leaseUntil,
            ...(subscription.dueAt ? dueKeys(subscription.dueAt, subscription.userId) : {}),
          },
          // Nothing yet, an ended subscription, or an `incomplete` one no charge is working on.
          ConditionExpression:
            'attribute_not_exists(pk) OR #status IN (:ie, :canceled, :expired) OR (#status = :incomplete AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now))',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':ie': 'incomplete_expired',
            ':canceled': 'canceled',
            ':expired': 'expired',
            ':incomplete': 'incomplete',
            ':now': now,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'begun';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.get(subscription.userId);
      return current && (current.status === 'active' || current.status === 'past_due') ? 'already_subscribed' : 'in_progress';
    }
  }

  async lease(userId: string, expect: Expect, leaseUntil: number, now: number): Promise<Subscription | undefined> {
    return this.update(userId, { ...expect, noLiveLeaseAt: now }, { set: { leaseUntil } });
  }

  async update(userId: string, expect: Expect, change: Change): Promise<Subscription | undefined> {
    const names: Record<string, string> = { '#status': 'status', '#id': 'id' };
    const values: Record<string, unknown> = { ':id': expect.id };
    const sets: string[] = [];
    const removes: string[] = [];
    const set = (attribute: string, value: unknown) => {
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      sets.push(`#${attribute} = :${attribute}`);
    };
    for (const [attribute, value] of Object.entries(change.set)) if (value !== undefined) set(attribute, value);
    if (change.set.dueAt !== undefined) {
      const keys = dueKeys(change.set.dueAt, userId);
      set('dueBucket', keys.dueBucket);
      set('dueSort', keys.dueSort);
    }
    for (const attribute of change.remove ?? []) {
      removes.push(attribute);
      if (attribute === 'dueAt') removes.push('dueBucket', 'dueSort');
    }

    const conditions = ['#id = :id', `#status IN (${expect.status.map((_, i) => `:s${i}`).join(', ')})`];
    expect.status.forEach((status, i) => {
      values[`:s${i}`] = status;
    });
    if (expect.dueAt !== undefined) {
      names['#expectedDue'] = 'dueAt';
      values[':expectedDue'] = expect.dueAt;
      conditions.push('#expectedDue = :expectedDue');
    }
    if (expect.periodEnd !== undefined) {
      values[':expectedPeriodEnd'] = expect.periodEnd;
      conditions.push('currentPeriodEnd = :expectedPeriodEnd');
    }
    if (expect.noLiveLeaseAt !== undefined) {
      values[':leaseNow'] = expect.noLiveLeaseAt;
      conditions.push('(attribute_not_exists(leaseUntil) OR leaseUntil < :leaseNow)');
    }
    const expression = [sets.length > 0 ? `SET ${sets.join(', ')}` : '', removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '']
      .filter(Boolean)
      .join(' ');
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: subscriptionKey(userId),
          UpdateExpression: expression,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toSubscription(out.Attributes);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw error;
    }
  }

  async due(day: Date, until: Date): Promise<DueRef[]> {
    const refs: DueRef[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX.name,
          KeyConditionExpression: '#bucket = :bucket AND #sort <= :until',
          ExpressionAttributeNames: { '#bucket': DUE_INDEX.partitionKey, '#sort': DUE_INDEX.sortKey },
          // '~' sorts after every character of a user id: every item due at or before `until`.
          ExpressionAttributeValues: { ':bucket': dueBucket(day), ':until': `${until.toISOString()}~` },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of (out.Items as unknown[] | undefined) ?? []) {
        const ref = dueRefSchema.safeParse(item);
        if (ref.success) refs.push({ userId: ref.data.userId, subscriptionId: ref.data.id, dueAt: ref.data.dueAt });
      }
      start = out.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (start);
    return refs;
  }
}
