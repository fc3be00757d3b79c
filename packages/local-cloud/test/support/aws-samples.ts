/**
 * Sample events from AWS's documentation, shared by the tests that check the local cloud against
 * the documented examples.
 */

/**
 * The EC2 "Instance State-change Notification" of the EventBridge User Guide's examples (event
 * patterns, input transformation), with the `detail` a test needs.
 */
export function ec2StateChange<D extends Record<string, unknown>>(detail: D) {
  return {
    version: '0',
    id: '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2015-11-11T21:29:54Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
    detail,
  };
}
