/**
 * Billing's dependencies from a function's environment, built once at module scope (STYLE 6): the
 * service on the domain table, the two sandbox providers behind their breakers, Scheduler for due
 * jobs, the payment history, and the `Idempotency-Key` wrapper of the routes that move money.
 * A missing variable fails the cold start with its name.
 *
 * Relies on: DOMAIN_TABLE_NAME, and the due-job settings of scheduler-due-jobs.ts
 * (DUE_SCHEDULE_GROUP, CHARGE_QUEUE_ARN, CHARGE_QUEUE_URL, SCHEDULER_ROLE_ARN, SCHEDULER_DLQ_ARN).
 */
import { systemClock } from '../clock';
import { createDocumentClient } from '../dynamodb';
import { requireEnv } from '../env';
import { DynamoIdempotencyStore } from '../http/dynamo-idempotency';
import { withIdempotency, type Idempotent } from '../http/idempotency';
import { logger, metrics, MetricUnit } from '../observability';
import { BillingService } from './billing-service';
import { CircuitBreaker } from './breaker';
import { DynamoBreakerStore } from './dynamo-breaker';
import { DynamoChargeClaims, DynamoPaymentStore } from './dynamo-payments';
import { DynamoSandboxLedger } from './dynamo-sandbox-ledger';
import { DynamoSubscriptionStore } from './dynamo-subscriptions';
import { ProviderPaymentProcessor } from './payment-processor';
import type { PaymentHistory } from './payments';
import { sandboxProviders } from './sandbox-provider';
import { SchedulerDueJobs } from './scheduler-due-jobs';

export interface BillingWiring {
  readonly billing: BillingService;
  readonly history: PaymentHistory;
  readonly idempotent: Idempotent;
}

export function billingFromEnvironment(env: NodeJS.ProcessEnv = process.env): BillingWiring {
  const db = createDocumentClient();
  const table = requireEnv('DOMAIN_TABLE_NAME', env);
  // The local cloud's virtual clock at run time (it replaces `Date` in the function's environment).
  const clock = systemClock;
  const payments = new DynamoPaymentStore(db, table);
  const processor = new ProviderPaymentProcessor({
    providers: sandboxProviders(new DynamoSandboxLedger(db, table, clock), clock),
    breaker: new CircuitBreaker(new DynamoBreakerStore(db, table), clock),
    claims: new DynamoChargeClaims(db, table),
    payments,
    clock,
  });
  const billing = new BillingService(
    new DynamoSubscriptionStore(db, table),
    processor,
    SchedulerDueJobs.fromEnvironment(env, { clock }),
    clock,
    (error, job) => {
      logger.warn('Due job not (un)scheduled after its write; the reconciliation catches it', { ...job, error: error as Error });
      metrics.addMetric('DueJobScheduleFailed', MetricUnit.Count, 1);
    },
  );
  return { billing, history: payments, idempotent: withIdempotency({ store: new DynamoIdempotencyStore(db, table), clock }) };
}
