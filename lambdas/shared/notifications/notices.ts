/**
 * The notice: the message every producer puts on the notification queue (DESIGN.md section 7;
 * docs/notifications.md), and the whole contract between them and the notifier:
 *
 *   {"noticeId": "dunning:sub_1:2026-02-01T10:00:00.000Z:reminder:3", "userId": "…",
 *    "template": "payment_reminder",
 *    "data": {"planId": "basic-monthly", "amount": 999, "currency": "USD", "daysLeft": 4,
 *             "nextRetryAt": "2026-02-06T10:00:00.000Z"}}
 *
 * `noticeId` is the notice's idempotency key: the notifier creates one in-app notification and
 * sends one email per user and noticeId however often the message arrives, so a producer that
 * retries sends the same id again, and a producer that means a second notice gives it another.
 * `data` is checked per template (a discriminated union on `template`). Unknown fields are
 * dropped, not refused: a producer deployed before the notifier that knows a new field must not
 * lose its notices. Amounts are integer minor units with an ISO 4217 currency; times ISO-8601 UTC.
 *
 * Billing's templates are here; bookings and engagement add theirs (a schema here, a rendering in
 * templates.ts).
 */
import { z } from 'zod';

/** Letters, digits and `: . _ # -`, 1-200 characters (it is part of a DynamoDB sort key). */
export const NOTICE_ID_PATTERN = /^[A-Za-z0-9:._#-]{1,200}$/;

export const noticeIdSchema = z
  .string()
  .regex(NOTICE_ID_PATTERN, 'Expected 1-200 letters, digits or ":._#-" (the notice\'s idempotency key)');

const isoUtc = z.iso.datetime({ error: 'Expected an ISO-8601 UTC time such as 2026-03-01T10:00:00.000Z' });
const planId = z.string().min(1).max(64);
const amount = z.number().int('Expected an integer number of minor units (999 is 9.99)').nonnegative().max(100_000_000);
const currency = z.string().regex(/^[A-Z]{3}$/, 'Expected an ISO 4217 currency code such as USD');
const paymentId = z.string().min(1).max(128);

/** The data of each template. */
export const TEMPLATE_DATA = {
  /** A renewal was declined (day 0 of dunning). */
  payment_failed: z.object({ planId, amount, currency, nextRetryAt: isoUtc }),
  /** A retry was declined too: access ends in `daysLeft` days; `nextRetryAt` null when none is left. */
  payment_reminder: z.object({ planId, amount, currency, daysLeft: z.number().int().min(0).max(366), nextRetryAt: isoUtc.nullable() }),
  /** Dunning ended unpaid: access is gone. */
  subscription_expired: z.object({ planId }),
  /** A payment during dunning: active again until `currentPeriodEnd`. */
  subscription_recovered: z.object({ planId, currentPeriodEnd: isoUtc }),
  /** A renewal was paid. */
  renewal_receipt: z.object({ planId, amount, currency, paymentId, currentPeriodEnd: isoUtc }),
} as const;

export type TemplateName = keyof typeof TEMPLATE_DATA;
export const TEMPLATE_NAMES = Object.keys(TEMPLATE_DATA) as [TemplateName, ...TemplateName[]];

const envelope = { noticeId: noticeIdSchema, userId: z.string().min(1).max(128) };

function variant<T extends TemplateName>(template: T) {
  return z.object({ ...envelope, template: z.literal(template), data: TEMPLATE_DATA[template] });
}

export const noticeSchema = z.discriminatedUnion('template', [
  variant('payment_failed'),
  variant('payment_reminder'),
  variant('subscription_expired'),
  variant('subscription_recovered'),
  variant('renewal_receipt'),
]);

export type Notice = z.infer<typeof noticeSchema>;
/** The notice of one template, e.g. `NoticeOf<'renewal_receipt'>`. */
export type NoticeOf<T extends TemplateName> = Extract<Notice, { template: T }>;
export type NoticeData<T extends TemplateName> = NoticeOf<T>['data'];

/** Where producers send notices; `sqs-notices.ts` is the SQS adapter. */
export interface NoticeSender {
  /** Validates the notice (a producer's bug throws here, not in the notifier) and sends it. */
  send(notice: Notice): Promise<void>;
}
