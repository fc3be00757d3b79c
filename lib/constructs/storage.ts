/**
 * Storage: the two DynamoDB tables (DESIGN.md section 2).
 *
 * - Domain table: single-table design for users, subscriptions, bookings, content. Its stream
 *   (NEW_AND_OLD_IMAGES) is the change feed that real-time delivery and domain events are built on.
 * - Realtime table: connections, subscription edges and the per-topic replay log; everything in it
 *   is short-lived and expires through TTL.
 *
 * Both use generic keys (`pk`/`sk`, and `gsi1pk`/`gsi1sk` for the sparse index `gsi1`), so new
 * access patterns need new key formats, not new tables. Plain `Table` (AWS::DynamoDB::Table) rather
 * than `TableV2` (a global table): there are no replicas to manage, and it is the resource the
 * local cloud maps onto DynamoDB Local.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
  type ITable,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** Name of the generic global secondary index on both tables. */
export const GSI1 = 'gsi1';

/** The TTL attribute of both tables: epoch seconds after which DynamoDB may delete the item. */
export const TTL_ATTRIBUTE = 'expiresAt';

export interface StorageProps {
  /**
   * What happens to the tables when they leave the stack. Only `RETAIN` and `DESTROY` are allowed
   * (DynamoDB has no snapshot-on-delete). `RETAIN` also turns on deletion protection, so the data
   * survives a mistaken console or API delete as well.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class Storage extends Construct {
  /** Single-table domain data, with a NEW_AND_OLD_IMAGES stream (`tableStreamArn`). */
  public readonly domainTable: ITable;
  /** Connections, subscription edges and the topic replay log. */
  public readonly realtimeTable: ITable;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (removalPolicy !== RemovalPolicy.RETAIN && removalPolicy !== RemovalPolicy.DESTROY) {
      throw new Error(`Storage ${id}: removalPolicy must be RETAIN or DESTROY, got ${removalPolicy}`);
    }

    this.domainTable = this.table('DomainTable', removalPolicy, StreamViewType.NEW_AND_OLD_IMAGES);

    // gsi1 on the realtime table answers "which connections follow topic T" with a query instead of
    // a scan (DESIGN.md section 7): a subscription edge is stored under its connection
    // (pk conn#…, so $disconnect can find and remove it) and carries gsi1pk = topic#….
    // The realtime core issue fixes the exact key formats.
    this.realtimeTable = this.table('RealtimeTable', removalPolicy);
  }

  private table(id: string, removalPolicy: RemovalPolicy, stream?: StreamViewType): Table {
    const table = new Table(this, id, {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      stream,
      removalPolicy,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });
    // Sparse: only items that set gsi1pk appear in it. ALL projection so a query answers without
    // a second read per item; revisit if the index grows large.
    table.addGlobalSecondaryIndex({
      indexName: GSI1,
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    return table;
  }
}
