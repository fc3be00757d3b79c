/**
 * The notice contract (lambdas/shared/notifications/notices.ts) and the templates in code
 * (templates.ts): every template renders from its data alone, amounts from minor units with the
 * currency's digits, days worded right, and nothing interpolated reaches the HTML unescaped.
 */
import { describe, expect, it } from 'vitest';
import { noticeSchema, TEMPLATE_NAMES } from '../../lambdas/shared/notifications/notices';
import {
  escapeHtml,
  formatDateTime,
  formatDays,
  formatMoney,
  renderEmail,
  renderInApp,
} from '../../lambdas/shared/notifications/templates';
import { fieldIssues } from '../../lambdas/shared/validation';
import { SAMPLES } from '../support/notification-fakes';

function issuesOf(value: unknown): string[] {
  const parsed = noticeSchema.safeParse(value);
  return parsed.success ? [] : fieldIssues(parsed.error).map((i) => i.field);
}

describe('the notice schema', () => {
  it('accepts one sample of every template, exactly as sent', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual([...TEMPLATE_NAMES].sort());
    for (const notice of Object.values(SAMPLES)) expect(noticeSchema.parse(notice)).toEqual(notice);
  });

  it('accepts a last reminder without a next retry', () => {
    const last = { ...SAMPLES.payment_reminder, data: { ...SAMPLES.payment_reminder.data, daysLeft: 2, nextRetryAt: null } };
    expect(noticeSchema.parse(last)).toEqual(last);
  });

  it('refuses ids outside 1-200 of [A-Za-z0-9:._#-], naming the field', () => {
    for (const noticeId of ['', 'a'.repeat(201), 'has space', 'slash/no', 'ünï', 'new\nline', 42]) {
      expect(issuesOf({ ...SAMPLES.payment_failed, noticeId })).toEqual(['noticeId']);
    }
    expect(issuesOf({ ...SAMPLES.payment_failed, noticeId: `A-z0-9:._#-${'x'.repeat(189)}` })).toEqual([]);
  });

  it('checks the data against its own template', () => {
    expect(issuesOf({ ...SAMPLES.payment_failed, template: 'nope' })).toEqual(['template']);
    // The receipt's data under the failed template: nextRetryAt is missing.
    expect(issuesOf({ ...SAMPLES.payment_failed, data: SAMPLES.renewal_receipt.data })).toEqual(['data.nextRetryAt']);
    expect(issuesOf({ ...SAMPLES.payment_failed, data: { ...SAMPLES.payment_failed.data, amount: 9.99 } })).toEqual(['data.amount']);
    expect(issuesOf({ ...SAMPLES.payment_failed, data: { ...SAMPLES.payment_failed.data, amount: -1 } })).toEqual(['data.amount']);
    expect(issuesOf({ ...SAMPLES.payment_failed, data: { ...SAMPLES.payment_failed.data, currency: 'usd' } })).toEqual(['data.currency']);
    expect(issuesOf({ ...SAMPLES.payment_failed, data: { ...SAMPLES.payment_failed.data, nextRetryAt: '2026-02-02' } })).toEqual([
      'data.nextRetryAt',
    ]);
    expect(
      issuesOf({ ...SAMPLES.payment_failed, data: { ...SAMPLES.payment_failed.data, nextRetryAt: '2026-02-02T10:00:00+02:00' } }),
    ).toEqual(['data.nextRetryAt']);
    expect(issuesOf({ ...SAMPLES.payment_reminder, data: { ...SAMPLES.payment_reminder.data, daysLeft: 1.5 } })).toEqual(['data.daysLeft']);
    expect(issuesOf({ ...SAMPLES.subscription_expired, userId: '' })).toEqual(['userId']);
    expect(issuesOf({})).toEqual(['template']);
    expect(issuesOf('{}')).toEqual(['(root)']);
  });

  it('drops fields it does not know rather than refusing the notice', () => {
    const parsed = noticeSchema.parse({ ...SAMPLES.subscription_expired, extra: 1, data: { planId: 'pro-monthly', later: true } });
    expect(parsed).toEqual(SAMPLES.subscription_expired);
  });
});

