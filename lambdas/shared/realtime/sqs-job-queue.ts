/**
 * The fan-out job queue (SQS FIFO, DESIGN.md section 2): hot topics' deliveries, one job per
 * shard. The message group is the topic and shard, so jobs of one shard are handled one after
 * another in order while different shards (and topics) run in parallel. The deduplication id is
 * derived from the job, so a stream retry that enqueues the same job again within SQS's
 * 5-minute window is dropped by SQS.
 */
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { FanoutJob, JobQueue } from './fanout';
import { retryRemaining } from '../retry';

/** SendMessageBatch's budget for failed entries: 6 calls, backoff 100 ms doubling to 1 s. */
const ENQUEUE_RETRY = { attempts: 6, baseDelayMs: 100, maxDelayMs: 1_000 } as const;

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
  ) {}

  async enqueue(jobs: readonly FanoutJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 10) {
      const batch = jobs.slice(i, i + 10).map((job, n) => ({
        Id: String(n),
        MessageBody: JSON.stringify(job),
        MessageGroupId: `${job.topic}#${job.shard}`,
        MessageDeduplicationId: createHash('sha256').update(`${job.topic}#${job.shard}#${job.fromSeq}#${job.toSeq}`).digest('hex'),
      }));
      const left = await retryRemaining(
        batch,
        async (entries) => {
          const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: [...entries] }));
          const failed = new Set((out.Failed ?? []).map((f) => f.Id));
          return entries.filter((entry) => failed.has(entry.Id));
        },
        ENQUEUE_RETRY,
      );
      if (left.length > 0) throw new Error(`Could not enqueue ${left.length} fan-out jobs after ${ENQUEUE_RETRY.attempts} attempts`);
    }
  }
}
