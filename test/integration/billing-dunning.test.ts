/**
 * The race issue 13 names, on DynamoDB Local with the real stores, providers and payment
 * processor: a payment by the user and the saga's scheduled retry of the same past_due
 * subscription, started at the same moment, over and over. Whichever wins, the next period is
 * paid exactly once; the loser is told to come back (the retry) or finds nothing owed (the user).
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { BillingService } from '../../lambdas/shared/billing/billing-service';
import { dunningPlan } from '../../lambdas/shared/billing/dunning';
import { DynamoSubscriptionStore, subscriptionKey } from '../../lambdas/shared/billing/dynamo-subscriptions';
import { sandboxPaymentProcessor } from '../../lambdas/shared/billing/wiring';
import { MemoryDunning, MemoryScheduler } from '../support/billing-fakes';
import { type LocalDynamo, useLocalDynamo } from '../support/realtime-local';

let local: LocalDynamo;
let table: string;
useLocalDynamo((started, fresh) => {
  local = started;
  table = fresh;
});

const PERIOD_END = '2027-02-28T09:30:00.000Z';
const now = new Date('2027-03-01T09:30:00.000Z');

function billing() {
  const clock = () => now;
  const processor = sandboxPaymentProcessor(local.db, table, clock);
  const dunning = new MemoryDunning();
  const service = new BillingService({
    subscriptions: new DynamoSubscriptionStore(local.db, table),
    payments: processor,
    scheduler: new MemoryScheduler(),
    dunning,
    clock,
  });
  return { service, dunning };
}

/** A past_due subscription of `userId` (id `sub_<userId>`) whose stored method now pays. */
async function putPastDue(userId: string): Promise<string> {
  const id = `sub_${userId}`;
  await local.db.send(
    new PutCommand({
      TableName: table,
      Item: {
        ...subscriptionKey(userId),
        entity: 'Subscription',
        id,
        userId,
        planId: 'basic-monthly',
        status: 'past_due',
        amount: 999,
        currency: 'USD',
        interval: 'month',
        intervalCount: 1,
        anchor: '2027-01-28T09:30:00.000Z',
        period: 1,
        currentPeriodStart: '2027-01-28T09:30:00.000Z',
        currentPeriodEnd: PERIOD_END,
        cancelAtPeriodEnd: false,
        paymentToken: 'tok_ok',
        createdAt: '2027-01-28T09:29:59.000Z',
        updatedAt: PERIOD_END,
      },
    }),
  );
  return id;
}

/** The user's succeeded payments. */
async function succeededPayments(userId: string) {
  const { Items = [] } = await local.db.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :payment)',
      ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':payment': 'PAYMENT#' },
    }),
  );
  return Items.filter((p) => p.status === 'succeeded');
}

describe('a payment by the user racing the saga retry', () => {
  it('pays the next period exactly once, 20 times over, whichever wins', async () => {
    const { service, dunning } = billing();
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const userId = `race${i}`;
      const subscriptionId = `sub_${userId}`;
      await putPastDue(userId);
      const plan = dunningPlan({ id: subscriptionId, userId }, PERIOD_END);
      const [user, saga] = await Promise.allSettled([
        service.payNow(userId, subscriptionId, 'tok_ok'),
        service.dunningStep(plan, { action: 'retry', attempt: 1 }),
      ]);
      outcomes.push(
        `${user.status === 'fulfilled' ? 'user paid' : (user.reason as { code?: string }).code} / ${
          saga.status === 'fulfilled' ? saga.value.outcome : (saga.reason as { code?: string }).code
        }`,
      );
      const succeeded = await succeededPayments(userId);
      expect(succeeded, `${userId}: ${outcomes.at(-1)}`).toHaveLength(1);
      const status = await service.status(userId);
      expect(status.subscription).toMatchObject({
        status: 'active',
        currentPeriodStart: PERIOD_END,
        currentPeriodEnd: '2027-03-28T09:30:00.000Z',
      });
      // The retry that lost comes back (Step Functions retries it) and finds nothing to do.
      expect(await service.dunningStep(plan, { action: 'retry', attempt: 1 })).toMatchObject({
        outcome: expect.stringMatching(/^(ended|recovered)$/),
      });
    }
    // Every pair ended one of these ways (one run here: the user won 13 times, the retry 7).
    expect(outcomes.every((o) => /^(user paid|request_in_progress|no_payment_due) \/ (recovered|ended|request_in_progress)$/.test(o))).toBe(
      true,
    );
    expect(dunning.calls.filter((c) => c.startsWith('start'))).toEqual([]);
  }, 120_000);

  it('50 payment-method changes of one past_due subscription at once charge the next period once', async () => {
    const { service, dunning } = billing();
    await putPastDue('many');
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => service.updatePaymentMethod('many', 'tok_ok')));
    const answers = results.map((r) =>
      r.status === 'fulfilled'
        ? `${r.value.subscription.status}/${r.value.payment ? r.value.payment.status : 'no charge'}`
        : (r.reason as { code?: string }).code,
    );
    // One charged and recovered; the others met the charge under way (409) or found it active (no charge).
    expect(answers.filter((a) => a === 'active/succeeded')).toHaveLength(1);
    expect(
      answers.every((a) => a === 'active/succeeded' || a === 'active/no charge' || a === 'request_in_progress'),
      answers.join(', '),
    ).toBe(true);
    expect(await succeededPayments('many')).toHaveLength(1);
    expect((await service.status('many')).subscription).toMatchObject({ status: 'active', currentPeriodStart: PERIOD_END });
    expect(dunning.stopped).toHaveLength(1);
  }, 60_000);
});
