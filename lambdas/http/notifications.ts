/**
 * The notifications route group of the HTTP API (DESIGN.md sections 4 and 7):
 *
 *   GET  /api/v1/notifications?limit=&cursor=  → 200 {notifications, nextCursor} (own, newest first)
 *   POST /api/v1/notifications/read  {ids: [1-100 notification ids]}
 *        → 200 {read: [ids now read], unknown: [ids that are not the caller's notifications]}
 *
 * Only the caller's own notifications are ever read or marked: the store keys both by the
 * caller's partition. An id of another user's notification is reported `unknown`, exactly like
 * one that never existed, so the answer says nothing about other users.
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write).
 */
import { z } from 'zod';
import { pageQuerySchema } from '../shared/http/cursor';
import { json } from '../shared/http/response';
import { httpRoutes, route } from '../shared/http/route';
import { NOTIFICATION_ID_PATTERN, notificationView } from '../shared/notifications/notifications';
import { notificationStoreFromEnvironment } from '../shared/notifications/wiring';
import { systemClock } from '../shared/clock';

const notifications = notificationStoreFromEnvironment();

const markReadBodySchema = z.strictObject({
  ids: z
    .array(z.string().regex(NOTIFICATION_ID_PATTERN, 'Expected a notification id from GET /api/v1/notifications'))
    .min(1, 'Expected 1 to 100 ids')
    .max(100, 'Expected 1 to 100 ids'),
});

export const handler = httpRoutes(
  {
    'GET /api/v1/notifications': route({
      caller: 'authorized',
      query: pageQuerySchema,
      handle: async ({ principal, query }) => {
        const page = await notifications.list(principal.userId, query.limit, query.cursor);
        return json(200, { notifications: page.notifications.map(notificationView), nextCursor: page.next ?? null });
      },
    }),
    'POST /api/v1/notifications/read': route({
      caller: 'authorized',
      body: markReadBodySchema,
      handle: async ({ principal, body }) => json(200, await notifications.markRead(principal.userId, body.ids, systemClock())),
    }),
  },
  { failureLog: 'Notifications request failed', refusals: { log: 'Notifications request refused', metricPrefix: 'NotificationsRefused_' } },
);
