/**
 * What DynamoDB can store, checked before a client's free-form JSON (a producer's payload, later a
 * comment's or a content item's metadata) is written as an attribute value, so that input DynamoDB
 * or the SDK's marshaller would refuse is a 400 naming its path instead of a 500 from the write.
 *
 * The limits, each measured against DynamoDB Local (test/integration/topic-publish-payloads.test.ts
 * writes each case through a store and sees it fail) or taken from the SDK's marshaller:
 * - numbers: finite (JSON's `1e999` parses to Infinity, which the marshaller refuses), integers
 *   within ±(2^53 - 1) (the marshaller refuses larger ones, which JSON.parse has already rounded:
 *   send them as strings), magnitude 0 or at least 1e-130 (DynamoDB underflows below). DynamoDB's
 *   38 digits and 9.99e125 are never reached by a safe JS number.
 * - strings and keys: well-formed Unicode; a lone UTF-16 surrogate (JSON `"\ud800"`) has no UTF-8
 *   encoding, which is how DynamoDB holds strings (as a key it is an InternalFailure).
 * - keys: not empty ("Empty attribute name", at any level), and not `__proto__` or `constructor`
 *   (see FORBIDDEN_KEYS).
 * - nesting: at most 31 levels of objects and arrays in one top-level attribute's value, the value
 *   itself counting as one (DynamoDB's "32 levels" count the item); the 32nd is refused.
 * - size: DynamoDB's item limit is 400 KB; `maxBytes` bounds the value by DynamoDB's own size
 *   accounting (`dynamoSize`), for callers whose values are not already bounded by their JSON size.
 */
import { z } from 'zod';
import type { FieldIssue } from './validation';

/** Objects and arrays nested in one top-level attribute's value, counting the value itself. */
export const DYNAMO_MAX_ATTRIBUTE_DEPTH = 31;
/** The smallest magnitude of a non-zero DynamoDB number. */
export const DYNAMO_MIN_NUMBER_MAGNITUDE = 1e-130;
/** DynamoDB's limit on an item, names and values together. */
export const DYNAMO_MAX_ITEM_BYTES = 400 * 1024;

/**
 * Keys refused at every level. Keeping them faithfully is not possible with the SDK as configured:
 * its marshaller tells a map from a class instance by `value.constructor.name === 'Object'`, so an
 * own `constructor` key makes the write throw (or, as `{"constructor":{"name":"Object"}}`, passes
 * only by claiming to be what it is not); and an own `__proto__` (which JSON.parse creates) turns
 * into a prototype change at the first ordinary copy (`copy[key] = value`, as zod's record, the
 * stream image's unmarshall and most client code do), so it is dropped silently at best and
 * pollutes a prototype at worst. Refusing costs a producer a key rename; keeping them would mean
 * hardening every hop through to each subscriber's code.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

export interface DynamoValueOptions {
  /** Path of the value itself, prefixed to each issue's field. @default [] */
  readonly path?: readonly (string | number)[];
  /** Objects and arrays allowed on any path, the value itself counting as one. @default DYNAMO_MAX_ATTRIBUTE_DEPTH */
  readonly maxDepth?: number;
  /** Largest `dynamoSize` of the value. @default DYNAMO_MAX_ITEM_BYTES */
  readonly maxBytes?: number;
  /** Issues reported before the walk stops. @default 20 */
  readonly maxIssues?: number;
}

interface Issue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Every reason (up to `maxIssues`) DynamoDB could not store `value`, each at its path; empty when it can. */
export function dynamoValueIssues(value: unknown, options: DynamoValueOptions = {}): FieldIssue[] {
  return walk(value, options).map(({ path, message }) => ({ field: fieldName(path), message }));
}

/**
 * A zod schema for a JSON value DynamoDB can store: it passes the value on untouched (the raw
 * parsed object, own `__proto__` keys and all, so pipe it into the shape schema after this check),
 * and reports each problem as an issue at its path below the field it is used for.
 */
export function dynamoValue(options: Omit<DynamoValueOptions, 'path'> = {}): z.ZodType<unknown> {
  return z.unknown().superRefine((value, ctx) => {
    for (const { path, message } of walk(value, options)) {
      ctx.addIssue({ code: 'custom', message, path: path.map(quoteKey) });
    }
  });
}

/**
 * The size DynamoDB counts for `value` as an attribute value (AWS's item-size rules): strings by
 * UTF-8 length, numbers about one byte per two significant digits plus one, booleans and null one
 * byte, maps and lists 3 bytes plus 1 per element, plus each key's UTF-8 length.
 */
