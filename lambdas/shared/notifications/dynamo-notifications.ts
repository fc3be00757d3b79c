/**
 * Notifications in the domain table (single-table; docs/notifications.md):
 *
 *   pk `USER#<userId>`  sk `NOTIFICATION#<id>`    entity Notification: the Notification fields,
 *                                                 expiresAt (TTL, 90 days)
 *   pk `USER#<userId>`  sk `NOTICE#<noticeId>`    entity NoticeClaim: noticeId, notificationId,
 *                       createdAt, expiresAt; the email's emailClaim (token), emailClaimedAt,
 *                       emailStatus (sent | unknown), emailMessageId | emailError,
 *                       emailRecordedAt, emailRefusals
 *
 * Ids start with the creation time in hex, so a descending query of the user's partition lists
 * newest first, and `POST /notifications/read` finds an item from its id and the caller's own
 * partition key alone: another user's id names an item of the caller's partition that does not
 * exist. The claim is the notice's idempotency record: the notification is created with it in
 * one transaction on condition that it does not exist, and the email is claimed on it with a
 * conditional update (notifications.ts says why at most once). Both live as long as the
 * notification, longer than any redelivery or redrive of the notice (SQS keeps a message 14
 * days at most).
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { cancellationReasons, isConditionalCheckFailed, type DocumentClientLike } from '../dynamodb';
import { decodeCursor, encodeCursor } from '../http/cursor';
import { forEachLimited } from '../realtime/poster';
import { retry, sleep, type Sleep } from '../retry';
import { TEMPLATE_NAMES } from './notices';
import {
  NOTIFICATION_ID_PATTERN,
  type CreateOutcome,
  type EmailRecord,
  type MarkReadResult,
  type NoticeLedger,
  type Notification,
  type NotificationPage,
  type NotificationStore,
} from './notifications';
import { NOTIFICATION_KINDS } from './templates';

export const NOTIFICATION_ENTITY = 'Notification';
export const NOTICE_CLAIM_ENTITY = 'NoticeClaim';

const NOTIFICATION_PREFIX = 'NOTIFICATION#';
export const notificationKey = (userId: string, id: string) => ({ pk: `USER#${userId}`, sk: `${NOTIFICATION_PREFIX}${id}` });
export const noticeClaimKey = (userId: string, noticeId: string) => ({ pk: `USER#${userId}`, sk: `NOTICE#${noticeId}` });

/** The item as stored; also what the stream consumer parses (live.ts). */
export const notificationItemSchema = z.object({
  entity: z.literal(NOTIFICATION_ENTITY),
  id: z.string().regex(NOTIFICATION_ID_PATTERN),
  userId: z.string(),
  noticeId: z.string(),
  template: z.enum(TEMPLATE_NAMES),
  kind: z.enum(NOTIFICATION_KINDS),
  title: z.string(),
  body: z.string(),
  createdAt: z.string(),
  read: z.boolean(),
  readAt: z.string().optional(),
});

const claimSchema = z.object({ notificationId: z.string() });

/** A transaction that DynamoDB cancelled for another one on the same items: 5 calls, 25 ms doubling to 200 ms. */
const CONFLICT_RETRY = {
  attempts: 5,
  baseDelayMs: 25,
  maxDelayMs: 200,
  retryable: (error: unknown) => {
    const reasons = cancellationReasons(error);
    return reasons !== undefined && !reasons.includes('ConditionalCheckFailed') && reasons.includes('TransactionConflict');
  },
};

/** Updates of one mark-read request in flight at once. */
const MARK_READ_CONCURRENCY = 10;

function toNotification(item: unknown): Notification {
  const { entity: _entity, ...notification } = notificationItemSchema.parse(item);
  return notification;
}

export class DynamoNotificationStore implements NotificationStore, NoticeLedger {
  constructor(
    private readonly client: DocumentClientLike,
    private readonly tableName: string,
    private readonly pause: Sleep = sleep,
  ) {}

