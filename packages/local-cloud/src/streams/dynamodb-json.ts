/**
 * DynamoDB JSON (`{"S": "x"}`, `{"B": "<base64>"}`, `{"M": {...}}`, ...), the form Lambda passes
 * stream images in, from the values the SDK decodes (binaries as `Uint8Array`).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb-streams';

/** One attribute value in DynamoDB JSON. */
export type AttributeJson = Record<string, unknown>;
export type ImageJson = Record<string, AttributeJson>;

export function toImage(image: Record<string, AttributeValue> | undefined): ImageJson | undefined {
  if (!image) return undefined;
  const out: ImageJson = {};
  for (const [name, value] of Object.entries(image)) out[name] = toAttributeJson(value);
  return out;
}

/** One SDK attribute value back to DynamoDB JSON: binaries as base64, maps and lists recursively. */
export function toAttributeJson(value: AttributeValue): AttributeJson {
  const v = value as unknown as Record<string, unknown>;
  if (v.B !== undefined) return { B: base64(v.B) };
  if (v.BS !== undefined) return { BS: (v.BS as unknown[]).map(base64) };
  if (v.M !== undefined) return { M: toImage(v.M as Record<string, AttributeValue>) ?? {} };
  if (v.L !== undefined) return { L: (v.L as AttributeValue[]).map(toAttributeJson) };
  if (v.S !== undefined) return { S: v.S };
  if (v.N !== undefined) return { N: v.N };
  if (v.SS !== undefined) return { SS: v.SS };
  if (v.NS !== undefined) return { NS: v.NS };
  if (v.BOOL !== undefined) return { BOOL: v.BOOL };
  if (v.NULL !== undefined) return { NULL: v.NULL };
  const { $unknown: _unknown, ...rest } = v;
  // The SDK's streams client deserialises an empty map (`{"M":{}}`) to `{}`: no other attribute
  // value can come out empty, so that is what it was (checked against DynamoDB Local 3.3.1).
  if (Object.keys(rest).length === 0 && _unknown === undefined) return { M: {} };
  return rest;
}

function base64(bytes: unknown): string {
  if (typeof bytes === 'string') return bytes;
  const view = bytes as Uint8Array;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}
