/**
 * EventBridge / Lambda event-filtering pattern matcher, checked against the examples in
 * AWS's documentation: EventBridge User Guide ("Creating event patterns", "Arrays in event
 * patterns", "Matching null values and empty strings", "Content filtering" / "Comparison
 * operators"), the Event Ruler README (the engine behind EventBridge), and the Lambda
 * Developer Guide ("Lambda event filtering", "Using event filtering with a DynamoDB event
 * source"). Every case asserts a documented match and a non-match next to it.
 */
import { describe, it, expect } from 'vitest';
import { parsePattern, matchesPattern, PatternError } from '../src/events/pattern';
import { ec2StateChange } from './support/aws-samples';

/** A copy of `base` with `detail` fields replaced (keeps the documented event readable). */
function withDetail(base: Record<string, unknown>, detail: Record<string, unknown>): Record<string, unknown> {
  return { ...base, detail: { ...(base.detail as object), ...detail } };
}

function patternError(pattern: unknown): PatternError {
  try {
    parsePattern(pattern);
  } catch (e) {
    expect(e).toBeInstanceOf(PatternError);
    return e as PatternError;
  }
  throw new Error(`expected ${JSON.stringify(pattern)} to be rejected`);
}

// "Creating event patterns": the EC2 state-change event.
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

// Event Ruler README "Ruler by Example" event, used by the content-filtering examples.
const rulerEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: {
    'c-count': 5,
    'd-count': 3,
    'x-limit': 301.8,
    'source-ip': '10.0.0.33',
    'instance-id': 'i-000000aaaaaa00000',
    state: 'running',
  },
};

// "Matching null values and empty strings": the Auto Scaling launch event.
const autoscalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

describe('event patterns: fields, values and structure', () => {
  it('matches the documented EC2 instance-termination pattern, and not another state', () => {
    const p = parsePattern({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Instance State-change Notification'],
      detail: { state: ['terminated'] },
    });
    expect(p.matches(ec2Event)).toBe(true);
    expect(p.matches(withDetail(ec2Event, { state: 'running' }))).toBe(false);
  });

  it('ORs the values of one field: source is aws.ec2 or aws.fargate', () => {
    const p = parsePattern({ source: ['aws.ec2', 'aws.fargate'] });
    expect(p.matches({ ...ec2Event, source: 'aws.fargate' })).toBe(true);
    expect(p.matches(ec2Event)).toBe(true);
    expect(p.matches({ ...ec2Event, source: 'aws.lambda' })).toBe(false);
  });

  it('ANDs fields: every field named in the pattern must match', () => {
    const p = parsePattern({ Location: ['New York'], Day: ['Monday'] });
    expect(p.matches({ Location: 'New York', Day: 'Monday' })).toBe(true);
    expect(p.matches({ Location: 'New York', Day: 'Tuesday' })).toBe(false);
  });

  it('requires every pattern field to be present, with the same nesting', () => {
    const p = parsePattern({ detail: { state: ['terminated'] } });
    expect(p.matches(ec2Event)).toBe(true);
    // Same name, wrong level: the field is top-level, not inside detail.
    expect(p.matches({ state: 'terminated', detail: {} })).toBe(false);
    expect(p.matches({ source: 'aws.ec2' })).toBe(false);
  });

  it('matches strings character by character, without case folding', () => {
    const p = parsePattern({ detail: { state: ['terminated'] } });
    expect(p.matches(withDetail(ec2Event, { state: 'Terminated' }))).toBe(false);
    expect(p.matches(withDetail(ec2Event, { state: 'terminated ' }))).toBe(false);
  });

  it('matches the Macie alert on risk-score 80 and nested trigger risk 8', () => {
    const macie = {
      version: '0',
      'detail-type': 'Macie Alert',
      source: 'aws.macie',
      detail: {
        'notification-type': 'ALERT_CREATED',
        tags: ['Custom_Alert', 'Insider'],
        'risk-score': 80,
        trigger: { 'alert-type': 'basic', risk: 8 },
      },
    };
    const p = parsePattern({
      source: ['aws.macie'],
      'detail-type': ['Macie Alert'],
      detail: { 'risk-score': [80], trigger: { risk: [8] } },
    });
    expect(p.matches(macie)).toBe(true);
    expect(p.matches(withDetail(macie, { trigger: { risk: 7 } }))).toBe(false);
  });

  it('keeps types apart: a number never equals its string, nor true the string "true"', () => {
    expect(matchesPattern({ a: [1, 2] }, { a: 2 })).toBe(true); // Lambda console example
    expect(matchesPattern({ a: [1, 2] }, { a: 3 })).toBe(false);
    expect(matchesPattern({ a: [1, 2] }, { a: '1' })).toBe(false);
    expect(matchesPattern({ flag: [true] }, { flag: true })).toBe(true);
    expect(matchesPattern({ flag: [true] }, { flag: 'true' })).toBe(false);
  });

  it('compares numbers by value once the event JSON is parsed (300 = 300.0 = 3.0e2)', () => {
    const p = parsePattern('{ "x-limit": [300] }');
    expect(p.matches('{ "x-limit": 300.0 }')).toBe(true);
    expect(p.matches('{ "x-limit": 3.0e2 }')).toBe(true);
    expect(p.matches('{ "x-limit": 300.5 }')).toBe(false);
  });
});

