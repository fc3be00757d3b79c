/**
 * The fan-out job queue (SQS FIFO, DESIGN.md section 2): hot topics' deliveries, one job per
 * shard. The message group is the topic and shard, so jobs of one shard are handled one after
 * another in order while different shards (and topics) run in parallel. The deduplication id is
 * derived from the job, so a stream retry that enqueues the same job again within SQS's
 * 5-minute window is dropped by SQS.
 */
import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FanoutJob, JobQueue } from './fanout';
import { sleep } from './registry';

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
  ) {}

  async enqueue(jobs: readonly FanoutJob[]): Promise<void> {
    for (let i = 0; i < jobs.length; i += 10) {
      let batch = jobs.slice(i, i + 10).map((job, n) => ({
        Id: String(n),
        MessageBody: JSON.stringify(job),
        MessageGroupId: `${job.topic}#${job.shard}`,
        MessageDeduplicationId: createHash('sha256').update(`${job.topic}#${job.shard}#${job.fromSeq}#${job.toSeq}`).digest('hex'),
      }));
      for (let attempt = 0; batch.length > 0; attempt++) {
        if (attempt > 5) throw new Error(`Could not enqueue ${batch.length} fan-out jobs after ${attempt} attempts`);
        if (attempt > 0) await sleep(Math.random() * Math.min(1_000, 50 * 2 ** attempt));
        const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch }));
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        batch = batch.filter((entry) => failed.has(entry.Id));
      }
    }
  }
}
