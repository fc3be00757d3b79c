/**
 * cdk-nag v3 acknowledgments that depend on what a grant produced.
 *
 * cdk-nag reports each wildcard resource of a policy as its own finding,
 * `AwsSolutions-IAM5[Resource::<flattened ARN>]`, and v3 only honours an acknowledgment whose id
 * matches that finding exactly (no patterns). The flattened ARN contains logical ids, so instead of
 * copying it into the code by hand this renders it from the grant itself, the way cdk-nag does.
 * If the rendering ever disagrees with cdk-nag, the finding stays unacknowledged and synth fails:
 * the failure mode is loud, never a silent pass.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { Grant, IRole } from 'aws-cdk-lib/aws-iam';

/** Acknowledges every wildcard resource in `grant`'s statements on `role`, with `reason`. */
export function acknowledgeWildcardResources(role: IRole, grant: Grant, reason: string): void {
  const stack = Stack.of(role);
  for (const statement of grant.principalStatements) {
    for (const resource of statement.resources) {
      const flattened = flattenReference(stack.resolve(resource));
      if (flattened.includes('*')) {
        Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
      }
    }
  }
}

/**
 * Acknowledges the `<function ARN>:*` (its versions and aliases) of a `lambda:InvokeFunction`
 * that a construct granted on `role` without handing out the grant (Step Functions' LambdaInvoke).
 */
export function acknowledgeInvokeVersions(role: IRole, functionArn: string, reason: string): void {
  const flattened = `${flattenReference(Stack.of(role).resolve(functionArn))}:*`;
  Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flattened}]`, reason });
}

/** cdk-nag's rendering of a CloudFormation value: `<LogicalId>` for Ref, `<Id.Attr>` for GetAtt. */
function flattenReference(value: unknown): string {
  if (typeof value === 'string') {
    return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  }
  if (value !== null && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
      return items.map(flattenReference).join(delimiter);
    }
    if ('Fn::Sub' in node) return flattenReference(node['Fn::Sub']);
    if (Array.isArray(node['Fn::GetAtt'])) {
      const [resource, attribute] = node['Fn::GetAtt'] as unknown[];
      return `<${flattenReference(resource)}.${flattenReference(attribute)}>`;
    }
    if ('Fn::ImportValue' in node) return flattenReference(node['Fn::ImportValue']);
    if ('Ref' in node) return `<${flattenReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

/**
 * Acknowledges the `Resource::*` of `dynamodb:ListStreams` on a stream consumer's role.
 * `DynamoEventSource` grants it with the stream actions because it has no resource-level
 * permissions (IAM Service Authorization Reference) and Lambda checks it when it creates the
 * mapping; DescribeStream, GetShardIterator and GetRecords stay scoped to the stream's ARN.
 */
export function acknowledgeListStreams(role: IRole): void {
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'dynamodb:ListStreams, which DynamoEventSource grants with the stream actions: it has no resource-level ' +
      'permissions (IAM Service Authorization Reference), and Lambda checks for it when it creates a stream mapping. ' +
      "DescribeStream, GetShardIterator and GetRecords are granted on the domain table's stream ARN only.",
  });
}