export function dynamoSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberSize(value);
  if (value === null || typeof value === 'boolean') return 1;
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + 1 + dynamoSize(v), 3);
  if (typeof value === 'object') {
    return Object.entries(value).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, 'utf8') + dynamoSize(v), 3);
  }
  return 0;
}

function numberSize(n: number): number {
  const digits = Math.abs(n)
    .toExponential()
    .replace(/e.*$/, '')
    .replace('.', '')
    .replace(/^0+|0+$/g, '').length;
  return Math.min(21, Math.ceil(Math.max(digits, 1) / 2) + 1);
}

function walk(value: unknown, options: DynamoValueOptions): Issue[] {
  const maxDepth = options.maxDepth ?? DYNAMO_MAX_ATTRIBUTE_DEPTH;
  const maxBytes = options.maxBytes ?? DYNAMO_MAX_ITEM_BYTES;
  const maxIssues = options.maxIssues ?? 20;
  const issues: Issue[] = [];
  const report = (path: readonly (string | number)[], message: string) => {
    if (issues.length < maxIssues) issues.push({ path, message });
  };

  // Recursion is bounded by maxDepth: a container past it is reported and not entered, so even a
  // body of 64 KB of `[` costs 32 frames, not a stack overflow.
  const visit = (v: unknown, path: (string | number)[], depth: number): void => {
    if (issues.length >= maxIssues) return;
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) report(path, 'String contains a lone UTF-16 surrogate (not valid Unicode)');
      return;
    }
    if (typeof v === 'number') {
      const problem = numberProblem(v);
      if (problem) report(path, problem);
      return;
    }
    if (v === null || typeof v === 'boolean') return;
    if (typeof v !== 'object' || !isPlainContainer(v)) {
      report(path, 'Not a JSON value');
      return;
    }
    if (depth + 1 > maxDepth) {
      report(path, `Nested deeper than ${maxDepth} levels of objects and arrays`);
      return;
    }
    if (Array.isArray(v)) {
      for (const [i, item] of v.entries()) visit(item, [...path, i], depth + 1);
      return;
    }
    // Object.keys lists an own `__proto__` that JSON.parse created, which `for…in` over a copy would not.
    for (const key of Object.keys(v)) {
      const keyPath = [...path, key];
      const problem = keyProblem(key);
      if (problem) {
        report(keyPath, problem);
        continue;
      }
      visit((v as Record<string, unknown>)[key], keyPath, depth + 1);
    }
  };

  const base = [...(options.path ?? [])];
  visit(value, base, 0);
  if (issues.length === 0) {
    const size = dynamoSize(value);
    if (size > maxBytes) report(base, `Takes ${size} bytes in DynamoDB; at most ${maxBytes}`);
  }
  return issues;
}

function numberProblem(n: number): string | undefined {
  if (!Number.isFinite(n)) return 'Number out of range (not finite)';
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) {
    return `Number beyond ±${Number.MAX_SAFE_INTEGER} cannot be kept exactly; send it as a string`;
  }
  if (n !== 0 && Math.abs(n) < DYNAMO_MIN_NUMBER_MAGNITUDE) return 'Number closer to 0 than 1e-130, which DynamoDB cannot store';
  return undefined;
}

function keyProblem(key: string): string | undefined {
  if (key === '') return 'Empty key (DynamoDB refuses empty attribute names)';
  if (LONE_SURROGATE.test(key)) return 'Key contains a lone UTF-16 surrogate (not valid Unicode)';
  if (FORBIDDEN_KEYS.has(key)) return `Key "${key}" is not allowed (it means the prototype to JavaScript code)`;
  return undefined;
}

/** With the `u` flag a pair is one code point, so only half a pair matches (String#isWellFormed is ES2024). */
const LONE_SURROGATE = /\p{Cs}/u;

function isPlainContainer(v: object): boolean {
  if (Array.isArray(v)) return true;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A path segment as it appears in a dotted field name: as is when that is unambiguous, else as a
 * JSON string (`payload.""`, `payload."a.b"`, `payload."\ud800"`), which also makes a lone surrogate
 * printable.
 */
function quoteKey(segment: string | number): string | number {
  if (typeof segment === 'number') return segment;
  return /^[^\s."[\]\\]+$/.test(segment) && !LONE_SURROGATE.test(segment) ? segment : JSON.stringify(segment);
}

function fieldName(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(root)' : path.map(quoteKey).join('.');
}
