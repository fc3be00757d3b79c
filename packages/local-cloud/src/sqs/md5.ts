/**
 * The digests SQS returns with every message, which SDKs verify: `MD5OfMessageBody` (the MD5 of
 * the body's UTF-8 bytes) and `MD5OfMessageAttributes` / `MD5OfMessageSystemAttributes` (the
 * MD5 of an encoding of the attributes, "Calculating the MD5 message digest for message
 * attributes" in the SQS Developer Guide):
 *
 *   for each attribute, sorted by name (ascending, by code point):
 *     length(name) name length(dataType) dataType transportType length(value) value
 *
 * where every length is a 4-byte big-endian byte count of the UTF-8 (or binary) value that
 * follows, and the transport type is one byte: 1 for String and Number values (the string's UTF-8
 * bytes), 2 for Binary values (the raw bytes).
 */
import { createHash } from 'node:crypto';

/** A message attribute as stored: the binary value already decoded. */
export interface AttributeValue {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: Buffer;
}

export function md5Hex(data: string | Buffer): string {
  return createHash('md5').update(data).digest('hex');
}

/** `MD5OfMessageAttributes` of `attributes` (undefined when there are none, as SQS omits it). */
export function md5OfAttributes(attributes: Readonly<Record<string, AttributeValue>>): string | undefined {
  const names = Object.keys(attributes).sort(compareCodePoints);
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const value = attributes[name]!;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined && isBinaryType(value.DataType)) {
      hash.update(Buffer.from([2]));
      lengthPrefixed(value.BinaryValue);
    } else {
      hash.update(Buffer.from([1]));
      lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

export function isBinaryType(dataType: string): boolean {
  return dataType === 'Binary' || dataType.startsWith('Binary.');
}

/** Orders strings by code point (what sorting the UTF-8 bytes gives), not by UTF-16 unit. */
function compareCodePoints(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}
