/**
 * Queue attributes: which exist, their defaults, valid values and the errors SQS gives for bad
 * ones (`InvalidAttributeName` for an unknown or inapplicable name, `InvalidAttributeValue` for a
 * bad value). Values are kept as SQS returns them: strings.
 */
import { sqsError } from './errors';

const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  VisibilityTimeout: [0, 43_200],
  KmsDataKeyReusePeriodSeconds: [60, 86_400],
};

const ENUMS: Record<string, readonly string[]> = {
  SqsManagedSseEnabled: ['true', 'false'],
  FifoQueue: ['true', 'false'],
  ContentBasedDeduplication: ['true', 'false'],
  DeduplicationScope: ['messageGroup', 'queue'],
  FifoThroughputLimit: ['perQueue', 'perMessageGroupId'],
};

/** Attributes only FIFO queues have. */
const FIFO_ONLY = new Set(['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit']);

/** Attributes a sender may set (CreateQueue, SetQueueAttributes). */
export const SETTABLE_ATTRIBUTES = new Set([
  ...Object.keys(INTEGER_RANGES),
  ...Object.keys(ENUMS),
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'KmsMasterKeyId',
]);

/** Attributes GetQueueAttributes knows (besides `All`). */
export const READABLE_ATTRIBUTES = new Set([
  ...SETTABLE_ATTRIBUTES,
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
  'QueueArn',
]);

export function defaultAttributes(fifo: boolean): Record<string, string> {
  return {
    VisibilityTimeout: '30',
    DelaySeconds: '0',
    MaximumMessageSize: '1048576',
    MessageRetentionPeriod: '345600',
    ReceiveMessageWaitTimeSeconds: '0',
    SqsManagedSseEnabled: 'true',
    ...(fifo
      ? { FifoQueue: 'true', ContentBasedDeduplication: 'false', DeduplicationScope: 'queue', FifoThroughputLimit: 'perQueue' }
      : {}),
  };
}

/**
 * Validates and normalises `input` for a queue of the given type. `creating` allows `FifoQueue`
 * (the type is fixed at creation). An empty `RedrivePolicy`/`RedriveAllowPolicy`/`Policy` removes it.
 */
export function validateQueueAttributes(input: unknown, fifo: boolean, creating: boolean): Record<string, string> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input))
    throw sqsError('InvalidParameterValue', 'Attributes must be a map of attribute names to values.');
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(input as Record<string, unknown>)) {
    if (!SETTABLE_ATTRIBUTES.has(name) || (FIFO_ONLY.has(name) && !fifo) || (name === 'FifoQueue' && !creating)) {
      throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
    const value = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    const invalid = (reason?: string) =>
      sqsError('InvalidAttributeValue', `Invalid value for the parameter ${name}.${reason ? ` Reason: ${reason}` : ''}`);
    if (value === undefined) throw invalid();
    const range = INTEGER_RANGES[name];
    if (range) {
      if (!/^\d+$/.test(value) || Number(value) < range[0] || Number(value) > range[1])
        throw invalid(`must be an integer from ${range[0]} to ${range[1]}.`);
      out[name] = String(Number(value));
      continue;
    }
    const allowed = ENUMS[name];
    if (allowed) {
      if (!allowed.includes(value)) throw invalid(`must be one of ${allowed.join(', ')}.`);
      out[name] = value;
      continue;
    }
    if (name === 'RedrivePolicy') {
      out[name] = value === '' ? '' : normaliseRedrivePolicy(value, invalid);
    } else if (name === 'RedriveAllowPolicy') {
      if (value !== '') {
        const parsed = parseJson(value, invalid) as { redrivePermission?: unknown; sourceQueueArns?: unknown };
        if (!['allowAll', 'denyAll', 'byQueue'].includes(String(parsed.redrivePermission)))
          throw invalid('redrivePermission must be allowAll, denyAll or byQueue.');
        if (
          parsed.redrivePermission === 'byQueue' &&
          (!Array.isArray(parsed.sourceQueueArns) || parsed.sourceQueueArns.length === 0 || parsed.sourceQueueArns.length > 10)
        ) {
          throw invalid('byQueue needs 1 to 10 sourceQueueArns.');
        }
      }
      out[name] = value;
    } else if (name === 'Policy') {
      if (value !== '') parseJson(value, invalid);
      out[name] = value;
    } else {
      out[name] = value; // KmsMasterKeyId
    }
  }
  if (creating && out.FifoQueue !== undefined && (out.FifoQueue === 'true') !== fifo) {
    throw sqsError(
      'InvalidParameterValue',
      fifo
        ? 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length'
        : 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.',
    );
  }
  return out;
}

function normaliseRedrivePolicy(value: string, invalid: (reason?: string) => Error): string {
  const parsed = parseJson(value, invalid) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
  if (typeof parsed.deadLetterTargetArn !== 'string' || !/^arn:[^:]+:sqs:[^:]*:[^:]*:[^:]+$/.test(parsed.deadLetterTargetArn)) {
    throw invalid('Invalid value for deadLetterTargetArn.');
  }
  const count = Number(parsed.maxReceiveCount);
  if (!Number.isInteger(count) || count < 1 || count > 1000)
    throw invalid('Invalid value for maxReceiveCount: must be an integer from 1 to 1000.');
  return JSON.stringify({ deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount: count });
}

function parseJson(value: string, invalid: (reason?: string) => Error): Record<string, unknown> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  throw invalid('not a valid JSON object.');
}
