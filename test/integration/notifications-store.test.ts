/**
 * Notifications against DynamoDB Local (lambdas/shared/notifications/dynamo-notifications.ts):
 * the notice's claim and its notification written together once, the email claimed once, both
 * under 50 parallel deliveries of one notice through the whole notifier; the user's list newest
 * first with cursors; mark-read that never reaches another user's notifications. "Once" rests on
 * DynamoDB's conditional writes and transactions, so it runs on a real DynamoDB, one fresh table
 * per test.
 */
import { describe, expect, it } from 'vitest';
import { DynamoNotificationStore, noticeClaimKey, notificationKey } from '../../lambdas/shared/notifications/dynamo-notifications';
import type { Notice } from '../../lambdas/shared/notifications/notices';
import { type Notification, Notifier, notificationId } from '../../lambdas/shared/notifications/notifications';
import { BadRequestError } from '../../lambdas/shared/errors';
import { MemoryMailer, MemoryRecipients, SAMPLES } from '../support/notification-fakes';
import { getItem, type LocalDynamo, partition, useLocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
let store: DynamoNotificationStore;

useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
  store = new DynamoNotificationStore(local.db, table);
});

const T0 = Date.parse('2026-02-01T10:00:00.000Z');

function notification(userId: string, noticeId: string, at: number, over: Partial<Notification> = {}): Notification {
  const createdAt = new Date(at);
  return {
    id: notificationId(createdAt, userId, noticeId),
    userId,
    noticeId,
    template: 'subscription_expired',
    kind: 'billing',
    title: 'Subscription expired',
    body: `Notice ${noticeId}`,
    createdAt: createdAt.toISOString(),
    read: false,
    ...over,
  };
}

const byPrefix = async (userId: string, prefix: string) =>
  (await partition(local.db, table, `USER#${userId}`)).filter((item) => String(item.sk).startsWith(prefix));

describe('createOnce', () => {
  it('writes the notification and the claim together, with a TTL, and the repeat writes nothing', async () => {
    const first = notification('u1', 'n:1', T0);
    expect(await store.createOnce(first, 1_800_000_000)).toEqual({ inApp: 'created', notificationId: first.id });
    const again = notification('u1', 'n:1', T0 + 60_000, { body: 'another rendering' });
    expect(await store.createOnce(again, 1_800_000_100)).toEqual({ inApp: 'duplicate', notificationId: first.id });

    expect(await getItem(local.db, table, ...(Object.values(notificationKey('u1', first.id)) as [string, string]))).toEqual({
      ...notificationKey('u1', first.id),
      entity: 'Notification',
      ...first,
      expiresAt: 1_800_000_000,
    });
    expect(await getItem(local.db, table, ...(Object.values(noticeClaimKey('u1', 'n:1')) as [string, string]))).toEqual({
      ...noticeClaimKey('u1', 'n:1'),
      entity: 'NoticeClaim',
      noticeId: 'n:1',
      notificationId: first.id,
      createdAt: first.createdAt,
      expiresAt: 1_800_000_000,
    });
    expect(await byPrefix('u1', 'NOTIFICATION#')).toHaveLength(1);
  });

  it('creates one notification of 50 parallel writes of one notice, each a millisecond apart', async () => {
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => store.createOnce(notification('u1', 'n:race', T0 + i), 1)));
    expect(outcomes.filter((o) => o.inApp === 'created')).toHaveLength(1);
    const winner = outcomes.find((o) => o.inApp === 'created')!.notificationId;
    expect(outcomes.every((o) => o.notificationId === winner)).toBe(true);
    const items = await byPrefix('u1', 'NOTIFICATION#');
    expect(items.map((i) => i.id)).toEqual([winner]);
  });

  it('keeps notices of one id apart per user', async () => {
    expect((await store.createOnce(notification('u1', 'n:same', T0), 1)).inApp).toBe('created');
    expect((await store.createOnce(notification('u2', 'n:same', T0), 1)).inApp).toBe('created');
  });
});

describe('the email claim', () => {
  it('is taken once; only its holder releases it or records the outcome', async () => {
    await store.createOnce(notification('u1', 'n:1', T0), 1);
    const at = new Date(T0);
    expect(await store.claimEmail('u1', 'n:1', 'a', at)).toBe(true);
    expect(await store.claimEmail('u1', 'n:1', 'b', at)).toBe(false);
    await store.releaseEmail('u1', 'n:1', 'b');
    expect(await store.claimEmail('u1', 'n:1', 'c', at)).toBe(false);
    await store.releaseEmail('u1', 'n:1', 'a');
    expect(await store.claimEmail('u1', 'n:1', 'c', at)).toBe(true);
    await store.recordEmail('u1', 'n:1', 'a', { status: 'sent', messageId: 'wrong' }, at);
    await store.recordEmail('u1', 'n:1', 'c', { status: 'sent', messageId: 'm-1' }, at);
    // Recorded: a late release of the holder gives nothing back.
    await store.releaseEmail('u1', 'n:1', 'c');
    expect(await store.claimEmail('u1', 'n:1', 'd', at)).toBe(false);
    expect(await getItem(local.db, table, `USER#u1`, 'NOTICE#n:1')).toMatchObject({
      emailClaim: 'c',
      emailStatus: 'sent',
      emailMessageId: 'm-1',
      emailRefusals: 1,
    });
  });

  it('cannot be taken for a notice that has no claim yet', async () => {
    expect(await store.claimEmail('u1', 'n:none', 'a', new Date(T0))).toBe(false);
    expect(await partition(local.db, table, 'USER#u1')).toEqual([]);
  });
});

