/**
 * The templates, in code (DESIGN.md section 7): what a notice says in the app (`title`, `body`,
 * `kind`) and by email (subject, text and HTML), from its data alone, so the same notice always
 * reads the same. English, amounts formatted from minor units with the currency's own digits,
 * dates in UTC.
 *
 * Every value put into a template goes through one tagged template (`paragraph`), which keeps
 * the plain text as it is and escapes it for the HTML part: a user's name or any future
 * free-text field cannot inject markup into an email. Subjects lose control characters.
 *
 * Adding a template: its data schema in notices.ts, one entry in `CONTENT` (the compiler insists).
 */
import { findPlan } from '../billing/plans';
import type { Notice, NoticeData, TemplateName } from './notices';

/** What a notification is about, for a client to group or badge it (bookings and engagement add theirs). */
export const NOTIFICATION_KINDS = ['billing'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** The in-app part of a notice: what `GET /notifications` and the `notification.created` frame show. */
export interface InAppContent {
  readonly kind: NotificationKind;
  readonly title: string;
  readonly body: string;
}

export interface EmailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Who the email greets; the address is the mailer's business. */
export interface Greeting {
  readonly name?: string;
}

/** A paragraph as plain text and as escaped HTML. */
interface Paragraph {
  readonly text: string;
  readonly html: string;
}

interface Content {
  readonly kind: NotificationKind;
  readonly title: string;
  readonly paragraphs: readonly Paragraph[];
}

const SIGN_OFF = 'The Realtime Platform team';

/** Escapes the five characters that matter in HTML text and attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A paragraph whose literal parts and interpolated values are text, escaped once for the HTML part. */
function paragraph(strings: TemplateStringsArray, ...values: readonly string[]): Paragraph {
  let text = '';
  for (let i = 0; i < strings.length; i++) text += strings[i] + (i < values.length ? values[i] : '');
  return { text, html: escapeHtml(text) };
}

/** `$9.99` from 999 USD: the currency's own number of minor digits (JPY has none). */
export function formatMoney(amount: number, currency: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** digits);
}

/** `March 1, 2026` (UTC). */
export function formatDate(iso: string): string {
  return new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(iso));
}

/** `March 1, 2026 at 10:00 AM UTC`; ICU's narrow no-break space before AM/PM becomes a plain one. */
export function formatDateTime(iso: string): string {
  const formatted = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(iso));
  return `${formatted.replace(/[\u202f\u00a0]/g, ' ')} UTC`;
}

/** `1 day`, `2 days`; `less than a day` for 0. */
export function formatDays(days: number): string {
  if (days === 0) return 'less than a day';
  return days === 1 ? '1 day' : `${days} days`;
}

/** The plan's name as sold (`Basic`), or its id for a plan the catalog no longer lists. */
function planName(planId: string): string {
  return findPlan(planId)?.name ?? planId;
}

const UPDATE_METHOD = paragraph`Update your payment method in your account to keep your access.`;

const CONTENT: { readonly [T in TemplateName]: (data: NoticeData<T>) => Content } = {
  payment_failed: (d) => ({
    kind: 'billing',
    title: 'Payment failed',
    paragraphs: [
      paragraph`We could not renew your ${planName(d.planId)} plan: the payment of ${formatMoney(d.amount, d.currency)} was declined.`,
      paragraph`We will try again on ${formatDateTime(d.nextRetryAt)}.`,
      UPDATE_METHOD,
    ],
  }),
  payment_reminder: (d) => ({
    kind: 'billing',
    title: d.daysLeft === 0 ? 'Payment still failing: access ends today' : `Payment still failing: ${formatDays(d.daysLeft)} left`,
    paragraphs: [
      paragraph`The payment of ${formatMoney(d.amount, d.currency)} for your ${planName(d.planId)} plan was declined again.`,
      d.daysLeft === 0
        ? paragraph`Your access ends today unless the payment goes through.`
        : paragraph`Your access ends in ${formatDays(d.daysLeft)} unless the payment goes through.`,
      d.nextRetryAt === null
        ? paragraph`That was our last automatic try.`
        : paragraph`We will try again on ${formatDateTime(d.nextRetryAt)}.`,
      UPDATE_METHOD,
    ],
  }),
  subscription_expired: (d) => ({
    kind: 'billing',
    title: 'Subscription expired',
    paragraphs: [
      paragraph`Your ${planName(d.planId)} plan has expired because its payment did not go through.`,
      paragraph`You can subscribe again at any time.`,
    ],
  }),
  subscription_recovered: (d) => ({
    kind: 'billing',
    title: 'Subscription active again',
    paragraphs: [
      paragraph`Thank you: your payment went through and your ${planName(d.planId)} plan is active again.`,
      paragraph`Your current period runs until ${formatDate(d.currentPeriodEnd)}.`,
    ],
  }),
  renewal_receipt: (d) => ({
    kind: 'billing',
    title: `Receipt: ${planName(d.planId)} plan renewed`,
    paragraphs: [
      paragraph`We charged ${formatMoney(d.amount, d.currency)} for your ${planName(d.planId)} plan, which now runs until ${formatDate(d.currentPeriodEnd)}.`,
      paragraph`Payment ID: ${d.paymentId}`,
    ],
  }),
};

function contentOf(notice: Notice): Content {
  // The union is checked per entry above; TypeScript cannot correlate `template` with `data` here.
  return (CONTENT[notice.template] as (data: Notice['data']) => Content)(notice.data);
}

/** What the app shows: the paragraphs joined into one body. */
export function renderInApp(notice: Notice): InAppContent {
  const content = contentOf(notice);
  return { kind: content.kind, title: content.title, body: content.paragraphs.map((p) => p.text).join(' ') };
}

/** The email: a greeting, the paragraphs, a sign-off; text and HTML say the same. */
export function renderEmail(notice: Notice, greeting: Greeting = {}): EmailContent {
  const content = contentOf(notice);
  const name = greeting.name?.trim();
  const hello = name ? paragraph`Hi ${name},` : paragraph`Hello,`;
  const paragraphs = [hello, ...content.paragraphs];
  const subject = content.title.replace(/[\p{Cc}\p{Cf}]+/gu, ' ');
  const text = `${paragraphs.map((p) => p.text).join('\n\n')}\n\n${SIGN_OFF}\n`;
  const html =
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>' +
    escapeHtml(subject) +
    '</title></head><body>' +
    paragraphs.map((p) => `<p>${p.html}</p>`).join('') +
    `<p>${escapeHtml(SIGN_OFF)}</p></body></html>`;
  return { subject, text, html };
}