describe('null values and empty strings', () => {
  it('matches an empty string with [""], but not null', () => {
    expect(matchesPattern({ detail: { eventVersion: [''] } }, autoscalingEvent)).toBe(true);
    expect(matchesPattern({ detail: { responseElements: [''] } }, autoscalingEvent)).toBe(false);
  });

  it('matches null with [null], but not an empty string', () => {
    expect(
      matchesPattern(
        {
          source: ['aws.autoscaling'],
          'detail-type': ['EC2 Instance Launch Successful'],
          detail: { responseElements: [null] },
        },
        autoscalingEvent,
      ),
    ).toBe(true);
    expect(matchesPattern({ detail: { eventVersion: [null] } }, autoscalingEvent)).toBe(false);
  });
});

describe('arrays', () => {
  it('matches when the pattern array and the event array intersect (resources example)', () => {
    const p = parsePattern({
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    });
    expect(
      p.matches({
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      }),
    ).toBe(true);
    expect(p.matches({ resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] })).toBe(false);
    expect(p.matches({ resources: [] })).toBe(false);
  });

  const employees = {
    employees: [
      { firstName: 'John', lastName: 'Doe' },
      { firstName: 'Anna', lastName: 'Smith' },
      { firstName: 'Peter', lastName: 'Jones' },
    ],
  };

  it('crushes arrays of objects: a field inside any element matches (Ruler README)', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'] } }, employees)).toBe(true);
    expect(matchesPattern({ employees: { firstName: ['Mary'] } }, employees)).toBe(false);
  });

  it('never combines fields from different elements of one array (Anna/Jones does not match)', () => {
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, employees)).toBe(false);
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Smith'] } }, employees)).toBe(true);
  });

  it('crushes multi-level arrays too', () => {
    const nested = {
      employees: [
        [
          { firstName: 'John', lastName: 'Doe' },
          { firstName: 'Anna', lastName: 'Smith' },
        ],
        [{ firstName: 'Peter', lastName: 'Jones' }],
      ],
    };
    expect(matchesPattern({ employees: { firstName: ['Peter'] } }, nested)).toBe(true);
    expect(matchesPattern({ employees: { firstName: ['Anna'], lastName: ['Jones'] } }, nested)).toBe(false);
  });
});

