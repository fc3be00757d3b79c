/**
 * The stateful stack: resources that hold data and outlive deployments of the code (DESIGN.md
 * section 2). Today the tables and the token-signing secret; later the queues and the event bus. Kept apart
 * so the stateless stack can be destroyed and recreated freely.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { SigningKey } from './constructs/signing-key';
import { Storage } from './constructs/storage';

export interface StatefulStackProps extends StackProps {
  /**
   * Whether the stage's data may be destroyed with the stack (dev-like stages). When false the
   * tables are retained and deletion-protected, and the stack is termination-protected.
   * @default false
   */
  readonly ephemeral?: boolean;
}

export class StatefulStack extends Stack {
  public readonly domainTable: ITable;
  public readonly realtimeTable: ITable;
  /** The token-signing key (JSON `{"key": ...}`). */
  public readonly signingSecret: ISecret;

  constructor(scope: Construct, id: string, { ephemeral = false, ...stackProps }: StatefulStackProps = {}) {
    super(scope, id, { terminationProtection: !ephemeral, ...stackProps });

    const storage = new Storage(this, 'Storage', {
      removalPolicy: ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.domainTable = storage.domainTable;
    this.realtimeTable = storage.realtimeTable;
    this.signingSecret = new SigningKey(this, 'SigningKey', {
      removalPolicy: ephemeral ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    }).secret;

    new CfnOutput(this, 'DomainTableName', { value: storage.domainTable.tableName });
    new CfnOutput(this, 'RealtimeTableName', { value: storage.realtimeTable.tableName });
  }
}
