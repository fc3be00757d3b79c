/**
 * Billing's dependencies from a function's environment, built once at module scope (STYLE 6): the
 * service on the domain table, the two sandbox providers behind their breakers, Scheduler for due
 * jobs, the payment history, and the `Idempotency-Key` wrapper of the routes that move money.
 * A missing variable fails the cold start with its name.
 *
 * Relies on: DOMAIN_TABLE_NAME, the due-job settings of scheduler-due-jobs.ts
 * (DUE_SCHEDULE_GROUP, CHARGE_QUEUE_ARN, CHARGE_QUEUE_URL, SCHEDULER_ROLE_ARN, SCHEDULER_DLQ_ARN),
 * and DUNNING_STATE_MACHINE_ARN (sfn-dunning.ts) unless the caller brings its own `dunning`.
 */
import { type Clock, systemClock } from '../clock';
import { createDocumentClient, type DocumentClientLike } from '../dynamodb';
import { requireEnv } from '../env';
import { DynamoIdempotencyStore } from '../http/dynamo-idempotency';
import { withIdempotency, type Idempotent } from '../http/idempotency';
import { logger, metrics, MetricUnit } from '../observability';
import { BillingService } from './billing-service';
import { CircuitBreaker } from './breaker';
import { DynamoBreakerStore } from './dynamo-breaker';
import { DynamoChargeClaims, DynamoPaymentStore } from './dynamo-payments';
import { DynamoSandboxLedger } from './dynamo-sandbox-ledger';
import type { DunningSaga } from './dunning';
import { DynamoSubscriptionStore } from './dynamo-subscriptions';
import { ProviderPaymentProcessor } from './payment-processor';
import type { PaymentHistory } from './payments';
import { sandboxProviders } from './sandbox-provider';
import { SchedulerDueJobs } from './scheduler-due-jobs';
import { StepFunctionsDunning } from './sfn-dunning';

export interface BillingWiring {
  readonly billing: BillingService;
  readonly history: PaymentHistory;
  readonly idempotent: Idempotent;
}

export interface BillingWiringOptions {
  /** The saga starter; the saga's own step function passes one that refuses (it never starts or stops sagas). */
  readonly dunning?: DunningSaga;
}

/**
 * The payment processor of the platform on `db` and `table`: the two sandbox providers behind their
 * breakers, charge claims and payments in the domain table (also what tests and benches build).
 */
export function sandboxPaymentProcessor(db: DocumentClientLike, table: string, clock: Clock): ProviderPaymentProcessor {
  return new ProviderPaymentProcessor({
    providers: sandboxProviders(new DynamoSandboxLedger(db, table, clock), clock),
    breaker: new CircuitBreaker(new DynamoBreakerStore(db, table), clock),
    claims: new DynamoChargeClaims(db, table),
    payments: new DynamoPaymentStore(db, table),
    clock,
  });
}

export function billingFromEnvironment(env: NodeJS.ProcessEnv = process.env, options: BillingWiringOptions = {}): BillingWiring {
  const db = createDocumentClient();
  const table = requireEnv('DOMAIN_TABLE_NAME', env);
  // The local cloud's virtual clock at run time (it replaces `Date` in the function's environment).
  const clock = systemClock;
  const processor = sandboxPaymentProcessor(db, table, clock);
  const billing = new BillingService({
    subscriptions: new DynamoSubscriptionStore(db, table),
    payments: processor,
    scheduler: SchedulerDueJobs.fromEnvironment(env, { clock }),
    dunning: options.dunning ?? StepFunctionsDunning.fromEnvironment(env),
    clock,
    onScheduleError: (error, job) => {
      logger.warn("Due job or saga not changed after its write; the reconciliation or the saga's own checks catch it", {
        ...job,
        error: error as Error,
      });
      metrics.addMetric('DueJobScheduleFailed', MetricUnit.Count, 1);
    },
  });
  return {
    billing,
    history: new DynamoPaymentStore(db, table),
    idempotent: withIdempotency({ store: new DynamoIdempotencyStore(db, table), clock }),
  };
}