describe('prefix and suffix', () => {
  it('prefix: "time" starting with 2017-10-02', () => {
    const p = parsePattern({ time: [{ prefix: '2017-10-02' }] });
    expect(p.matches({ time: '2017-10-02T18:43:48Z' })).toBe(true);
    expect(p.matches({ time: '2017-10-03T18:43:48Z' })).toBe(false);
  });

  it('prefix only applies to strings', () => {
    const p = parsePattern({ code: [{ prefix: '12' }] });
    expect(p.matches({ code: '123' })).toBe(true);
    expect(p.matches({ code: 123 })).toBe(false);
  });

  it('prefix with equals-ignore-case: service starting with EventB in any casing', () => {
    const p = parsePattern({ detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } });
    expect(p.matches({ detail: { service: 'EVENTBRIDGE' } })).toBe(true);
    expect(p.matches({ detail: { service: 'eventbus' } })).toBe(true);
    expect(p.matches({ detail: { service: 'Events' } })).toBe(false);
  });

  it('suffix: FileName ending with .png', () => {
    const p = parsePattern({ FileName: [{ suffix: '.png' }] });
    expect(p.matches({ FileName: 'photo.png' })).toBe(true);
    expect(p.matches({ FileName: 'photo.PNG' })).toBe(false);
    expect(p.matches({ FileName: 'photo.png.jpg' })).toBe(false);
  });

  it('suffix with equals-ignore-case: .png or .PNG', () => {
    const p = parsePattern({ detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } });
    expect(p.matches({ detail: { FileName: 'photo.PNG' } })).toBe(true);
    expect(p.matches({ detail: { FileName: 'photo.jpg' } })).toBe(false);
  });
});

describe('equals-ignore-case and wildcard', () => {
  it('equals-ignore-case: Name is "alice" in any casing', () => {
    const p = parsePattern({ Name: [{ 'equals-ignore-case': 'alice' }] });
    expect(p.matches({ Name: 'ALICE' })).toBe(true);
    expect(p.matches({ Name: 'Alice' })).toBe(true);
    expect(p.matches({ Name: 'Alicia' })).toBe(false);
  });

  it('wildcard: any .png file within the folder "dir"', () => {
    const p = parsePattern({ FileName: [{ wildcard: 'dir/*.png' }] });
    expect(p.matches({ FileName: 'dir/photo.png' })).toBe(true);
    expect(p.matches({ FileName: 'dir/sub/photo.png' })).toBe(true);
    expect(p.matches({ FileName: 'other/photo.png' })).toBe(false);
    expect(p.matches({ FileName: 'dir/photo.jpg' })).toBe(false);
  });

  it('wildcard with several stars, and an escaped literal asterisk', () => {
    const p = parsePattern({ source: [{ wildcard: 'Simple*Service' }] });
    expect(p.matches({ source: 'SimpleNotificationService' })).toBe(true);
    expect(p.matches({ source: 'SimpleService' })).toBe(true);
    expect(p.matches({ source: 'Simple Queue' })).toBe(false);
    const multi = parsePattern({ key: [{ wildcard: '*Title*' }] });
    expect(multi.matches({ key: 'The Title Page' })).toBe(true);
    expect(multi.matches({ key: 'The Heading' })).toBe(false);
    const escaped = parsePattern({ key: [{ wildcard: 'a\\*b*' }] });
    expect(escaped.matches({ key: 'a*bc' })).toBe(true);
    expect(escaped.matches({ key: 'axbc' })).toBe(false);
  });
});

