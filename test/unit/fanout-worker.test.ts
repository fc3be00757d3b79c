/**
 * The fan-out worker (lambdas/realtime/fanout-worker.ts) on a FIFO batch, with `Fanout` replaced by
 * a fake: a failed job's group is skipped (its later jobs are reported as failures without being
 * delivered, so SQS returns them in order) while other groups go on; a job that does not parse is
 * dropped, not retried; a batch that fails whole is answered, not thrown.
 */
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FanoutJob } from '../../lambdas/shared/realtime/fanout';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');

const delivered: FanoutJob[] = [];
const failing = new Set<string>();
vi.mock('../../lambdas/shared/realtime/fanout-wiring', () => ({
  fanoutFromEnvironment: () => ({
    deliverJob: async (job: FanoutJob) => {
      if (failing.has(`${job.topic}#${job.shard}#${job.fromSeq}`)) throw new Error('@connections is down');
      delivered.push(job);
    },
  }),
}));
const { handler } = await import('../../lambdas/realtime/fanout-worker');
const { metrics } = await import('../../lambdas/shared/observability');

const context = { functionName: 'worker', awsRequestId: 'req-1' } as Context;

/** An SQS FIFO record of the job queue, as Lambda delivers it. */
function record(messageId: string, topic: string, shard: number, seq: number, body?: string) {
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: body ?? JSON.stringify({ topic, shard, fromSeq: seq, toSeq: seq }),
    attributes: { MessageGroupId: `${topic}#${shard}`, MessageDeduplicationId: messageId, ApproximateReceiveCount: '1' },
    messageAttributes: {},
    md5OfBody: 'x',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:jobs.fifo',
    awsRegion: 'eu-west-1',
  };
}

afterEach(() => {
  delivered.length = 0;
  failing.clear();
  vi.restoreAllMocks();
});

describe('the fan-out worker', () => {
  it('delivers every job of a batch in order and reports no failure', async () => {
    const batch = [record('m1', 'feed:a', 0, 1), record('m2', 'feed:a', 1, 1), record('m3', 'feed:a', 0, 2)];
    expect(await handler({ Records: batch }, context)).toEqual({ batchItemFailures: [] });
    expect(delivered.map((j) => [j.shard, j.fromSeq])).toEqual([
      [0, 1],
      [1, 1],
      [0, 2],
    ]);
  });

  it("skips the rest of a failed job's group, reporting it, and goes on with the other groups", async () => {
    failing.add('feed:a#0#2');
    const batch = [
      record('a1', 'feed:a', 0, 1),
      record('b1', 'feed:a', 1, 1),
      record('a2', 'feed:a', 0, 2), // fails
      record('b2', 'feed:a', 1, 2),
      record('a3', 'feed:a', 0, 3), // same group after the failure: not delivered, reported
      record('c1', 'feed:c', 0, 1),
      record('a4', 'feed:a', 0, 4), // likewise
    ];
    expect(await handler({ Records: batch }, context)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'a2' }, { itemIdentifier: 'a3' }, { itemIdentifier: 'a4' }],
    });
    expect(delivered.map((j) => `${j.topic}#${j.shard}:${j.fromSeq}`)).toEqual(['feed:a#0:1', 'feed:a#1:1', 'feed:a#1:2', 'feed:c#0:1']);
  });

  it("forgets a batch's failed groups before the next batch: the redelivered jobs go through", async () => {
    failing.add('feed:a#0#1');
    expect(await handler({ Records: [record('a1', 'feed:a', 0, 1), record('a2', 'feed:a', 0, 2)] }, context)).toEqual({
      batchItemFailures: [{ itemIdentifier: 'a1' }, { itemIdentifier: 'a2' }],
    });
    failing.clear();
    expect(await handler({ Records: [record('a1', 'feed:a', 0, 1), record('a2', 'feed:a', 0, 2)] }, context)).toEqual({
      batchItemFailures: [],
    });
    expect(delivered.map((j) => j.fromSeq)).toEqual([1, 2]);
  });

  it('drops a job that does not parse, counting it, without holding up its group', async () => {
    const counted = vi.spyOn(metrics, 'addMetric');
    const batch = [record('bad', 'feed:a', 0, 1, '{"topic":"feed:a"}'), record('good', 'feed:a', 0, 2)];
    expect(await handler({ Records: batch }, context)).toEqual({ batchItemFailures: [] });
    expect(delivered.map((j) => j.fromSeq)).toEqual([2]);
    expect(counted.mock.calls.filter(([name]) => name === 'JobDropped')).toHaveLength(1);
  });

  it('answers a batch that failed whole with every record, rather than failing the invocation', async () => {
    failing.add('feed:a#0#1');
    const batch = [record('m1', 'feed:a', 0, 1), record('m2', 'feed:a', 0, 2)];
    expect(await handler({ Records: batch }, context)).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
    expect(delivered).toEqual([]);
  });

  it('fails the invocation when the event is not an SQS batch', async () => {
    await expect(handler({ nope: true }, context)).rejects.toThrow();
  });
});
