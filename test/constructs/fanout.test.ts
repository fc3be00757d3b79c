import { describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { AppFunction } from '../../lib/constructs/app-function';
import { Fanout, type FanoutProps } from '../../lib/constructs/fanout';
import type { IConnectionsApi } from '../../lib/constructs/realtime-gateway';
import { SKIP_BUNDLING, SYNTH_TIMEOUT } from './support';

/** Fan-out's dependencies, with a stand-in gateway: Fanout needs only `bindConnectionsApi`. */
function fixture() {
  const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
  const table = (id: string, stream?: StreamViewType) =>
    new Table(stack, id, { partitionKey: { name: 'pk', type: AttributeType.STRING }, stream });
  const bound: string[] = [];
  const gateway: IConnectionsApi = {
    callbackUrl: 'https://example.execute-api.eu-west-1.amazonaws.com/test',
    bindConnectionsApi: (fn: AppFunction) => {
      fn.bindEnvironment('WEBSOCKET_CALLBACK_URL', gateway.callbackUrl);
      bound.push(fn.node.id);
    },
  };
  const props: FanoutProps = {
    domainTable: table('Domain', StreamViewType.NEW_AND_OLD_IMAGES),
    realtimeTable: table('Realtime'),
    gateway,
    jobQueue: new Queue(stack, 'Jobs', { fifo: true, visibilityTimeout: Duration.minutes(3) }),
    streamFailureQueue: new Queue(stack, 'Failures'),
  };
  return { stack, props, bound, table };
}

describe('Fanout props', { timeout: SYNTH_TIMEOUT }, () => {
  it('takes any gateway that binds the @connections API, and binds both functions to it', () => {
    const { stack, props, bound } = fixture();
    new Fanout(stack, 'Fanout', props);
    expect(bound).toEqual(['Stream', 'Worker']);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
  });

  it('refuses a table without a stream, a standard job queue, and limits the mappings cannot honour', () => {
    const { stack, props, table } = fixture();
    expect(() => new Fanout(stack, 'A', { ...props, domainTable: table('NoStream') })).toThrow(/has no stream/);
    expect(() => new Fanout(stack, 'B', { ...props, jobQueue: new Queue(stack, 'Standard') })).toThrow(/FIFO/);
    expect(() => new Fanout(stack, 'C', { ...props, maxRecordAge: Duration.hours(24) })).toThrow(/maxRecordAge/);
    expect(() => new Fanout(stack, 'D', { ...props, retryAttempts: -1 })).toThrow(/retryAttempts/);
    expect(() => new Fanout(stack, 'E', { ...props, workerConcurrency: 1 })).toThrow(
      /workerConcurrency must be an integer from 2 to 1000, got 1/,
    );
  });
});
