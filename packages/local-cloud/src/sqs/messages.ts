/**
 * Validation of what senders put into messages, with SQS's limits and error codes: the body's
 * character set and size, message attributes (names, data types, values, at most 10) and the one
 * settable system attribute (`AWSTraceHeader`), FIFO group and deduplication ids.
 */
import { isBinaryType, type AttributeValue } from './md5';
import { sqsError } from './errors';

export const MAX_MESSAGE_ATTRIBUTES = 10;
/** The largest total payload of a SendMessageBatch. */
export const MAX_BATCH_PAYLOAD_BYTES = 1_048_576;
export const MAX_DELAY_SECONDS = 900;

// biome-ignore lint/suspicious/noControlCharactersInRegex: SQS's allowed-character rule names control characters (#x9, #xA, #xD) on purpose
const INVALID_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const ALLOWED_CHARACTERS = '#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[A-Za-z0-9_.-]+)?$/;
const GROUP_OR_DEDUPLICATION_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Attributes as they arrive in a request: binary values are base64 text (JSON protocol) or bytes. */
export interface AttributeInput {
  readonly DataType?: unknown;
  readonly StringValue?: unknown;
  readonly BinaryValue?: unknown;
  readonly StringListValues?: unknown;
  readonly BinaryListValues?: unknown;
}

export function validateBody(body: unknown): string {
  if (body === undefined || body === null) throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  if (typeof body !== 'string')
    throw sqsError('InvalidParameterValue', 'Value for parameter MessageBody is invalid. Reason: must be a string.');
  if (body.length === 0)
    throw sqsError('InvalidParameterValue', 'Value for parameter MessageBody is invalid. Reason: Message must be at least one character.');
  const bad = INVALID_CHARACTER.exec(body);
  if (bad) {
    const code = bad[0].codePointAt(0)!.toString(16).toUpperCase();
    throw sqsError(
      'InvalidMessageContents',
      `Invalid binary character '#x${code}' was found in the message body, the set of allowed characters is ${ALLOWED_CHARACTERS}`,
    );
  }
  return body;
}

/** Validates user message attributes (`kind` 'user') or message system attributes ('system'). */
export function validateAttributes(input: unknown, kind: 'user' | 'system'): Record<string, AttributeValue> {
  if (input === undefined || input === null) return {};
  const label = kind === 'user' ? 'Message (user) attribute' : 'Message system attribute';
  if (typeof input !== 'object' || Array.isArray(input)) throw sqsError('InvalidParameterValue', `${label}s must be a map.`);
  const entries = Object.entries(input as Record<string, AttributeInput>);
  if (kind === 'user' && entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw sqsError(
      'InvalidParameterValue',
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of entries) {
    if (kind === 'system') {
      if (name !== 'AWSTraceHeader')
        throw sqsError(
          'InvalidParameterValue',
          `${label} name '${name}' is invalid. The only supported system attribute is AWSTraceHeader.`,
        );
      if (value?.DataType !== 'String') throw sqsError('InvalidParameterValue', `${label} '${name}' must be of type 'String'.`);
    } else {
      const lower = name.toLowerCase();
      if (
        !ATTRIBUTE_NAME.test(name) ||
        name.startsWith('.') ||
        name.endsWith('.') ||
        name.includes('..') ||
        lower.startsWith('aws.') ||
        lower.startsWith('amazon.')
      ) {
        throw sqsError(
          'InvalidParameterValue',
          `${label} name '${name}' is invalid. Names can contain alphanumeric characters, hyphens, underscores and periods, cannot start or end with a period or contain two in a row, cannot start with 'AWS.' or 'Amazon.', and are at most 256 characters long.`,
        );
      }
    }
    if (value === null || typeof value !== 'object') throw sqsError('InvalidParameterValue', `${label} '${name}' must contain a value.`);
    const dataType = value.DataType;
    if (typeof dataType !== 'string' || dataType.length === 0)
      throw sqsError('InvalidParameterValue', `${label} '${name}' must contain a non-empty message attribute type.`);
    if (!DATA_TYPE.test(dataType) || dataType.length > 256) {
      throw sqsError(
        'InvalidParameterValue',
        `The type of ${label.toLowerCase()} '${name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.`,
      );
    }
    if (value.StringListValues !== undefined || value.BinaryListValues !== undefined) {
      const lists = [value.StringListValues, value.BinaryListValues].filter((l) => Array.isArray(l) && l.length > 0);
      if (lists.length > 0)
        throw sqsError(
          'InvalidParameterValue',
          `${label} '${name}': StringListValues and BinaryListValues are reserved and not supported.`,
        );
    }
    if (isBinaryType(dataType)) {
      const bytes = toBytes(value.BinaryValue);
      if (value.StringValue !== undefined)
        throw sqsError('InvalidParameterValue', `${label} '${name}' with type 'Binary' must use field 'Binary'.`);
      if (!bytes || bytes.length === 0)
        throw sqsError('InvalidParameterValue', `${label} '${name}' must contain a non-empty value of type 'Binary'.`);
      out[name] = { DataType: dataType, BinaryValue: bytes };
      continue;
    }
    const base = dataType.startsWith('Number') ? 'Number' : 'String';
    if (value.BinaryValue !== undefined)
      throw sqsError('InvalidParameterValue', `${label} '${name}' with type '${base}' must use field 'String'.`);
    const text = value.StringValue;
    if (typeof text !== 'string' || text.length === 0)
      throw sqsError('InvalidParameterValue', `${label} '${name}' must contain a non-empty value of type '${base}'.`);
    if (base === 'Number' && !isSqsNumber(text)) {
      throw sqsError(
        'InvalidParameterValue',
        `Value ${text} for parameter MessageAttributes.${name} is invalid. Reason: Could not parse a number (up to 38 digits of precision, from -10^128 to 10^126).`,
      );
    }
    const bad = INVALID_CHARACTER.exec(text);
    if (bad) {
      const code = bad[0].codePointAt(0)!.toString(16).toUpperCase();
      throw sqsError(
        'InvalidParameterValue',
        `${label} '${name}' contains the invalid character '#x${code}'; the set of allowed characters is ${ALLOWED_CHARACTERS}`,
      );
    }
    out[name] = { DataType: dataType, StringValue: text };
  }
  return out;
}

/** Bytes counted against `MaximumMessageSize`: the body plus every attribute's name, type and value. */
export function messageSize(body: string, attributes: Readonly<Record<string, AttributeValue>>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(value.DataType, 'utf8');
    size += value.BinaryValue ? value.BinaryValue.length : Buffer.byteLength(value.StringValue ?? '', 'utf8');
  }
  return size;
}