  async createOnce(notification: Notification, expiresAt: number): Promise<CreateOutcome> {
    const { userId, noticeId, id, createdAt } = notification;
    const command = new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: this.tableName,
            Item: { ...noticeClaimKey(userId, noticeId), entity: NOTICE_CLAIM_ENTITY, noticeId, notificationId: id, createdAt, expiresAt },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: { ...notificationKey(userId, id), entity: NOTIFICATION_ENTITY, ...notification, expiresAt },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
      ],
    });
    try {
      await retry(() => this.client.send(command), { ...CONFLICT_RETRY, sleep: this.pause });
      return { inApp: 'created', notificationId: id };
    } catch (error) {
      if (cancellationReasons(error)?.[0] !== 'ConditionalCheckFailed') throw error;
      const raw = (error as { CancellationReasons?: { Item?: Record<string, never> }[] }).CancellationReasons?.[0]?.Item;
      const claim = claimSchema.safeParse(raw ? unmarshall(raw) : undefined);
      return { inApp: 'duplicate', notificationId: claim.success ? claim.data.notificationId : id };
    }
  }

  async claimEmail(userId: string, noticeId: string, token: string, at: Date): Promise<boolean> {
    return this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: noticeClaimKey(userId, noticeId),
        UpdateExpression: 'SET emailClaim = :token, emailClaimedAt = :at',
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(emailClaimedAt)',
        ExpressionAttributeValues: { ':token': token, ':at': at.toISOString() },
      }),
    );
  }

  async releaseEmail(userId: string, noticeId: string, token: string): Promise<void> {
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: noticeClaimKey(userId, noticeId),
        UpdateExpression: 'REMOVE emailClaim, emailClaimedAt ADD emailRefusals :one',
        ConditionExpression: 'emailClaim = :token AND attribute_not_exists(emailStatus)',
        ExpressionAttributeValues: { ':token': token, ':one': 1 },
      }),
    );
  }

  async recordEmail(userId: string, noticeId: string, token: string, record: EmailRecord, at: Date): Promise<void> {
    const detail = record.status === 'sent' ? { emailMessageId: record.messageId } : { emailError: record.error.slice(0, 1000) };
    const [name, value] = Object.entries(detail)[0]!;
    await this.conditional(
      new UpdateCommand({
        TableName: this.tableName,
        Key: noticeClaimKey(userId, noticeId),
        UpdateExpression: `SET emailStatus = :status, ${name} = :detail, emailRecordedAt = :at`,
        ConditionExpression: 'emailClaim = :token',
        ExpressionAttributeValues: { ':token': token, ':status': record.status, ':detail': value, ':at': at.toISOString() },
      }),
    );
  }

  async list(userId: string, limit: number, after?: string): Promise<NotificationPage> {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`limit must be a positive integer, got ${limit}`);
    const pk = `USER#${userId}`;
    const from =
      after === undefined
        ? undefined
        : decodeCursor(after, (key) => Object.keys(key).length === 1 && /^NOTIFICATION#[0-9a-f]{28}$/.test(key.sk ?? ''));
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': NOTIFICATION_PREFIX },
        ScanIndexForward: false,
        // One more than the page tells whether there is a next page without a second query.
        Limit: limit + 1,
        // Always the caller's pk: a cursor only carries a position within it.
        ...(from ? { ExclusiveStartKey: { pk, sk: from.sk } } : {}),
      }),
    );
    const items = z
      .array(z.unknown())
      .parse(out.Items ?? [])
      .map(toNotification);
    const page = items.slice(0, limit);
    const last = page.at(-1);
    const more = items.length > limit || out.LastEvaluatedKey !== undefined;
    return { notifications: page, ...(more && last ? { next: encodeCursor({ sk: `${NOTIFICATION_PREFIX}${last.id}` }) } : {}) };
  }

  async markRead(userId: string, ids: readonly string[], at: Date): Promise<MarkReadResult> {
    const unique = [...new Set(ids)];
    const read = new Set<string>();
    await forEachLimited(unique, MARK_READ_CONCURRENCY, async (id) => {
      if (!NOTIFICATION_ID_PATTERN.test(id)) return;
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            // The caller's own partition: an id of another user's notification names nothing here.
            Key: notificationKey(userId, id),
            UpdateExpression: 'SET #read = :true, readAt = :at',
            ConditionExpression: 'entity = :entity AND #read = :false',
            ExpressionAttributeNames: { '#read': 'read' },
            ExpressionAttributeValues: { ':true': true, ':false': false, ':at': at.toISOString(), ':entity': NOTIFICATION_ENTITY },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        read.add(id);
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        // Read before: the item came back with the failed condition. Absent: not the caller's.
        if ((error as { Item?: unknown }).Item !== undefined) read.add(id);
      }
    });
    return { read: unique.filter((id) => read.has(id)), unknown: unique.filter((id) => !read.has(id)) };
  }

  /** True when the write's condition held, false when it did not. */
  private async conditional(command: UpdateCommand): Promise<boolean> {
    try {
      await this.client.send(command);
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