describe('anything-but', () => {
  it('single string: state is anything but initializing', () => {
    const p = parsePattern({ detail: { state: [{ 'anything-but': 'initializing' }] } });
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { state: 'initializing' }))).toBe(false);
  });

  it('single number: x-limit is anything but 123', () => {
    const p = parsePattern({ detail: { 'x-limit': [{ 'anything-but': 123 }] } });
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { 'x-limit': 123 }))).toBe(false);
  });

  it('list of strings: neither stopped nor overloaded', () => {
    const p = parsePattern({ detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } });
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { state: 'overloaded' }))).toBe(false);
  });

  it('list of numbers: none of 100, 200, 300', () => {
    const p = parsePattern({ detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } });
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { 'x-limit': 200 }))).toBe(false);
  });

  it('prefix: state not starting with "init"', () => {
    const p = parsePattern({ detail: { state: [{ 'anything-but': { prefix: 'init' } }] } });
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { state: 'initializing' }))).toBe(false);
  });

  it('suffix: FileName not ending with .png', () => {
    const p = parsePattern({ FileName: [{ 'anything-but': { suffix: '.png' } }] });
    expect(p.matches({ FileName: 'notes.txt' })).toBe(true);
    expect(p.matches({ FileName: 'photo.png' })).toBe(false);
  });

  it('equals-ignore-case: anything but initializing in any casing', () => {
    const p = parsePattern({ state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] });
    expect(p.matches({ state: 'running' })).toBe(true);
    expect(p.matches({ state: 'INITIALIZING' })).toBe(false);
  });

  it('wildcard: FilePath that does not include /lib/', () => {
    const p = parsePattern({ FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] });
    expect(p.matches({ FilePath: '/usr/bin/tool' })).toBe(true);
    expect(p.matches({ FilePath: '/usr/lib/tool' })).toBe(false);
  });

  it('needs the field to be present', () => {
    const p = parsePattern({ detail: { state: [{ 'anything-but': 'initializing' }] } });
    expect(p.matches({ detail: {} })).toBe(false);
    expect(p.matches({ detail: { state: 'pending' } })).toBe(true);
  });

  it('on an event array, matches when some element is not excluded', () => {
    // The same engine semantics AWS documents for SNS: [100, 50] contains a value that isn't 100 or 500.
    const p = parsePattern({ price: [{ 'anything-but': [100, 500] }] });
    expect(p.matches({ price: [100, 50] })).toBe(true);
    expect(p.matches({ price: [100, 500] })).toBe(false);
  });
});

describe('numeric', () => {
  const numericPattern = {
    detail: {
      'c-count': [{ numeric: ['>', 0, '<=', 5] }],
      'd-count': [{ numeric: ['<', 10] }],
      'x-limit': [{ numeric: ['=', 3.018e2] }],
    },
  };

  it('matches the documented c-count / d-count / x-limit pattern only when all hold', () => {
    const p = parsePattern(numericPattern);
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { 'c-count': 0 }))).toBe(false);
    expect(p.matches(withDetail(rulerEvent, { 'c-count': 6 }))).toBe(false);
    expect(p.matches(withDetail(rulerEvent, { 'd-count': 10 }))).toBe(false);
    expect(p.matches(withDetail(rulerEvent, { 'x-limit': 301.9 }))).toBe(false);
  });

  it('only matches JSON numbers, not numeric strings', () => {
    const p = parsePattern(numericPattern);
    expect(p.matches(withDetail(rulerEvent, { 'x-limit': '301.8' }))).toBe(false);
  });

  it('honours open and closed bounds: Price more than 10 and at most 20', () => {
    const p = parsePattern({ Price: [{ numeric: ['>', 10, '<=', 20] }] });
    expect(p.matches({ Price: 20 })).toBe(true);
    expect(p.matches({ Price: 10.5 })).toBe(true);
    expect(p.matches({ Price: 10 })).toBe(false);
    expect(p.matches({ Price: 20.01 })).toBe(false);
    const closed = parsePattern({ Price: [{ numeric: ['>=', 10, '<', 20] }] });
    expect(closed.matches({ Price: 10 })).toBe(true);
    expect(closed.matches({ Price: 20 })).toBe(false);
  });

  it('event numbers beyond the engine range (+/-5e9) never satisfy a numeric operator', () => {
    const p = parsePattern({ n: [{ numeric: ['>', 0] }] });
    expect(p.matches({ n: 5e9 })).toBe(true);
    expect(p.matches({ n: 6e9 })).toBe(false);
  });
});

describe('cidr', () => {
  it('matches IPv4 addresses inside 10.0.0.0/24', () => {
    const p = parsePattern({ detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } });
    expect(p.matches(rulerEvent)).toBe(true); // 10.0.0.33
    expect(p.matches(withDetail(rulerEvent, { 'source-ip': '10.0.0.255' }))).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { 'source-ip': '10.0.1.0' }))).toBe(false);
    expect(p.matches(withDetail(rulerEvent, { 'source-ip': 'not-an-ip' }))).toBe(false);
  });

  it('works for IPv6 addresses', () => {
    const p = parsePattern({ ip: [{ cidr: '2001:db8::/32' }] });
    expect(p.matches({ ip: '2001:db8:0:0:1::ff' })).toBe(true);
    expect(p.matches({ ip: '2001:db9::1' })).toBe(false);
    expect(p.matches({ ip: '10.0.0.1' })).toBe(false);
  });
});

