/**
 * Creates the template's DynamoDB tables in DynamoDB Local: keys, indexes, stream settings and
 * TTL, for both `AWS::DynamoDB::Table` and `AWS::DynamoDB::GlobalTable` (what CDK's TableV2
 * emits). Properties with no local meaning (encryption, PITR, tags) are listed as such; properties
 * that change behaviour and are not emulated are reported as unsupported.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { CloudModel, ModelResource } from '../model';

const NO_LOCAL_EFFECT = [
  'PointInTimeRecoverySpecification',
  'SSESpecification',
  'Tags',
  'TableClass',
  'DeletionProtectionEnabled',
  'ContributorInsightsSpecification',
  'Replicas',
  'ResourcePolicy',
  'WarmThroughput',
  'WriteOnDemandThroughputSettings',
  'WriteProvisionedThroughputSettings',
  'OnDemandThroughput',
  'ProvisionedThroughput',
];
const UNSUPPORTED = ['KinesisStreamSpecification', 'ImportSourceSpecification', 'GlobalTableWitnesses', 'MultiRegionConsistency'];

export interface LocalTable {
  readonly resource: ModelResource;
  readonly name: string;
  /** The stream ARN DynamoDB Local assigned, when the table has a stream. */
  readonly streamArn?: string;
  readonly ttlAttribute?: string;
}

export async function createTables(model: CloudModel, client: DynamoDBClient): Promise<LocalTable[]> {
  const tables: LocalTable[] = [];
  for (const resource of model.ofType('AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable')) {
    const props = model.properties(resource);
    for (const key of Object.keys(props)) {
      if (NO_LOCAL_EFFECT.includes(key)) model.diagnostics.ignored(`${resource.where}/${key}`, 'DynamoDB setting without local effect');
      if (UNSUPPORTED.includes(key)) model.diagnostics.unsupported(`${resource.where}/${key}`, `${key} is not emulated`);
    }
    const input = createTableInput(resource, props);
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      // A persisted database already has it: keep its data.
      if (!(error instanceof ResourceInUseException)) {
        throw new Error(`${resource.where}: CreateTable failed: ${(error as Error).message}`);
      }
    }
    const ttl = props.TimeToLiveSpecification as { Enabled?: boolean; AttributeName?: string } | undefined;
    if (ttl?.Enabled && ttl.AttributeName) {
      await client
        .send(
          new UpdateTimeToLiveCommand({
            TableName: resource.physicalId,
            TimeToLiveSpecification: { Enabled: true, AttributeName: ttl.AttributeName },
          }),
        )
        .catch((error: Error) => {
          // Re-enabling TTL on a persisted table is refused; anything else is real.
          if (!/TimeToLive is already enabled/i.test(error.message)) throw error;
        });
    }
    const described = await client.send(new DescribeTableCommand({ TableName: resource.physicalId }));
    tables.push({
      resource,
      name: resource.physicalId,
      streamArn: described.Table?.LatestStreamArn,
      ttlAttribute: ttl?.Enabled ? ttl.AttributeName : undefined,
    });
  }
  return tables;
}

function createTableInput(resource: ModelResource, props: Record<string, unknown>): CreateTableCommandInput {
  const billingMode = String(props.BillingMode ?? (resource.type === 'AWS::DynamoDB::GlobalTable' ? 'PAY_PER_REQUEST' : 'PROVISIONED'));
  const provisioned = billingMode === 'PROVISIONED';
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  const index = (i: Record<string, unknown>) => ({
    IndexName: i.IndexName as string,
    KeySchema: i.KeySchema as CreateTableCommandInput['KeySchema'],
    Projection: (i.Projection ?? { ProjectionType: 'ALL' }) as { ProjectionType: 'ALL' },
    ...(provisioned ? { ProvisionedThroughput: throughput } : {}),
  });
  const stream = props.StreamSpecification as { StreamViewType?: string; StreamEnabled?: boolean } | undefined;
  return {
    TableName: resource.physicalId,
    AttributeDefinitions: props.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: props.KeySchema as CreateTableCommandInput['KeySchema'],
    BillingMode: provisioned ? 'PROVISIONED' : 'PAY_PER_REQUEST',
    ...(provisioned ? { ProvisionedThroughput: throughput } : {}),
    GlobalSecondaryIndexes: (props.GlobalSecondaryIndexes as Record<string, unknown>[] | undefined)?.map(index),
    LocalSecondaryIndexes: (props.LocalSecondaryIndexes as Record<string, unknown>[] | undefined)?.map((i) => {
      const { ProvisionedThroughput: _ignored, ...rest } = index(i) as Record<string, unknown>;
      return rest as ReturnType<typeof index>;
    }),
    StreamSpecification: stream?.StreamViewType
      ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as 'NEW_AND_OLD_IMAGES' }
      : undefined,
  };
}
