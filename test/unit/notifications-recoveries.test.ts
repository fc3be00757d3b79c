/** recoveries.ts: a Subscription.Recovered event from the bus becomes one recovered notice per subscription period. */
import { describe, expect, it } from 'vitest';
import { EVENT_SOURCE } from '../../lambdas/shared/events/catalog';
import { noticeSchema } from '../../lambdas/shared/notifications/notices';
import { recoveredEventSchema, recoveredNotice } from '../../lambdas/shared/notifications/recoveries';

const detail = {
  idempotencyKey: 'c4ca4238a0b923820dcc509a6f75849b',
  occurredAt: '2027-03-02T09:30:01.000Z',
  subscriptionId: 'sub_1',
  userId: 'u1',
  planId: 'basic-monthly',
  status: 'active',
  period: 2,
  currentPeriodStart: '2027-02-28T09:30:00.000Z',
  currentPeriodEnd: '2027-03-31T09:30:00.000Z',
  cancelAtPeriodEnd: false,
};

describe('recovered notices', () => {
  it('names the plan and the new period end, keyed by subscription and period', () => {
    const event = recoveredEventSchema.safeParse({ source: EVENT_SOURCE, 'detail-type': 'Subscription.Recovered', detail });
    expect(event.success, JSON.stringify(event.error?.issues)).toBe(true);
    const notice = recoveredNotice(event.data!.detail);
    expect(notice).toEqual({
      noticeId: 'recovered:sub_1:2',
      userId: 'u1',
      template: 'subscription_recovered',
      data: { planId: 'basic-monthly', currentPeriodEnd: '2027-03-31T09:30:00.000Z' },
    });
    expect(noticeSchema.safeParse(notice).success).toBe(true);
  });

  it('is not a receipt event, nor another detail-type', () => {
    expect(recoveredEventSchema.safeParse({ source: EVENT_SOURCE, 'detail-type': 'Subscription.Renewed', detail }).success).toBe(false);
  });
});