describe('exists', () => {
  it('exists true matches the event with detail.state, not the one without', () => {
    const p = parsePattern({ detail: { state: [{ exists: true }] } });
    expect(p.matches(ec2StateChange({ 'instance-id': 'i-abcd1111', state: 'pending' }))).toBe(true);
    expect(
      p.matches({
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
        detail: { 'c-count': { c1: 100 } },
      }),
    ).toBe(false);
  });

  it('exists false matches a missing field, and a non-leaf field, but not a present leaf', () => {
    const p = parsePattern({ detail: { 'c-count': [{ exists: false }] } });
    const base = {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
      detail: { state: ['initializing', 'running'] },
    };
    expect(p.matches(base)).toBe(true);
    // "also matches ... because c-count isn't a leaf node"
    expect(p.matches(withDetail(base, { 'c-count': { c1: 100 } }))).toBe(true);
    expect(p.matches(withDetail(base, { 'c-count': 5 }))).toBe(false);
    // The whole parent object being absent also means the field does not exist.
    expect(p.matches({ source: 'aws.ec2' })).toBe(true);
  });

  it('a null value exists (it is a JSON value), an empty array holds no value', () => {
    const exists = parsePattern({ x: [{ exists: true }] });
    const absent = parsePattern({ x: [{ exists: false }] });
    expect(exists.matches({ x: null })).toBe(true);
    expect(absent.matches({ x: null })).toBe(false);
    expect(exists.matches({ x: [] })).toBe(false);
    expect(absent.matches({ x: [] })).toBe(true);
  });
});

describe('$or', () => {
  it('Location is "New York", or Day is "Monday"', () => {
    const p = parsePattern({ $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] });
    expect(p.matches({ Location: 'Boston', Day: 'Monday' })).toBe(true);
    expect(p.matches({ Location: 'New York', Day: 'Friday' })).toBe(true);
    expect(p.matches({ Location: 'Boston', Day: 'Friday' })).toBe(false);
  });

  it('is ANDed with sibling fields: source && (metricName || namespace)', () => {
    const p = parsePattern({
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
    });
    expect(p.matches({ source: 'aws.cloudwatch', namespace: 'AWS/ES' })).toBe(true);
    expect(p.matches({ source: 'aws.ec2', namespace: 'AWS/ES' })).toBe(false);
    expect(p.matches({ source: 'aws.cloudwatch', metricName: 'WriteLatency' })).toBe(false);
  });

  it('nests, and works inside an object level (detail.$or)', () => {
    const p = parsePattern({
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        {
          metricType: ['MetricType'],
          namespace: ['AWS/EC2', 'AWS/ES'],
          $or: [{ metricId: [1234] }, { spaceId: [1000] }],
        },
        { scope: ['Service'] },
      ],
      detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
    });
    const event = {
      source: 'aws.cloudwatch',
      metricType: 'MetricType',
      namespace: 'AWS/EC2',
      spaceId: 1000,
      detail: { 'detail-type': 'CloudWatch Alarm State Change' },
    };
    expect(p.matches(event)).toBe(true);
    expect(p.matches({ ...event, spaceId: 999 })).toBe(false);
    expect(p.matches({ ...event, detail: { 'detail-type': 'Other' } })).toBe(false);
  });
});

describe('complex patterns and repeated keys', () => {
  it('combines prefix, anything-but and numeric (documented complex example)', () => {
    const p = parsePattern({
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    });
    expect(p.matches(rulerEvent)).toBe(true);
    expect(p.matches(withDetail(rulerEvent, { 'x-limit': 300 }))).toBe(false);
    expect(p.matches({ ...rulerEvent, time: '2017-10-03T00:00:00Z' })).toBe(false);
  });

  it('a key repeated in the pattern text keeps its last value ("location" note)', () => {
    const p = parsePattern(`{
      "detail": {
        "location": [ { "prefix": "us-" } ],
        "location": [ { "anything-but": "us-east" } ]
      }
    }`);
    expect(p.matches({ detail: { location: 'eu-west' } })).toBe(true); // the prefix is not applied
    expect(p.matches({ detail: { location: 'us-east' } })).toBe(false);
  });
});