describe('formatting', () => {
  it('formats money from minor units with the currency digits', () => {
    expect(formatMoney(999, 'USD')).toBe('$9.99');
    expect(formatMoney(29_000, 'USD')).toBe('$290.00');
    expect(formatMoney(5, 'EUR')).toBe('€0.05');
    expect(formatMoney(1_234_567, 'GBP')).toBe('£12,345.67');
    expect(formatMoney(1234, 'JPY')).toBe('¥1,234');
    expect(formatMoney(0, 'USD')).toBe('$0.00');
  });

  it('words days left', () => {
    expect(formatDays(1)).toBe('1 day');
    expect(formatDays(2)).toBe('2 days');
    expect(formatDays(6)).toBe('6 days');
    expect(formatDays(0)).toBe('less than a day');
  });

  it('gives times in UTC whatever the time zone of the function', () => {
    expect(formatDateTime('2026-02-02T23:30:00.000Z')).toBe('February 2, 2026 at 11:30 PM UTC');
  });

  it('escapes the characters that matter in HTML', () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  });
});

describe('the templates', () => {
  it('render every template in the app: kind, title and body from the data', () => {
    expect(renderInApp(SAMPLES.payment_failed)).toEqual({
      kind: 'billing',
      title: 'Payment failed',
      body:
        'We could not renew your Basic plan: the payment of $9.99 was declined. We will try again on February 2, 2026 at ' +
        '10:00 AM UTC. Update your payment method in your account to keep your access.',
    });
    expect(renderInApp(SAMPLES.payment_reminder)).toMatchObject({ title: 'Payment still failing: 4 days left' });
    expect(renderInApp(SAMPLES.payment_reminder).body).toContain('Your access ends in 4 days unless the payment goes through.');
    expect(renderInApp(SAMPLES.subscription_expired)).toMatchObject({ title: 'Subscription expired' });
    expect(renderInApp(SAMPLES.subscription_expired).body).toContain('Your Pro plan has expired');
    expect(renderInApp(SAMPLES.subscription_recovered).body).toContain('runs until March 1, 2026');
    expect(renderInApp(SAMPLES.renewal_receipt)).toEqual({
      kind: 'billing',
      title: 'Receipt: Pro (yearly) plan renewed',
      body: 'We charged $290.00 for your Pro (yearly) plan, which now runs until February 1, 2027. Payment ID: pay_123',
    });
  });

  it('words the reminder for 1 day, the last retry and the last day', () => {
    const reminder = (daysLeft: number, nextRetryAt: string | null) =>
      renderInApp({ ...SAMPLES.payment_reminder, data: { ...SAMPLES.payment_reminder.data, daysLeft, nextRetryAt } });
    expect(reminder(1, null).title).toBe('Payment still failing: 1 day left');
    expect(reminder(1, null).body).toContain('Your access ends in 1 day unless');
    expect(reminder(1, null).body).toContain('That was our last automatic try.');
    expect(reminder(2, '2026-02-06T10:00:00.000Z').body).toContain('We will try again on February 6, 2026 at 10:00 AM UTC.');
    expect(reminder(0, null).title).toBe('Payment still failing: access ends today');
  });

  it('names a plan the catalog does not list by its id', () => {
    expect(renderInApp({ ...SAMPLES.subscription_expired, data: { planId: 'legacy-2019' } }).body).toContain('Your legacy-2019 plan');
  });

  it('emails the same words as text and as HTML, greeting the user by name', () => {
    for (const notice of Object.values(SAMPLES)) {
      const inApp = renderInApp(notice);
      const email = renderEmail(notice, { name: 'Ada' });
      expect(email.subject).toBe(inApp.title);
      expect(email.text.startsWith('Hi Ada,\n\n')).toBe(true);
      expect(email.text.replace(/\n\n/g, ' ')).toContain(inApp.body);
      expect(email.text.trimEnd().endsWith('The Realtime Platform team')).toBe(true);
      expect(email.html).toContain('<p>Hi Ada,</p>');
      expect(email.html).toContain(`<title>${escapeHtml(inApp.title)}</title>`);
    }
    expect(renderEmail(SAMPLES.subscription_expired).text.startsWith('Hello,\n\n')).toBe(true);
  });

  it('escapes every interpolated value in the HTML, and keeps control characters out of the subject', () => {
    const hostile = `<script>alert("x")</script> & 'Co'`;
    const email = renderEmail({ ...SAMPLES.subscription_expired, data: { planId: hostile } }, { name: '<img src=x onerror=alert(1)>' });
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Co&#39;');
    expect(email.html).toContain('<p>Hi &lt;img src=x onerror=alert(1)&gt;,</p>');
    // Text keeps what the user wrote: it is not HTML.
    expect(email.text).toContain(`Hi <img src=x onerror=alert(1)>,`);
    const injected = renderEmail({ ...SAMPLES.renewal_receipt, data: { ...SAMPLES.renewal_receipt.data, planId: 'x\r\nBcc: a@b.c' } });
    expect(injected.subject).not.toMatch(/[\r\n]/);
  });
});
