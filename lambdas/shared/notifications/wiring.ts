/**
 * Notifications' dependencies from a function's environment, built once at module scope (STYLE 6).
 * A missing variable fails the cold start with its name.
 *
 * - The notifier: the ledger on the domain table, recipients from identity's user store (the
 *   address the user signed up with), SES for the email from NOTIFICATIONS_FROM_ADDRESS, and
 *   billing's subscription store for renewal receipts (receipts.ts).
 * - The routes: the notification store alone.
 *
 * Relies on: DOMAIN_TABLE_NAME; NOTIFICATIONS_FROM_ADDRESS (notifier only).
 */
import { DynamoSubscriptionStore } from '../billing/dynamo-subscriptions';
import type { Subscription } from '../billing/subscription';
import { systemClock } from '../clock';
import { createDocumentClient } from '../dynamodb';
import { requireEnv } from '../env';
import { DynamoUserStore } from '../identity/dynamo-users';
import { logger } from '../observability';
import { DynamoNotificationStore } from './dynamo-notifications';
import { Notifier, type NotificationStore, type Recipients } from './notifications';
import { createSesClient, SesMailer } from './ses-mailer';

export interface NotifierWiring {
  readonly notifier: Notifier;
  /** The user's current subscription, for a renewal receipt. */
  readonly subscriptionOf: (userId: string) => Promise<Subscription | undefined>;
}

export function notifierFromEnvironment(env: NodeJS.ProcessEnv = process.env): NotifierWiring {
  const db = createDocumentClient();
  const table = requireEnv('DOMAIN_TABLE_NAME', env);
  const fromAddress = requireEnv('NOTIFICATIONS_FROM_ADDRESS', env);
  const users = new DynamoUserStore(db, table);
  const recipients: Recipients = {
    async find(userId) {
      const user = await users.findById(userId);
      return user && { email: user.email, name: user.name };
    },
  };
  const subscriptions = new DynamoSubscriptionStore(db, table);
  const notifier = new Notifier({
    ledger: new DynamoNotificationStore(db, table),
    recipients,
    mailer: new SesMailer(createSesClient(), fromAddress),
    // The local cloud's virtual clock at run time (it replaces `Date` in the function's environment).
    clock: systemClock,
    onProblem: (problem, error, notice) =>
      logger.error(problem, { noticeId: notice.noticeId, userId: notice.userId, template: notice.template, error: error as Error }),
  });
  return { notifier, subscriptionOf: (userId) => subscriptions.get(userId) };
}

export function notificationStoreFromEnvironment(env: NodeJS.ProcessEnv = process.env): NotificationStore {
  return new DynamoNotificationStore(createDocumentClient(), requireEnv('DOMAIN_TABLE_NAME', env));
}
