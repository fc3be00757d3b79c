import { describe, expect, it } from 'vitest';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Storage } from '../../lib/constructs/storage';
import { SKIP_BUNDLING, SYNTH_TIMEOUT, synthApp } from './support';

// Table settings do not depend on function code, so these apps skip bundling.
const dev = synthApp({ stage: 'dev', context: SKIP_BUNDLING });
const prod = synthApp({ stage: 'prod', context: SKIP_BUNDLING });

const commonTableProps = {
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' },
    { AttributeName: 'sk', KeyType: 'RANGE' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
  PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  // SSEEnabled without a key: the AWS managed key (aws/dynamodb), not a customer key.
  SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
  TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
};

describe('Storage', { timeout: SYNTH_TIMEOUT }, () => {
  it('creates exactly two tables, neither with a physical name', () => {
    dev.statefulTemplate.resourceCountIs('AWS::DynamoDB::Table', 2);
    for (const table of Object.values(dev.statefulTemplate.findResources('AWS::DynamoDB::Table'))) {
      expect(table.Properties).not.toHaveProperty('TableName');
    }
  });

  it('gives the domain table pk/sk keys, TTL, PITR, on-demand billing, a NEW_AND_OLD_IMAGES stream, the due index and the user bookings index', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      ...commonTableProps,
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      // Sparse, hour-bucketed, the few attributes a due job needs (docs/billing.md).
      GlobalSecondaryIndexes: [
        {
          IndexName: 'DueIndex',
          KeySchema: [
            { AttributeName: 'dueBucket', KeyType: 'HASH' },
            { AttributeName: 'dueSort', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['userId', 'id', 'dueAt'] },
        },
        // Sparse (only bookings carry bookingStart), whole items: a page of my bookings in one query.
        {
          IndexName: 'UserBookingsIndex',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'bookingStart', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
  });

  it('gives the realtime table the same keys, no index (every access is by key: docs/decisions.md #11), TTL, and no stream', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      ...commonTableProps,
      GlobalSecondaryIndexes: Match.absent(),
      StreamSpecification: Match.absent(),
    });
  });

  it('lets an ephemeral stage (dev) destroy its tables', () => {
    const tables = Object.values(dev.statefulTemplate.findResources('AWS::DynamoDB::Table'));
    expect(tables.map((t) => t.DeletionPolicy)).toEqual(['Delete', 'Delete']);
    expect(tables.map((t) => t.Properties.DeletionProtectionEnabled)).toEqual([false, false]);
  });

  it('retains and deletion-protects the tables of any other stage (prod)', () => {
    const tables = Object.values(prod.statefulTemplate.findResources('AWS::DynamoDB::Table'));
    expect(tables.map((t) => [t.DeletionPolicy, t.UpdateReplacePolicy])).toEqual([
      ['Retain', 'Retain'],
      ['Retain', 'Retain'],
    ]);
    expect(tables.map((t) => t.Properties.DeletionProtectionEnabled)).toEqual([true, true]);
    expect(prod.stateful.terminationProtection).toBe(true);
    expect(dev.stateful.terminationProtection).toBe(false);
  });

  it('outputs both table names', () => {
    dev.statefulTemplate.hasOutput('DomainTableName', { Value: { Ref: Match.stringLikeRegexp('DomainTable') } });
    dev.statefulTemplate.hasOutput('RealtimeTableName', { Value: { Ref: Match.stringLikeRegexp('RealtimeTable') } });
  });

  it('rejects a removal policy DynamoDB cannot honour', () => {
    const stack = new Stack();
    expect(() => new Storage(stack, 'Storage', { removalPolicy: RemovalPolicy.SNAPSHOT })).toThrow(
      /removalPolicy must be RETAIN or DESTROY/,
    );
  });

  it('defaults to retaining data', () => {
    const stack = new Stack();
    new Storage(stack, 'Storage');
    const tables = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table'));
    expect(tables.map((t) => t.DeletionPolicy)).toEqual(['Retain', 'Retain']);
  });
});
