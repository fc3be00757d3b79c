import { describe, expect, it } from 'vitest';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { STREAM_TRIGGERS } from '../../lambdas/shared/events/catalog';
import { DomainEvents } from '../../lib/constructs/domain-events';
import { streamFilters } from '../../lib/constructs/stream-filters';
import { resourcesOf, SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

// Nothing here looks at function code.
const { statefulTemplate: stateful, statelessTemplate: stateless } = synthApp({ stage: 'dev', context: SKIP_BUNDLING });

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };
/** The publisher function's properties that the tests read. */
type PublisherProperties = { Role: { 'Fn::GetAtt': [string, string] }; Environment: { Variables: Record<string, unknown> } };

const PUBLISHER = 'Domain-event publisher';
const busExport = { 'Fn::ImportValue': Match.stringLikeRegexp('DomainEventsBus') };
const dlqArnExport = { 'Fn::ImportValue': Match.stringLikeRegexp('DomainEventsPublisherDeadLetterQueue.*Arn') };

function publisher(): { id: string; properties: PublisherProperties } {
  const matches = resourcesOf(stateless, 'AWS::Lambda::Function').filter(([, fn]) =>
    String(fn.Properties?.Description).startsWith(PUBLISHER),
  );
  expect(matches).toHaveLength(1);
  return { id: matches[0]![0], properties: matches[0]![1].Properties! as PublisherProperties };
}

function publisherMapping(): { FilterCriteria: { Filters: unknown } } {
  const mappings = resourcesOf(stateless, 'AWS::Lambda::EventSourceMapping').filter(
    ([, m]) => JSON.stringify(m.Properties?.FunctionName) === JSON.stringify({ Ref: publisher().id }),
  );
  expect(mappings).toHaveLength(1);
  return mappings[0]![1].Properties! as { FilterCriteria: { Filters: unknown } };
}

