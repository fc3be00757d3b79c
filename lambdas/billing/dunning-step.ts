/**
 * Dunning step: every Task of the dunning state machine (lib/constructs/dunning.ts) invokes this
 * function with `{step, plan}`, where `plan` is the execution's input (dunning.ts `DunningPlan`)
 * and `step` one of `{action:"begin"}`, `{action:"retry", attempt}`, `{action:"expire"}`. It answers
 * `{outcome, notice?}` (billing-service.ts `dunningStep`): the state machine's Choice states read
 * `outcome`, and it sends `notice` to the notification queue itself.
 *
 * A step that must run again later fails with a `DUNNING_RETRY_LATER` name, which the state
 * machine retries (a payment by the user under way; every provider down). An input that does not
 * parse is the state machine's bug: it fails the step with that name, and the execution fails.
 *
 * Relies on: DOMAIN_TABLE_NAME (read/write), and the due-job settings of scheduler-due-jobs.ts (a
 * recovered subscription's next renewal is scheduled). It never starts or stops a saga.
 */
import { z } from 'zod';
import { DUNNING_RETRY_LATER, type DunningSaga } from '../shared/billing/dunning';
import { ChargeInProgress, PaymentProvidersUnavailable } from '../shared/billing/errors';
import { billingFromEnvironment } from '../shared/billing/wiring';
import { instrument, logger, metrics, MetricUnit } from '../shared/observability';

const noSagas: DunningSaga = {
  start: async () => Promise.reject(new Error('A dunning step never starts a saga')),
  stop: async () => Promise.reject(new Error('A dunning step never stops a saga')),
};
const { billing } = billingFromEnvironment(process.env, { dunning: noSagas });

const iso = z.iso.datetime();
const inputSchema = z.object({
  step: z.discriminatedUnion('action', [
    z.object({ action: z.literal('begin') }),
    z.object({ action: z.literal('retry'), attempt: z.number().int().min(1).max(10) }),
    z.object({ action: z.literal('expire') }),
  ]),
  plan: z.object({
    subscriptionId: z.string().min(1),
    userId: z.string().min(1),
    periodEnd: iso,
    retries: z.array(z.object({ attempt: z.number().int(), at: iso, daysLeft: z.number().int() })).min(1),
    expireAt: iso,
  }),
});

/** An error whose name the state machine matches in its Retry fields. */
class RetryLater extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export const handler = instrument<unknown, unknown>(async (event) => {
  const parsed = inputSchema.safeParse(event);
  if (!parsed.success) throw new Error(`Dunning step input does not parse: ${z.prettifyError(parsed.error)}`);
  const { step, plan } = parsed.data;
  logger.appendKeys({ subscriptionId: plan.subscriptionId, periodEnd: plan.periodEnd, action: step.action });
  try {
    const result = await billing.dunningStep(plan, step);
    logger.info('Dunning step', { outcome: result.outcome, ...(step.action === 'retry' ? { attempt: step.attempt } : {}) });
    metrics.addMetric(`Dunning_${step.action}_${result.outcome}`, MetricUnit.Count, 1);
    return result;
  } catch (error) {
    if (error instanceof ChargeInProgress) throw new RetryLater(DUNNING_RETRY_LATER.chargeInProgress, error.message);
    if (error instanceof PaymentProvidersUnavailable) {
      metrics.addMetric('Dunning_ProvidersUnavailable', MetricUnit.Count, 1);
      throw new RetryLater(DUNNING_RETRY_LATER.providersUnavailable, error.message);
    }
    throw error;
  }
});
