/**
 * What billing's item changes become: domain events (lambdas/shared/events/catalog.ts) and live
 * `user:{id}` frames (lambdas/shared/billing/live.ts), from the images the stream carries.
 */
import { describe, expect, it } from 'vitest';
import { BILLING_TOPIC_SOURCES } from '../../lambdas/shared/billing/live';
import type { DomainChange } from '../../lambdas/shared/cdc/change';
import { eventsForChange } from '../../lambdas/shared/events/catalog';
import { topicEventsForChange } from '../../lambdas/shared/realtime/cdc';

const base = {
  pk: 'USER#u1',
  sk: 'SUBSCRIPTION',
  entity: 'Subscription',
  id: 'sub_1',
  userId: 'u1',
  planId: 'basic-monthly',
  amount: 999,
  currency: 'USD',
  interval: 'month',
  intervalCount: 1,
  cancelAtPeriodEnd: false,
  paymentToken: 'tok_secret_card',
  createdAt: '2027-01-31T09:30:00.000Z',
  updatedAt: '2027-01-31T09:30:00.000Z',
};
const incomplete = { ...base, status: 'incomplete', period: 0, leaseUntil: 1 };
const active = {
  ...base,
  status: 'active',
  period: 1,
  anchor: '2027-01-31T09:30:00.000Z',
  currentPeriodStart: '2027-01-31T09:30:00.000Z',
  currentPeriodEnd: '2027-02-28T09:30:00.000Z',
  dueAt: '2027-02-28T09:30:00.000Z',
};
const renewed = { ...active, period: 2, currentPeriodStart: active.currentPeriodEnd, currentPeriodEnd: '2027-03-31T09:30:00.000Z' };

let n = 0;
const change = (type: DomainChange['type'], newImage?: object, oldImage?: object): DomainChange => ({
  id: `e${++n}`,
  type,
  occurredAt: '2027-01-31T09:30:01.000Z',
  ...(newImage ? { newImage: newImage as DomainChange['newImage'] } : {}),
  ...(oldImage ? { oldImage: oldImage as DomainChange['oldImage'] } : {}),
});
const types = (c: DomainChange) => eventsForChange(c).map((e) => e.detailType);
const frames = (c: DomainChange) => topicEventsForChange(c, BILLING_TOPIC_SOURCES);

describe('billing domain events', () => {
  it('Activated when incomplete becomes active, or a new subscription replaces an ended one', () => {
    expect(types(change('MODIFY', active, incomplete))).toEqual(['Subscription.Activated']);
    expect(types(change('MODIFY', { ...active, id: 'sub_2' }, { ...active, status: 'canceled' }))).toEqual(['Subscription.Activated']);
    expect(types(change('INSERT', incomplete))).toEqual([]);
  });

  it('Renewed when a period is paid, whether by the renewal or by a payment out of past_due; Recovered only for the latter', () => {
    expect(types(change('MODIFY', renewed, active))).toEqual(['Subscription.Renewed']);
    expect(types(change('MODIFY', renewed, { ...active, status: 'past_due' }))).toEqual(['Subscription.Renewed', 'Subscription.Recovered']);
  });

  it('one event per status reached, none for a change the status does not see (a lease, a card)', () => {
    expect(types(change('MODIFY', { ...active, status: 'past_due' }, active))).toEqual(['Subscription.PastDue']);
    expect(types(change('MODIFY', { ...active, status: 'canceled' }, active))).toEqual(['Subscription.Canceled']);
    expect(types(change('MODIFY', { ...incomplete, status: 'incomplete_expired' }, incomplete))).toEqual([
      'Subscription.IncompleteExpired',
    ]);
    expect(types(change('MODIFY', { ...active, leaseUntil: 5 }, active))).toEqual([]);
    expect(types(change('MODIFY', { ...active, paymentToken: 'tok_new' }, active))).toEqual([]);
  });

  it('Payment.Failed carries what dunning needs and never the payment token', () => {
    const payment = {
      pk: 'USER#u1',
      sk: 'PAYMENT#2027-02-28T09:30:00.000Z#pay_1',
      entity: 'Payment',
      id: 'pay_1',
      userId: 'u1',
      purpose: 'subscription',
      reason: 'renewal',
      subscriptionId: 'sub_1',
      periodEnd: '2027-02-28T09:30:00.000Z',
      amount: 999,
      currency: 'USD',
      status: 'failed',
      provider: 'sandbox-a',
      failureCode: 'card_declined',
      chargeKey: 'renewal:sub_1:2027-02-28T09:30:00.000Z',
      createdAt: '2027-02-28T09:30:00.000Z',
    };
    const [event] = eventsForChange(change('INSERT', payment));
    expect(event?.detailType).toBe('Payment.Failed');
    expect(event?.detail).toMatchObject({
      paymentId: 'pay_1',
      reason: 'renewal',
      subscriptionId: 'sub_1',
      failureCode: 'card_declined',
      periodEnd: payment.periodEnd,
    });
    expect(JSON.stringify(event)).not.toContain('tok_');
    expect(types(change('INSERT', { ...payment, status: 'succeeded', failureCode: undefined }))).toEqual(['Payment.Succeeded']);
    const [frame] = frames(change('INSERT', payment));
    expect(frame).toMatchObject({
      topic: 'user:u1',
      event: 'payment.failed',
      payload: { payment: { id: 'pay_1', status: 'failed', failureCode: 'card_declined' } },
    });
    expect(JSON.stringify(frame)).not.toMatch(/tok_|chargeKey/);
  });
});

describe('billing live frames on user:{id}', () => {
  it('subscription.updated with the view the status route shows, when what the client sees changed', () => {
    const [frame] = frames(change('MODIFY', active, incomplete));
    expect(frame).toMatchObject({
      topic: 'user:u1',
      event: 'subscription.updated',
      payload: { subscription: { id: 'sub_1', status: 'active' } },
    });
    expect(JSON.stringify(frame)).not.toMatch(/tok_secret_card|leaseUntil|dueAt/);
    expect(frames(change('MODIFY', { ...active, leaseUntil: 9 }, active))).toEqual([]);
    expect(frames(change('MODIFY', { ...active, paymentToken: 'tok_other' }, active))).toEqual([]);
  });

  it('ignores items of other entities and malformed images', () => {
    expect(frames(change('INSERT', { entity: 'ChargeClaim', id: 'x' }))).toEqual([]);
    expect(frames(change('MODIFY', { ...active, status: 'nonsense' }, active))).toEqual([]);
  });
});
