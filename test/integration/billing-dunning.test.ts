/**
 * The race issue 13 names, on DynamoDB Local with the real stores, providers and payment
 * processor: a payment by the user and the saga's scheduled retry of the same past_due
 * subscription, started at the same moment, over and over. Whichever wins, the next period is
 * paid exactly once; the loser is told to come back (the retry) or finds nothing owed (the user).
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { BillingService } from '../../lambdas/shared/billing/billing-service';
import { CircuitBreaker } from '../../lambdas/shared/billing/breaker';
import { dunningPlan } from '../../lambdas/shared/billing/dunning';
import { DynamoBreakerStore } from '../../lambdas/shared/billing/dynamo-breaker';
import { DynamoChargeClaims, DynamoPaymentStore } from '../../lambdas/shared/billing/dynamo-payments';
import { DynamoSandboxLedger } from '../../lambdas/shared/billing/dynamo-sandbox-ledger';
import { DynamoSubscriptionStore, subscriptionKey } from '../../lambdas/shared/billing/dynamo-subscriptions';
import { ProviderPaymentProcessor } from '../../lambdas/shared/billing/payment-processor';
import { sandboxProviders } from '../../lambdas/shared/billing/sandbox-provider';
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
  const processor = new ProviderPaymentProcessor({
    providers: sandboxProviders(new DynamoSandboxLedger(local.db, table, clock), clock),
    breaker: new CircuitBreaker(new DynamoBreakerStore(local.db, table), clock),
    claims: new DynamoChargeClaims(local.db, table),
    payments: new DynamoPaymentStore(local.db, table),
    clock,
  });
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

describe('a payment by the user racing the saga retry', () => {
  it('pays the next period exactly once, 20 times over, whichever wins', async () => {
    const { service, dunning } = billing();
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) {
      const userId = `race${i}`;
      const subscriptionId = `sub_${userId}`;
      await local.db.send(
        new PutCommand({
          TableName: table,
          Item: {
            ...subscriptionKey(userId),
            entity: 'Subscription',
            id: subscriptionId,
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
      const { Items = [] } = await local.db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :payment)',
          ExpressionAttributeValues: { ':pk': `USER#${userId}`, ':payment': 'PAYMENT#' },
        }),
      );
      const succeeded = Items.filter((p) => p.status === 'succeeded');
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
});
