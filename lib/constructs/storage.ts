/**
 * Storage: the two DynamoDB tables (DESIGN.md section 2).
 *
 * - Domain table: single-table design for users, subscriptions, bookings, content. Its stream
 *   (NEW_AND_OLD_IMAGES) is the change feed that real-time delivery and domain events are built on.
 * - Realtime table: connections, subscription edges and the per-topic replay log; everything in it
 *   is short-lived and expires through TTL.
 *
 * Both use generic keys (`pk`/`sk`), so new access patterns need new key formats, not new tables.
 * Access patterns are key lookups or queries of one partition (subscribers of a topic are edge
 * items in the topic's partitions, read with strongly consistent queries, which a GSI cannot
 * give: docs/decisions.md #11), with two exceptions on the domain table, both sparse:
 * - the due index (`DUE_INDEX`, keys plus the job's fields): billing's daily reconciliation queries
 *   it for overdue subscriptions, one day of due times per partition (`DUE#<day>`, docs/billing.md),
 *   and the bookings expiry job for lapsed payment holds, one hour per partition (`HOLD#<hour>`,
 *   docs/bookings.md); neither prefix reads the other's items.
 * - the user bookings index (`USER_BOOKINGS_INDEX`: the user's `pk`, sorted by `bookingStart`,
 *   which only booking items carry; whole items): `GET /bookings/my` by start, which a reschedule
 *   changes, so the base table's sort key cannot hold it.
 * A feature that needs an index adds it here and grants it with `AppFunction.grantIndexQuery`. Plain `Table`
 * (AWS::DynamoDB::Table) rather than `TableV2` (a global table): there are no replicas to manage,
 * and it is the resource the local cloud maps onto DynamoDB Local.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, StreamViewType, Table, TableEncryption, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { DUE_INDEX } from '../../lambdas/shared/billing/dynamo-subscriptions';
import { USER_BOOKINGS_INDEX } from '../../lambdas/shared/bookings/dynamo-bookings';
import { retainOrDestroy } from './validate';

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

    const removalPolicy = retainOrDestroy(`Storage ${id}`, props.removalPolicy ?? RemovalPolicy.RETAIN);
    const domainTable = this.table('DomainTable', removalPolicy, StreamViewType.NEW_AND_OLD_IMAGES);
    domainTable.addGlobalSecondaryIndex({
      indexName: DUE_INDEX.name,
      partitionKey: { name: DUE_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: DUE_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...DUE_INDEX.include],
    });
    domainTable.addGlobalSecondaryIndex({
      indexName: USER_BOOKINGS_INDEX.name,
      partitionKey: { name: USER_BOOKINGS_INDEX.partitionKey, type: AttributeType.STRING },
      sortKey: { name: USER_BOOKINGS_INDEX.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.domainTable = domainTable;
    this.realtimeTable = this.table('RealtimeTable', removalPolicy);
  }

  private table(id: string, removalPolicy: RemovalPolicy, stream?: StreamViewType): Table {
    return new Table(this, id, {
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
  }
}
