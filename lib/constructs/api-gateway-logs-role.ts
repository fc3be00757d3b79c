/**
 * ApiGatewayLogsRole: API Gateway's account-level CloudWatch Logs role, the "CloudWatch log role
 * ARN" of the console's Settings page (`AWS::ApiGateway::Account` naming a role that API Gateway
 * assumes, with the AWS managed policy `AmazonAPIGatewayPushToCloudWatchLogs`). A WebSocket stage
 * cannot write access logs without it, so in an account and region that never had it the stage
 * fails to create. HTTP APIs log without it (they use a service-linked role).
 *
 * The setting is one per account and region, shared by every API Gateway API there, so the app
 * creates it only when asked (`-c apiGatewayCloudWatchRole=true`, see lib/app.ts and
 * docs/decisions.md #17): created by every stage, each deploy would repoint the setting at its own
 * role. Both resources are retained when they leave the stack, as aws-apigateway's `RestApi` does
 * with its own role: CloudFormation does not reset the setting on delete, so a deleted role would
 * leave it naming a role that no longer exists and break the access logs of every API in the
 * region. Retained, the flag can be dropped after the first deploy.
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

const MANAGED_POLICY = 'service-role/AmazonAPIGatewayPushToCloudWatchLogs';

export class ApiGatewayLogsRole extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);

    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway account setting: writes the access logs of API Gateway stages in this region',
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName(MANAGED_POLICY)],
    });
    role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${MANAGED_POLICY}]`,
      reason:
        "API Gateway's documented policy for its account-level logging role. The role serves every API " +
        'in the account and region, whose log groups are not known here, so a policy scoped to our log ' +
        "groups would break other APIs' logs; AWS keeps this one in step with what API Gateway needs.",
    });

    const account = new CfnAccount(this, 'Account', { cloudWatchRoleArn: role.roleArn });
    account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