describe('Lambda event filtering', () => {
  it('Kinesis: partitionKey "1" and data.Location "Los Angeles"', () => {
    const p = parsePattern('{ "partitionKey": [ "1" ], "data": { "Location": [ "Los Angeles" ] }}');
    const record = { partitionKey: '1', sequenceNumber: '4959', data: { Location: 'Los Angeles' } };
    expect(p.matches(record)).toBe(true);
    expect(p.matches({ ...record, partitionKey: '2' })).toBe(false);
  });

  it('Temperature greater than 50 and at most 60', () => {
    const p = parsePattern({ data: { Temperature: [{ numeric: ['>', 50, '<=', 60] }] } });
    expect(p.matches({ data: { City: 'Seattle', Temperature: 55 } })).toBe(true);
    expect(p.matches({ data: { City: 'Seattle', Temperature: 46 } })).toBe(false);
  });

  it('multi-level: DynamoDB Keys.Id.N is "101" (numbers arrive as strings in stream records)', () => {
    const p = parsePattern({ dynamodb: { Keys: { Id: { N: ['101'] } } } });
    const record = {
      dynamodb: {
        Keys: { Id: { N: '101' } },
        NewImage: { Message: { S: 'New item!' }, Id: { N: '101' } },
        SequenceNumber: '111',
        SizeBytes: 26,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    expect(p.matches(record)).toBe(true);
    expect(p.matches({ dynamodb: { ...record.dynamodb, Keys: { Id: { N: '102' } } } })).toBe(false);
  });

  const ddbRecord = {
    eventID: '1',
    eventVersion: '1.0',
    dynamodb: {
      ApproximateCreationDateTime: '1678831218.0',
      Keys: { CustomerName: { S: 'AnyCompany Industries' } },
      NewImage: {
        AccountManager: { S: 'Pat Candella' },
        PaymentTerms: { S: '60 days' },
        CustomerName: { S: 'AnyCompany Industries' },
      },
      SequenceNumber: '111',
      SizeBytes: 26,
      StreamViewType: 'NEW_IMAGE',
    },
  };

  it('DynamoDB: filter on the table key CustomerName', () => {
    expect(matchesPattern('{ "dynamodb" : { "Keys" : { "CustomerName" : { "S" : [ "AnyCompany Industries" ] } } } }', ddbRecord)).toBe(
      true,
    );
    expect(matchesPattern({ dynamodb: { Keys: { CustomerName: { S: ['Example Corp'] } } } }, ddbRecord)).toBe(false);
  });

  it('DynamoDB: NewImage AccountManager is Pat Candella or Shirley Rodriguez', () => {
    const p = parsePattern({ dynamodb: { NewImage: { AccountManager: { S: ['Pat Candella', 'Shirley Rodriguez'] } } } });
    expect(p.matches(ddbRecord)).toBe(true);
    expect(
      p.matches({
        dynamodb: { ...ddbRecord.dynamodb, NewImage: { AccountManager: { S: 'Terry Whitlock' } } },
      }),
    ).toBe(false);
  });

  it('DynamoDB Boolean AND written with the "dynamodb" key twice requires both images', () => {
    const p = parsePattern(
      '{ "dynamodb" : { "NewImage" : { "AccountManager" : { "S" : [ "Pat Candella" ] } } } , ' +
        '"dynamodb" : { "OldImage" : { "AccountManager" : { "S" : [ "Terry Whitlock" ] } } } }',
    );
    const modify = {
      dynamodb: { ...ddbRecord.dynamodb, OldImage: { AccountManager: { S: 'Terry Whitlock' } } },
    };
    expect(p.matches(modify)).toBe(true);
    expect(p.matches(ddbRecord)).toBe(false); // no OldImage
    expect(
      p.matches({
        dynamodb: { ...modify.dynamodb, NewImage: { AccountManager: { S: 'Shirley Rodriguez' } } },
      }),
    ).toBe(false);
  });

  it('DynamoDB Exists: an intermediate node never matches, the leaf path does', () => {
    const record = {
      dynamodb: {
        NewImage: {
          UserID: { S: '12345' },
          Name: { S: 'John Doe' },
          Organizations: { L: [{ S: 'Sales' }, { S: 'Marketing' }, { S: 'Support' }] },
        },
      },
    };
    expect(matchesPattern({ dynamodb: { NewImage: { Organizations: [{ exists: true }] } } }, record)).toBe(false);
    const leaf = parsePattern({ dynamodb: { NewImage: { Organizations: { L: { S: [{ exists: true }] } } } } });
    expect(leaf.matches(record)).toBe(true);
    expect(leaf.matches({ dynamodb: { NewImage: { UserID: { S: '12345' } } } })).toBe(false);
  });

  it('DynamoDB stream record for a comment item, given as JSON text', () => {
    const p = parsePattern('{"dynamodb": {"NewImage": {"type": {"S": ["comment"]}}}}');
    const insert = {
      eventName: 'INSERT',
      dynamodb: {
        Keys: { pk: { S: 'POST#1' }, sk: { S: 'COMMENT#7' } },
        NewImage: { pk: { S: 'POST#1' }, sk: { S: 'COMMENT#7' }, type: { S: 'comment' }, likes: { N: '3' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    expect(p.matches(insert)).toBe(true);
    expect(p.matches(JSON.stringify(insert))).toBe(true);
    expect(p.matches({ ...insert, dynamodb: { ...insert.dynamodb, NewImage: { type: { S: 'post' } } } })).toBe(false);
    // A REMOVE record has no NewImage at all.
    expect(p.matches({ eventName: 'REMOVE', dynamodb: { Keys: insert.dynamodb.Keys } })).toBe(false);
  });
});

describe('invalid patterns', () => {
  it('names the path when numeric has a dangling operator', () => {
    const e = patternError({ detail: { price: [{ numeric: ['>', 0, '<='] }] } });
    expect(e.message).toMatch(/^detail\.price: numeric needs pairs of operator and number/);
    expect(e.path).toBe('detail.price');
    expect(() => parsePattern({ detail: { price: [{ numeric: ['>', 0, '<=', 5] }] } })).not.toThrow();
  });

  it('rejects bad numeric operators, operands, ordering and bounds', () => {
    expect(patternError({ p: [{ numeric: ['==', 5] }] }).message).toMatch(/p: unknown numeric operator "=="/);
    expect(patternError({ p: [{ numeric: ['>', '5'] }] }).message).toMatch(/must be followed by a number/);
    expect(patternError({ p: [{ numeric: ['<', 10, '>', 0] }] }).message).toMatch(/lower bound .* followed by an upper bound/);
    expect(patternError({ p: [{ numeric: ['>', 10, '<', 5] }] }).message).toMatch(/range is empty/);
    expect(patternError({ p: [{ numeric: ['>', 6e9] }] }).message).toMatch(/between -5e9 and 5e9/);
    expect(patternError({ p: [{ numeric: 5 }] }).message).toMatch(/numeric needs pairs/);
  });

  it('rejects a leaf that is not an array, or a non-object pattern', () => {
    expect(patternError({ source: 'aws.ec2' }).message).toMatch(/^source: must be an object or an array/);
    expect(patternError({ detail: { count: 5 } }).message).toMatch(/^detail\.count:/);
    expect(patternError(['aws.ec2']).message).toMatch(/must be a JSON object/);
    expect(patternError('"aws.ec2"').message).toMatch(/must be a JSON object/);
    expect(() => parsePattern({ source: ['aws.ec2'] })).not.toThrow();
  });

  it('rejects unknown operators and match expressions with more than one operator', () => {
    expect(patternError({ detail: { x: [{ foo: 1 }] } }).message).toMatch(/^detail\.x: unknown operator "foo"/);
    expect(patternError({ x: [{ prefix: 'a', suffix: 'b' }] }).message).toMatch(/exactly one operator, got 2/);
    expect(patternError({ x: [{}] }).message).toMatch(/empty match expression/);
  });

  it('rejects empty arrays, empty objects and nested arrays', () => {
    expect(patternError({ source: [] }).message).toMatch(/^source: empty arrays are not allowed/);
    expect(patternError({ detail: {} }).message).toMatch(/^detail: empty objects are not allowed/);
    expect(patternError({}).message).toMatch(/empty objects are not allowed/);
    expect(patternError({ x: [['a']] }).message).toMatch(/nested arrays/);
  });

  it('rejects non-string prefix, suffix, equals-ignore-case, wildcard and cidr arguments', () => {
    expect(patternError({ t: [{ prefix: 2017 }] }).message).toMatch(/^t: prefix needs a string/);
    expect(patternError({ t: [{ prefix: { 'anything-but': 'x' } }] }).message).toMatch(/prefix takes a string or \{"equals-ignore-case"/);
    expect(patternError({ t: [{ suffix: null }] }).message).toMatch(/suffix needs a string/);
    expect(patternError({ t: [{ 'equals-ignore-case': ['a'] }] }).message).toMatch(/equals-ignore-case needs a string/);
    expect(patternError({ t: [{ wildcard: 5 }] }).message).toMatch(/wildcard needs a string/);
    expect(patternError({ t: [{ cidr: 10 }] }).message).toMatch(/cidr needs a string/);
  });

  it('rejects malformed wildcards and CIDRs', () => {
    expect(patternError({ f: [{ wildcard: 'dir/**.png' }] }).message).toMatch(/consecutive wildcard characters/);
    expect(patternError({ f: [{ wildcard: 'a\\b' }] }).message).toMatch(/invalid escape/);
    expect(patternError({ ip: [{ cidr: '10.0.0.0' }] }).message).toMatch(/malformed cidr/);
    expect(patternError({ ip: [{ cidr: '10.0.0.0/33' }] }).message).toMatch(/prefix length/);
    expect(patternError({ ip: [{ cidr: '10.0.0.300/24' }] }).message).toMatch(/not an IPv4 or IPv6 address/);
  });

  it('rejects anything-but with mixed, empty, null or unsupported arguments', () => {
    expect(patternError({ s: [{ 'anything-but': ['a', 1] }] }).message).toMatch(/only strings or only numbers/);
    expect(patternError({ s: [{ 'anything-but': [] }] }).message).toMatch(/must not be empty/);
    expect(patternError({ s: [{ 'anything-but': null }] }).message).toMatch(/^s: anything-but takes/);
    expect(patternError({ s: [{ 'anything-but': { numeric: ['>', 1] } }] }).message).toMatch(/anything-but takes one of prefix/);
    expect(patternError({ s: [{ 'anything-but': { prefix: '' } }] }).message).toMatch(/must not be an empty string/);
  });

  it('rejects exists that is not a boolean', () => {
    expect(patternError({ s: [{ exists: 'true' }] }).message).toMatch(/^s: exists must be true or false/);
    expect(() => parsePattern({ s: [{ exists: false }] })).not.toThrow();
  });

  it('rejects a $or that is not a list of at least two pattern objects, or uses operators as fields', () => {
    expect(patternError({ $or: [{ a: ['x'] }] }).message).toMatch(/at least 2/);
    expect(patternError({ $or: { a: ['x'] } }).message).toMatch(/\$or must be an array/);
    expect(patternError({ $or: [{ a: ['x'] }, 'b'] }).message).toMatch(/^\$or\[1\]: each \$or branch must be a pattern object/);
    expect(patternError({ $or: [{ numeric: ['>', 1] }, { prefix: ['abc'] }] }).message).toMatch(
      /^\$or\[0\]\.numeric: "numeric" is an operator, not a field name/,
    );
  });

  it('rejects pattern text that is not valid JSON', () => {
    expect(patternError('{ "source": [ "aws.ec2" }').message).toMatch(/not valid JSON/);
    expect(patternError('{ "source": [ "aws.ec2" ] } x').message).toMatch(/not valid JSON/);
    expect(() => parsePattern('{ "source": [ "aws.ec2" ] }')).not.toThrow();
  });
});
