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
   * Days before today to look back for overdue subscriptions: the run is daily, so 3 covers two
   * missed runs. Anything older is in the charge queue's dead-letter queue or was never due.
   * @default 3
   */
  readonly lookbackDays: number;
  /** A job this late is taken as missed by its schedule. @default 15 minutes */
  readonly graceMs: number;
}

export const DEFAULT_RECONCILE_CONFIG: ReconcileConfig = { lookbackDays: 3, graceMs: 15 * 60_000 };

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