describe('the notifier on DynamoDB', () => {
  it('creates one notification and sends one email for 50 parallel deliveries of each of 3 notices', async () => {
    const mailer = new MemoryMailer();
    let now = T0;
    const notifier = new Notifier({ ledger: store, mailer, recipients: new MemoryRecipients(), clock: () => new Date(now++) });
    const notices: Notice[] = [SAMPLES.payment_failed, SAMPLES.payment_reminder, SAMPLES.renewal_receipt];
    const outcomes = await Promise.all(notices.flatMap((notice) => Array.from({ length: 50 }, () => notifier.deliver(notice))));
    expect(outcomes.filter((o) => o.inApp === 'created')).toHaveLength(3);
    expect(outcomes.filter((o) => o.email === 'sent')).toHaveLength(3);
    expect(outcomes.filter((o) => o.email === 'duplicate')).toHaveLength(147);
    expect(mailer.sent.map((m) => m.subject).sort()).toEqual([
      'Payment failed',
      'Payment still failing: 4 days left',
      'Receipt: Pro (yearly) plan renewed',
    ]);
    expect(await byPrefix('user-1', 'NOTIFICATION#')).toHaveLength(3);
    for (const claim of await byPrefix('user-1', 'NOTICE#')) expect(claim).toMatchObject({ emailStatus: 'sent' });
  });
});

describe('list', () => {
  it("pages the user's own notifications newest first, 20 by default, with an opaque cursor", async () => {
    for (let i = 0; i < 45; i++) await store.createOnce(notification('u1', `n:${i}`, T0 + i * 1000), 1);
    await store.createOnce(notification('u2', 'n:other', T0 + 99_000), 1);
    const first = await store.list('u1', 20);
    expect(first.notifications.map((n) => n.noticeId)).toEqual(Array.from({ length: 20 }, (_, i) => `n:${44 - i}`));
    expect(first.notifications[0]).toMatchObject({ userId: 'u1', read: false, kind: 'billing' });
    expect(first.notifications[0]).not.toHaveProperty('expiresAt');
    const second = await store.list('u1', 20, first.next);
    expect(second.notifications.map((n) => n.noticeId)).toEqual(Array.from({ length: 20 }, (_, i) => `n:${24 - i}`));
    const last = await store.list('u1', 20, second.next);
    expect(last.notifications.map((n) => n.noticeId)).toEqual(['n:4', 'n:3', 'n:2', 'n:1', 'n:0']);
    expect(last.next).toBeUndefined();
    // Exactly a page left: no empty page after it.
    const exact = await store.list('u1', 5, (await store.list('u1', 40)).next);
    expect(exact.notifications).toHaveLength(5);
    expect(exact.next).toBeUndefined();
    expect(await store.list('u3', 20)).toEqual({ notifications: [] });
  });

  it('refuses a cursor it did not give with a 400 naming cursor', async () => {
    await store.createOnce(notification('u1', 'n:1', T0), 1);
    const enc = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const cursor of [
      'not base64!',
      enc({ sk: 'SUBSCRIPTION' }),
      enc({ sk: 'NOTICE#n:1' }),
      enc({ pk: 'USER#u2', sk: `NOTIFICATION#${'0'.repeat(28)}` }),
      enc(['NOTIFICATION#']),
      enc({ sk: 1 }),
      'x'.repeat(2000),
    ]) {
      const error = await store.list('u1', 20, cursor).catch((e: unknown) => e);
      expect(error, cursor).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).details).toEqual([{ field: 'cursor', message: expect.any(String) }]);
    }
  });
});

describe('markRead', () => {
  it("marks the caller's own notifications, reports the rest unknown, and never touches another user's", async () => {
    const mine = [0, 1, 2].map((i) => notification('u1', `n:${i}`, T0 + i));
    const theirs = notification('u2', 'n:theirs', T0);
    for (const n of [...mine, theirs]) await store.createOnce(n, 1);
    const at = new Date(T0 + 60_000);
    const missing = 'f'.repeat(28);
    const result = await store.markRead('u1', [mine[0]!.id, mine[1]!.id, theirs.id, missing, mine[0]!.id], at);
    expect(result).toEqual({ read: [mine[0]!.id, mine[1]!.id], unknown: [theirs.id, missing] });
    // Again: already read is read (readAt kept), not unknown.
    expect(await store.markRead('u1', [mine[0]!.id], new Date(T0 + 120_000))).toEqual({ read: [mine[0]!.id], unknown: [] });
    const list = await store.list('u1', 20);
    expect(list.notifications.map((n) => [n.noticeId, n.read, n.readAt])).toEqual([
      ['n:2', false, undefined],
      ['n:1', true, at.toISOString()],
      ['n:0', true, at.toISOString()],
    ]);
    expect((await store.list('u2', 20)).notifications).toEqual([expect.objectContaining({ id: theirs.id, read: false })]);
    // No item was created for the foreign or missing ids in the caller's partition.
    expect(await byPrefix('u1', 'NOTIFICATION#')).toHaveLength(3);
  });
});
