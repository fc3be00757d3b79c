/**
 * The daily safety net of renewals: every subscription whose due time passed more than `graceMs`
 * ago (its schedule was never created, or never delivered), within the lookback window, is
 * enqueued as a due job. Found by one query per day of the due index (dynamo-subscriptions.ts),
 * never a scan. Enqueuing a job already done is harmless: the worker is idempotent.
 */
import type { Clock } from '../clock';
import type { DueJobQueue } from './due-jobs';
import type { SubscriptionStore } from './subscription-store';

export interface ReconcileConfig {
  /**
   * Days before today to look back for overdue subscriptions: the run is daily, and a job the
   * worker gave up on (every provider down for its ~20 minutes of receives) is dead-lettered with
   * an alarm; a week of daily retries covers an outage and missed runs. Older is an operator's
   * (redrive the dead-letter queue). @default 7
   */
  readonly lookbackDays: number;
  /** A job this late is taken as missed by its schedule. @default 15 minutes */
  readonly graceMs: number;
}

export const DEFAULT_RECONCILE_CONFIG: ReconcileConfig = { lookbackDays: 7, graceMs: 15 * 60_000 };

/** Enqueues the overdue subscriptions; answers how many. */
export async function reconcileDue(
  subscriptions: Pick<SubscriptionStore, 'due'>,
  queue: DueJobQueue,
  clock: Clock,
  config: ReconcileConfig = DEFAULT_RECONCILE_CONFIG,
): Promise<number> {
  const until = new Date(clock().getTime() - config.graceMs);
  let enqueued = 0;
  for (let d = config.lookbackDays; d >= 0; d--) {
    const due = await subscriptions.due(new Date(until.getTime() - d * 86_400_000), until);
    if (due.length === 0) continue;
    await queue.enqueue(due);
    enqueued += due.length;
  }
  return enqueued;
}