export function validateGroupOrDeduplicationId(value: unknown, parameter: 'MessageGroupId' | 'MessageDeduplicationId'): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !GROUP_OR_DEDUPLICATION_ID.test(value)) {
    throw sqsError(
      'InvalidParameterValue',
      `Value ${String(value)} for parameter ${parameter} is invalid. Reason: ${parameter} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
    );
  }
  return value;
}

/** The API's representation of stored attributes (binary values as base64). */
export function attributesToApi(
  attributes: Readonly<Record<string, AttributeValue>>,
): Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> {
  const out: Record<string, { DataType: string; StringValue?: string; BinaryValue?: string }> = {};
  for (const [name, value] of Object.entries(attributes)) {
    out[name] =
      value.BinaryValue !== undefined
        ? { DataType: value.DataType, BinaryValue: value.BinaryValue.toString('base64') }
        : { DataType: value.DataType, StringValue: value.StringValue };
  }
  return out;
}

/**
 * Which names a `MessageAttributeNames` list selects: `All` or `.*` for every attribute, a name,
 * or a prefix ending in `.*` (`order.*`).
 */
export function selectAttributes<T>(attributes: Readonly<Record<string, T>>, requested: readonly string[]): Record<string, T> {
  if (requested.length === 0) return {};
  if (requested.includes('All') || requested.includes('.*')) return { ...attributes };
  const out: Record<string, T> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (requested.some((r) => (r.endsWith('.*') ? name.startsWith(r.slice(0, -1)) : r === name))) out[name] = value;
  }
  return out;
}

function isSqsNumber(text: string): boolean {
  if (!NUMBER.test(text)) return false;
  const digits = text.replace(/^[+-]/, '').split(/[eE]/)[0]!.replace('.', '').replace(/^0+/, '');
  if (digits.length > 38) return false;
  const value = Number(text);
  return Number.isFinite(value) && value <= 1e126 && value >= -1e128;
}

function toBytes(value: unknown): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw sqsError('InvalidParameterValue', 'BinaryValue must be base64-encoded.');
    return Buffer.from(value, 'base64');
  }
  throw sqsError('InvalidParameterValue', 'BinaryValue must be base64-encoded.');
}
