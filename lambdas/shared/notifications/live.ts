/**
 * What notifications show live (DESIGN.md section 7): a new notification item reaches its user's
 * private topic `user:{id}` through the stream (decision 10), never from the notifier.
 * realtime/cdc.ts lists these sources with the others; fan-out's stream filter follows.
 *
 *   notification.created  {notification: NotificationView}
 */
import type { DomainChange } from '../cdc/change';
import type { TopicSource } from '../realtime/cdc';
import { NOTIFICATION_ENTITY, notificationItemSchema } from './dynamo-notifications';
import { notificationView } from './notifications';

function notificationCreated(change: DomainChange) {
  const item = notificationItemSchema.safeParse(change.newImage);
  if (!item.success) return [];
  return [
    {
      topic: `user:${item.data.userId}`,
      event: 'notification.created',
      payload: { notification: notificationView(item.data) },
      ts: change.occurredAt,
    },
  ];
}

export const NOTIFICATION_TOPIC_SOURCES: readonly TopicSource[] = [
  { entity: NOTIFICATION_ENTITY, change: 'INSERT', map: notificationCreated },
];
