/**
 * Due jobs: "something is due for this subscription at `dueAt`" (a renewal, the end of a period
 * cancelled at its end, the expiry of an `incomplete` subscription). One message shape for every
 * kind: the charge worker reads the subscription and decides what is due from its state, so a
 * stale or repeated job does nothing (billing-service.ts, `processDue`).
 *
 * Jobs reach the charge queue from a one-time EventBridge Scheduler schedule per subscription and
 * due time (scheduler-due-jobs.ts), or from the daily reconciliation, which finds overdue
 * subscriptions by an index query and enqueues them directly.
 */
import { z } from 'zod';

export const dueJobSchema = z.strictObject({
  userId: z.string().min(1).max(128),
  subscriptionId: z.string().min(1).max(128),
  dueAt: z.iso.datetime(),
});
export type DueJob = z.infer<typeof dueJobSchema>;

export interface DueJobScheduler {
  /**
   * Makes sure the job runs at `dueAt`: one schedule per (subscription, dueAt), so asking twice
   * is harmless. A job already due (or due within the next minute) is enqueued at once instead.
   */
  schedule(job: DueJob): Promise<void>;
  /** Removes the job's schedule, if there is one (a cancel-now). Absent is fine. */
  unschedule(job: DueJob): Promise<void>;
}

export interface DueJobQueue {
  /** Enqueues jobs now (reconciliation): batches of up to 10. */
  enqueue(jobs: readonly DueJob[]): Promise<void>;
}