function publisherStatements(): Statement[] {
  const roleId = publisher().properties.Role['Fn::GetAtt'][0];
  return resourcesOf(stateless, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap(([, p]) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement);
}

describe('DomainEventBus (stateful stack)', { timeout: SYNTH_TIMEOUT }, () => {
  it('creates one custom bus, archived for 30 days for replay of our own events', () => {
    stateful.resourceCountIs('AWS::Events::EventBus', 1);
    const [[busId]] = resourcesOf(stateful, 'AWS::Events::EventBus');
    stateful.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] },
      EventPattern: { source: ['realtime-platform'] },
      RetentionDays: 30,
    });
    stateful.hasOutput('EventBusName', { Value: { Ref: busId } });
  });

  it('keeps the dead-letter queue encrypted, SSL-only, for 14 days, with an alarm on its depth', () => {
    const [[queueId]] = resourcesOf(stateful, 'AWS::SQS::Queue').filter(([id]) => /DomainEventsPublisherDeadLetterQueue/.test(id));
    const queue = stateful.findResources('AWS::SQS::Queue')[queueId!];
    expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(queue.Properties).not.toHaveProperty('QueueName');
    stateful.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    stateful.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('DomainEvents (stateless stack)', { timeout: SYNTH_TIMEOUT }, () => {
  it('reads the domain table stream with partial batch responses, bisection and bounded retries', () => {
    expect(publisherMapping()).toMatchObject({
      EventSourceArn: { 'Fn::ImportValue': expect.stringMatching(/StorageDomainTable.*StreamArn/) },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 6 * 3600,
    });
  });

  it('sends what it gives up on to the dead-letter queue of the stateful stack', () => {
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: publisher().id },
      DestinationConfig: { OnFailure: { Destination: dlqArnExport } },
    });
    expect(publisherStatements()).toContainEqual(
      expect.objectContaining({
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Resource: expect.objectContaining({ 'Fn::ImportValue': expect.stringMatching(/DeadLetterQueue/) }),
      }),
    );
  });

  it('filters the stream with the patterns built from the catalog', () => {
    const patterns = (publisherMapping().FilterCriteria.Filters as { Pattern: string }[]).map((f) => JSON.parse(f.Pattern));
    expect(patterns).toEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { entity: { S: ['Payment', 'TopicEvent', 'User'] } } } },
      { eventName: ['MODIFY'], dynamodb: { NewImage: { entity: { S: ['Subscription'] } } } },
    ]);
  });

  it('may put events on the domain bus and nowhere else, and is told its name', () => {
    expect(publisher().properties.Environment.Variables.EVENT_BUS_NAME).toEqual({
      'Fn::ImportValue': expect.stringMatching(/DomainEventsBus/),
    });
    const events = publisherStatements().filter((s) => [s.Action].flat().some((a) => a.startsWith('events:')));
    expect(events).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: { 'Fn::ImportValue': expect.stringMatching(/DomainEventsBus.*Arn/) } },
    ]);
    stateless.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'events:PutEvents', Resource: busExport })]) },
    });
  });

  it('reads the stream, not the table, with only ListStreams on "*" (it has no resource-level permissions)', () => {
    const actions = publisherStatements().flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'].sort(),
    );
    const wildcard = publisherStatements().filter((s) => s.Resource === '*');
    expect(wildcard).toEqual([{ Action: 'dynamodb:ListStreams', Effect: 'Allow', Resource: '*' }]);
  });

  it('alarms when the publisher skips malformed records', () => {
    stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RealtimePlatform',
      MetricName: 'DomainEventRecordsMalformed',
      Dimensions: [{ Name: 'service', Value: 'domain-events' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(publisher().properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('domain-events');
  });

  it('refuses a table without a stream and a record age the stream cannot honour', () => {
    const stack = new Stack();
    const bus = new EventBus(stack, 'Bus');
    const deadLetterQueue = new Queue(stack, 'Dlq');
    const noStream = new Table(stack, 'T', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    expect(() => new DomainEvents(stack, 'A', { domainTable: noStream, bus, deadLetterQueue })).toThrow(/has no stream/);
    const withStream = Table.fromTableAttributes(stack, 'S', {
      tableName: 't',
      tableStreamArn: 'arn:aws:dynamodb:eu-west-1:1:table/t/stream/x',
    });
    expect(() => new DomainEvents(stack, 'B', { domainTable: withStream, bus, deadLetterQueue, maxRecordAge: Duration.hours(24) })).toThrow(
      /maxRecordAge/,
    );
    expect(() => new DomainEvents(stack, 'C', { domainTable: withStream, bus, deadLetterQueue, batchSize: 0 })).toThrow(/batchSize/);
  });
});

describe('streamFilters', () => {
  it('builds one filter per change type from the catalog triggers, on the image that change carries', () => {
    const patterns = (triggers: Parameters<typeof streamFilters>[0]) => streamFilters(triggers).map((f) => JSON.parse(String(f.pattern)));
    expect(patterns(STREAM_TRIGGERS)).toEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { entity: { S: ['Payment', 'TopicEvent', 'User'] } } } },
      { eventName: ['MODIFY'], dynamodb: { NewImage: { entity: { S: ['Subscription'] } } } },
    ]);
    // What later catalog entries would add: still at most three filters (Lambda allows five).
    expect(
      patterns([
        ...STREAM_TRIGGERS,
        { entity: 'Subscription', change: 'MODIFY' },
        { entity: 'Booking', change: 'MODIFY' },
        { entity: 'Content', change: 'INSERT' },
        { entity: 'Content', change: 'REMOVE' },
      ]),
    ).toEqual([
      { eventName: ['INSERT'], dynamodb: { NewImage: { entity: { S: ['Content', 'Payment', 'TopicEvent', 'User'] } } } },
      { eventName: ['MODIFY'], dynamodb: { NewImage: { entity: { S: ['Booking', 'Subscription'] } } } },
      { eventName: ['REMOVE'], dynamodb: { OldImage: { entity: { S: ['Content'] } } } },
    ]);
    expect(streamFilters([])).toEqual([]);
  });
});
