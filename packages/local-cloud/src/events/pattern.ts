/**
 * Amazon EventBridge event-pattern matching for the local cloud.
 *
 * The emulator routes events to EventBridge rules and filters records for Lambda
 * event-source mappings (DynamoDB streams, SQS, Kinesis: Lambda's FilterCriteria use
 * the same syntax). Both must accept, reject and match patterns exactly as AWS does,
 * otherwise a rule that works locally silently drops or over-delivers in the cloud.
 *
 * Behaviour follows the AWS documentation ("Creating event patterns", "Comparison
 * operators", "Content filtering", "Arrays", "Null values and empty strings", Lambda
 * "event filtering") and, where the docs are silent, AWS's open-source matching engine
 * (aws/event-ruler), which EventBridge is built on:
 *
 *  - Fields are ANDed; the values in a field's array are ORed. Fields absent from the
 *    pattern are ignored; a field named in the pattern must be present in the event
 *    (except `{"exists": false}`), with the same nesting.
 *  - Event arrays are "crushed": a leaf that is an array matches if any element does,
 *    and an array of objects matches if one element matches the whole sub-pattern
 *    (two fields are never satisfied from different elements of the same array).
 *  - Exact values are type-strict: "300" never matches 300, "" never matches null.
 *  - Operators only apply to leaves (strings, numbers, booleans, null); an object in
 *    the event is not a value, so `exists` sees it as absent.
 *
 * Compile once with parsePattern(), then call matches() per event: all validation and
 * parsing (wildcards, CIDRs, numeric ranges, value sets) happens at compile time.
 */

/** Raised for a pattern EventBridge's PutRule / TestEventPattern would refuse. */
export class PatternError extends Error {
  /** Dotted path to the offending field ("detail.price"), or "(pattern)" for the root. */
  readonly path: string;
  /** The problem, without the path prefix. */
  readonly detail: string;

  constructor(path: string, detail: string) {
    super(`${path}: ${detail}`);
    this.name = 'PatternError';
    this.path = path;
    this.detail = detail;
  }
}

export interface CompiledPattern {
  /** Whether the event (a parsed JSON object, or its JSON text) matches the pattern. */
  matches(event: unknown): boolean;
}

/**
 * Validates and compiles a pattern, given as an object or as JSON text.
 * Throws PatternError, naming the offending path, for anything EventBridge rejects.
 */
export function parsePattern(pattern: unknown): CompiledPattern {
  const root = typeof pattern === 'string' ? parsePatternJson(pattern) : pattern;
  if (!isObject(root)) {
    throw new PatternError(ROOT, 'an event pattern must be a JSON object');
  }
  const matcher = compileObject(root, [], false);
  return {
    matches(event: unknown): boolean {
      return matcher(typeof event === 'string' ? parseEventJson(event) : event);
    },
  };
}

/** One-shot convenience; prefer parsePattern() when matching many events. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return parsePattern(pattern).matches(event);
}

// ---------------------------------------------------------------------------
// Compilation

const ROOT = '(pattern)';

/**
 * Ruler's bounds for numeric matching (ComparableNumber): operands outside it are
 * rejected at PutRule, and event numbers outside it never satisfy a numeric operator.
 */
const NUMERIC_LIMIT = 5e9;

/** Operator names that a `$or` branch may not use as field names (Ruler rejects them). */
const RESERVED_IN_OR = new Set([
  'exactly',
  'equals-ignore-case',
  'prefix',
  'suffix',
  'anything-but',
  'exists',
  'wildcard',
  'numeric',
  'cidr',
  'html',
  '=',
  '<',
  '<=',
  '>',
  '>=',
  'regex',
  'not-wildcard',
  'not-equals-ignore-case',
  'date-after',
  'date-on-or-after',
  'date-before',
  'date-on-or-before',
  'in-date-range',
  'ip-address-in-range',
  'ip-address-not-in-range',
]);

const OPERATORS = 'prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = Record<string, unknown>;
/** A leaf value from the event: what operators compare against. */
type Scalar = string | number | boolean | null;
type ValueTest = (value: Scalar) => boolean;
/** Matches the value found at one object level of the pattern (object, array, or anything). */
type ObjectMatcher = (value: unknown) => boolean;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const hasOwn = (obj: object, key: string): boolean => Object.hasOwn(obj, key);

function pathOf(path: readonly string[]): string {
  return path.length === 0 ? ROOT : path.join('.');
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return JSON.stringify(value) ?? String(value);
}

function compileObject(pattern: JsonObject, path: string[], inOr: boolean): ObjectMatcher {
  const keys = Object.keys(pattern);
  if (keys.length === 0) {
    throw new PatternError(pathOf(path), 'empty objects are not allowed');
  }

  // Each check is evaluated against one event object (or undefined when the event has
  // no object at this level, so that only `exists: false` leaves can succeed).
  const checks: Array<(obj: JsonObject | undefined) => boolean> = [];
  for (const key of keys) {
    const value = pattern[key];
    const fieldPath = [...path, key];

    if (key === '$or') {
      const branches = compileOr(value, fieldPath);
      checks.push((obj) => branches.some((branch) => branch(obj)));
      continue;
    }
    if (inOr && RESERVED_IN_OR.has(key)) {
      throw new PatternError(
        pathOf(fieldPath),
        `"${key}" is an operator, not a field name; it cannot be a field inside $or (write {"field": [{"${key}": ...}]})`,
      );
    }
    if (Array.isArray(value)) {
      const leaf = compileLeaf(value, fieldPath);
      checks.push((obj) => leaf(obj !== undefined && hasOwn(obj, key) ? obj[key] : undefined));
    } else if (isObject(value)) {
      const nested = compileObject(value, fieldPath, inOr);
      checks.push((obj) => nested(obj !== undefined && hasOwn(obj, key) ? obj[key] : undefined));
    } else {
      throw new PatternError(pathOf(fieldPath), `must be an object or an array of match values, got ${describe(value)}`);
    }
  }

  const evaluate = (obj: JsonObject | undefined): boolean => {
    for (const check of checks) if (!check(obj)) return false;
    return true;
  };
  const matcher: ObjectMatcher = (value) => {
    if (Array.isArray(value)) {
      // An empty array holds no fields at all; otherwise one element must satisfy the
      // whole sub-pattern (array-consistent matching, as Ruler's rulesForJSONEvent).
      if (value.length === 0) return evaluate(undefined);
      for (const element of value) if (matcher(element)) return true;
      return false;
    }
    return evaluate(isObject(value) ? value : undefined);
  };
  return matcher;
}

function compileOr(value: unknown, path: string[]): ObjectMatcher[] {
  if (!Array.isArray(value)) {
    throw new PatternError(pathOf(path), `$or must be an array of at least 2 pattern objects, got ${describe(value)}`);
  }
  if (value.length < 2) {
    throw new PatternError(pathOf(path), `$or must contain at least 2 pattern objects, got ${value.length}`);
  }
  return value.map((branch, i) => {
    const branchPath = [...path.slice(0, -1), `$or[${i}]`];
    if (!isObject(branch)) {
      throw new PatternError(pathOf(branchPath), `each $or branch must be a pattern object, got ${describe(branch)}`);
    }
    return compileObject(branch, branchPath, true);
  });
}

/** Compiles a field's array of match values into a test on the field's event value. */
function compileLeaf(values: unknown[], path: string[]): (eventValue: unknown) => boolean {
  const where = pathOf(path);
  if (values.length === 0) {
    throw new PatternError(where, 'empty arrays are not allowed; list at least one match value');
  }

  // Exact values are gathered into sets so a long list of alternatives costs one lookup.
  const strings = new Set<string>();
  const numbers = new Set<number>();
  let matchTrue = false;
  let matchFalse = false;
  let matchNull = false;
  let existsTrue = false;
  let existsFalse = false;
  const tests: ValueTest[] = [];

  for (const value of values) {
    if (typeof value === 'string') {
      strings.add(value);
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new PatternError(where, `${value} is not a JSON number`);
      numbers.add(value);
    } else if (value === true) {
      matchTrue = true;
    } else if (value === false) {
      matchFalse = true;
    } else if (value === null) {
      matchNull = true;
    } else if (Array.isArray(value)) {
      throw new PatternError(
        where,
        'nested arrays are not allowed; match values must be strings, numbers, booleans, null or operator objects',
      );
    } else if (isObject(value)) {
      const compiled = compileOperator(value, where);
      if (compiled === 'exists') existsTrue = true;
      else if (compiled === 'absent') existsFalse = true;
      else tests.push(compiled);
    } else {
      throw new PatternError(where, `match values must be strings, numbers, booleans, null or operator objects, got ${describe(value)}`);
    }
  }

  if (strings.size > 0) tests.unshift((v) => typeof v === 'string' && strings.has(v));
  // Numbers compare by value: after JSON parsing 300, 300.0 and 3.0e2 are the same number
  // (Ruler also registers a numeric-equality matcher for every number in a pattern).
  if (numbers.size > 0) tests.unshift((v) => typeof v === 'number' && numbers.has(v));
  if (matchTrue || matchFalse || matchNull) {
    tests.unshift((v) => (v === true && matchTrue) || (v === false && matchFalse) || (v === null && matchNull));
  }

  return (eventValue) => {
    if (!hasScalar(eventValue)) return existsFalse;
    if (existsTrue) return true;
    return someScalar(eventValue, tests);
  };
}

/** True when the event value contributes at least one leaf (scalar) value. */
function hasScalar(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasScalar);
  return isScalar(value);
}

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/** Whether any leaf value (array elements included, nested arrays flattened) passes a test. */
function someScalar(value: unknown, tests: readonly ValueTest[]): boolean {
  if (Array.isArray(value)) {
    for (const element of value) if (someScalar(element, tests)) return true;
    return false;
  }
  if (!isScalar(value)) return false;
  for (const test of tests) if (test(value)) return true;
  return false;
}

/** Compiles one `{ "operator": argument }` object from a field's value list. */
function compileOperator(expr: JsonObject, where: string): ValueTest | 'exists' | 'absent' {
  const keys = Object.keys(expr);
  if (keys.length !== 1) {
    throw new PatternError(
      where,
      keys.length === 0
        ? `empty match expression; expected one of: ${OPERATORS}`
        : `a match expression takes exactly one operator, got ${keys.length} (${keys.join(', ')})`,
    );
  }
  const op = keys[0]!;
  const arg = expr[op];

  switch (op) {
    case 'prefix':
    case 'suffix': {
      const check =
        op === 'prefix'
          ? (value: string, affix: string) => value.startsWith(affix)
          : (value: string, affix: string) => value.endsWith(affix);
      if (typeof arg === 'string') {
        return (v) => typeof v === 'string' && check(v, arg);
      }
      if (isObject(arg)) {
        const inner = Object.keys(arg);
        if (inner.length !== 1 || inner[0] !== 'equals-ignore-case') {
          throw new PatternError(
            where,
            `${op} takes a string or {"equals-ignore-case": "..."}, got {${inner.map((k) => `"${k}"`).join(', ')}}`,
          );
        }
        const affix = arg['equals-ignore-case'];
        if (typeof affix !== 'string') {
          throw new PatternError(where, `${op} equals-ignore-case needs a string, got ${describe(affix)}`);
        }
        const folded = foldCase(affix);
        return (v) => typeof v === 'string' && check(foldCase(v), folded);
      }
      throw new PatternError(where, `${op} needs a string, got ${describe(arg)}`);
    }

    case 'equals-ignore-case': {
      if (typeof arg !== 'string') {
        throw new PatternError(where, `equals-ignore-case needs a string, got ${describe(arg)}`);
      }
      const folded = foldCase(arg);
      return (v) => typeof v === 'string' && foldCase(v) === folded;
    }

    case 'wildcard': {
      if (typeof arg !== 'string') {
        throw new PatternError(where, `wildcard needs a string, got ${describe(arg)}`);
      }
      const glob = compileWildcard(arg, where);
      return (v) => typeof v === 'string' && glob(v);
    }

    case 'anything-but':
      return compileAnythingBut(arg, where);

    case 'numeric':
      return compileNumeric(arg, where);

    case 'exists':
      if (typeof arg !== 'boolean') {
        throw new PatternError(where, `exists must be true or false, got ${describe(arg)}`);
      }
      return arg ? 'exists' : 'absent';

    case 'cidr': {
      if (typeof arg !== 'string') {
        throw new PatternError(where, `cidr needs a string such as "10.0.0.0/24", got ${describe(arg)}`);
      }
      const range = parseCidr(arg, where);
      return (v) => {
        if (typeof v !== 'string') return false;
        const ip = parseIp(v);
        return ip !== null && ip.v6 === range.v6 && ip.value >= range.low && ip.value <= range.high;
      };
    }

    default:
      throw new PatternError(where, `unknown operator "${op}"; expected one of: ${OPERATORS}`);
  }
}

/**
 * anything-but matches any leaf value not excluded, of any type: a number passes an
 * anything-but of strings, and a string passes {"anything-but": {"prefix": ...}} only if
 * it lacks the prefix. A missing field still fails (there is no value to compare).
 */
function compileAnythingBut(arg: unknown, where: string): ValueTest {
  if (typeof arg === 'string') {
    return (v) => v !== arg;
  }
  if (typeof arg === 'number') {
    checkNumericBounds(arg, where, 'anything-but');
    return (v) => v !== arg;
  }
  if (Array.isArray(arg)) {
    if (arg.length > 0 && arg.every((x) => typeof x === 'string')) {
      const excluded = new Set(arg as string[]);
      return (v) => !(typeof v === 'string' && excluded.has(v));
    }
    if (arg.length > 0 && arg.every((x) => typeof x === 'number')) {
      for (const n of arg as number[]) checkNumericBounds(n, where, 'anything-but');
      const excluded = new Set(arg as number[]);
      return (v) => !(typeof v === 'number' && excluded.has(v));
    }
    throw new PatternError(
      where,
      arg.length === 0 ? 'anything-but list must not be empty' : 'anything-but list must contain only strings or only numbers',
    );
  }
  if (isObject(arg)) {
    const keys = Object.keys(arg);
    const op = keys[0];
    if (keys.length !== 1 || (op !== 'prefix' && op !== 'suffix' && op !== 'equals-ignore-case' && op !== 'wildcard')) {
      throw new PatternError(
        where,
        `anything-but takes one of prefix, suffix, equals-ignore-case or wildcard, got {${keys.map((k) => `"${k}"`).join(', ')}}`,
      );
    }
    const raw = arg[op];
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || !list.every((x): x is string => typeof x === 'string')) {
      throw new PatternError(where, `anything-but ${op} needs a string or a non-empty list of strings, got ${describe(raw)}`);
    }
    let excluded: (value: string) => boolean;
    switch (op) {
      case 'prefix':
      case 'suffix': {
        if (list.some((s) => s === '')) {
          throw new PatternError(where, `anything-but ${op} must not be an empty string`);
        }
        excluded = op === 'prefix' ? (s) => list.some((p) => s.startsWith(p)) : (s) => list.some((p) => s.endsWith(p));
        break;
      }
      case 'equals-ignore-case': {
        const folded = new Set(list.map(foldCase));
        excluded = (s) => folded.has(foldCase(s));
        break;
      }
      case 'wildcard': {
        const globs = list.map((g) => compileWildcard(g, where));
        excluded = (s) => globs.some((glob) => glob(s));
        break;
      }
    }
    return (v) => !(typeof v === 'string' && excluded(v));
  }
  throw new PatternError(
    where,
    `anything-but takes a string, a number, a list of strings or of numbers, or {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": ...}, got ${describe(arg)}`,
  );
}

const LOWER_BOUNDS = new Set(['>', '>=']);
const UPPER_BOUNDS = new Set(['<', '<=']);

/**
 * numeric: ["=", n], [">"|">="|"<"|"<=", n], or a range [">"|">=", low, "<"|"<=", high].
 * Only JSON numbers match (a numeric string such as "5" does not).
 */
function compileNumeric(arg: unknown, where: string): ValueTest {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) {
    throw new PatternError(
      where,
      `numeric needs pairs of operator and number, like [">", 0, "<=", 5]; got ${Array.isArray(arg) ? JSON.stringify(arg) : describe(arg)}`,
    );
  }
  const pairs: Array<[string, number]> = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op: unknown = arg[i];
    const n: unknown = arg[i + 1];
    if (typeof op !== 'string' || !(op === '=' || LOWER_BOUNDS.has(op) || UPPER_BOUNDS.has(op))) {
      throw new PatternError(where, `unknown numeric operator ${describe(op)}; expected one of =, <, <=, >, >=`);
    }
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw new PatternError(where, `numeric needs pairs of operator and number: "${op}" must be followed by a number, got ${describe(n)}`);
    }
    checkNumericBounds(n, where, 'numeric');
    pairs.push([op, n]);
  }

  const [op, n] = pairs[0]!;
  if (pairs.length === 1) {
    const inRange = (v: Scalar): v is number => typeof v === 'number' && v >= -NUMERIC_LIMIT && v <= NUMERIC_LIMIT;
    switch (op) {
      case '=':
        return (v) => inRange(v) && v === n;
      case '<':
        return (v) => inRange(v) && v < n;
      case '<=':
        return (v) => inRange(v) && v <= n;
      case '>':
        return (v) => inRange(v) && v > n;
      default:
        return (v) => inRange(v) && v >= n;
    }
  }

  const [topOp, top] = pairs[1]!;
  if (!LOWER_BOUNDS.has(op) || !UPPER_BOUNDS.has(topOp)) {
    throw new PatternError(
      where,
      `a numeric range must be a lower bound (">" or ">=") followed by an upper bound ("<" or "<="), got "${op}" then "${topOp}"`,
    );
  }
  if (n >= top) {
    throw new PatternError(where, `numeric range is empty: lower bound ${n} must be less than upper bound ${top}`);
  }
  const openBottom = op === '>';
  const openTop = topOp === '<';
  return (v) => typeof v === 'number' && (openBottom ? v > n : v >= n) && (openTop ? v < top : v <= top);
}

function checkNumericBounds(n: number, where: string, op: string): void {
  if (n < -NUMERIC_LIMIT || n > NUMERIC_LIMIT) {
    throw new PatternError(where, `${op} values must be between -5e9 and 5e9 inclusive, got ${n}`);
  }
}

/** Case folding for the *-ignore-case operators (upper then lower also folds "ß"/"SS"). */
function foldCase(s: string): string {
  return s.toUpperCase().toLowerCase();
}

/**
 * Wildcard: "*" matches zero or more characters; "\*" is a literal asterisk and "\\" a
 * literal backslash. Consecutive "*" and any other escape are rejected, as EventBridge does.
 * The literal segments are matched greedily left to right, which is exact for a
 * single-kind wildcard and linear in practice (no regex backtracking blow-ups).
 */
function compileWildcard(text: string, where: string): (value: string) => boolean {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '*') {
      if (text[i + 1] === '*') {
        throw new PatternError(where, `wildcard "${text}" has consecutive wildcard characters at position ${i}`);
      }
      segments.push(current);
      current = '';
    } else if (c === '\\') {
      const next = text[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new PatternError(where, `wildcard "${text}" has an invalid escape at position ${i}; only \\* and \\\\ are allowed`);
      }
      current += next;
      i++;
    } else {
      current += c;
    }
  }
  segments.push(current);

  if (segments.length === 1) {
    const exact = segments[0]!;
    return (value) => value === exact;
  }
  const head = segments[0]!;
  const tail = segments[segments.length - 1]!;
  const middle = segments.slice(1, -1).filter((s) => s !== '');
  return (value) => {
    if (value.length < head.length + tail.length || !value.startsWith(head) || !value.endsWith(tail)) {
      return false;
    }
    let pos = head.length;
    const end = value.length - tail.length;
    for (const segment of middle) {
      const at = value.indexOf(segment, pos);
      if (at < 0 || at + segment.length > end) return false;
      pos = at + segment.length;
    }
    return true;
  };
}

// ---------------------------------------------------------------------------
// IP addresses (cidr)

interface IpAddress {
  v6: boolean;
  value: bigint;
}
interface IpRange {
  v6: boolean;
  low: bigint;
  high: bigint;
}

function parseCidr(text: string, where: string): IpRange {
  const parts = text.split('/');
  if (parts.length !== 2) {
    throw new PatternError(where, `malformed cidr "${text}": expected address/prefix-length, like "10.0.0.0/24"`);
  }
  const ip = parseIp(parts[0]!);
  if (ip === null) {
    throw new PatternError(where, `malformed cidr "${text}": "${parts[0]}" is not an IPv4 or IPv6 address`);
  }
  const bits = ip.v6 ? 128 : 32;
  if (!/^\d{1,3}$/.test(parts[1]!) || Number(parts[1]) > bits) {
    throw new PatternError(where, `malformed cidr "${text}": prefix length must be an integer from 0 to ${bits}`);
  }
  const hostBits = BigInt(bits - Number(parts[1]));
  const hostMask = (1n << hostBits) - 1n;
  const low = ip.value & ~hostMask;
  return { v6: ip.v6, low, high: low | hostMask };
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseIp(text: string): IpAddress | null {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 === null ? null : { v6: false, value: v4 };
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): bigint[] | null => {
    if (part === '') return [];
    const out: bigint[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        // Trailing embedded IPv4, e.g. ::ffff:10.0.0.1, fills the last two groups.
        const v4 = parseIpv4(piece);
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(BigInt(parseInt(piece, 16)));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === null || tail === null) return null;
  const present = head.length + tail.length;
  if (halves.length === 2 ? present > 7 : present !== 8) return null;
  const groups = [...head, ...Array<bigint>(8 - present).fill(0n), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | group;
  return { v6: true, value };
}

// ---------------------------------------------------------------------------
// JSON text

function parseEventJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // not JSON: no fields, so only `exists: false` can match
  }
}

/**
 * Pattern JSON text is read with a small parser instead of JSON.parse because EventBridge
 * (and Lambda filtering) merge a repeated object key rather than keep only the last one:
 * Lambda's documented DynamoDB example ANDs `"dynamodb": {NewImage...}, "dynamodb":
 * {OldImage...}`. A repeated leaf keeps the last value, as the EventBridge guide states.
 */
function parsePatternJson(text: string): unknown {
  const reader = new JsonReader(text);
  const value = reader.value();
  reader.end();
  return value;
}

class JsonReader {
  private pos = 0;

  constructor(private readonly text: string) {}

  value(): Json {
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't') return this.literal('true', true);
    if (c === 'f') return this.literal('false', false);
    if (c === 'n') return this.literal('null', null);
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
  }

  end(): void {
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('unexpected text after the pattern');
  }

  private object(): Json {
    const obj: { [key: string]: Json } = {};
    this.pos++; // {
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a field name');
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail('expected ":"');
      this.pos++;
      setMerged(obj, key, this.value());
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === '}') return obj;
      if (c !== ',') this.fail('expected "," or "}"', this.pos - 1);
    }
  }

  private array(): Json {
    const arr: Json[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value());
      this.skipWhitespace();
      const c = this.text[this.pos++];
      if (c === ']') return arr;
      if (c !== ',') this.fail('expected "," or "]"', this.pos - 1);
    }
  }

  private string(): string {
    const start = this.pos;
    this.pos++; // opening quote
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string', start);
      if (c === 0x22) break; // "
      if (c < 0x20) this.fail('control character in string');
      this.pos += c === 0x5c ? 2 : 1; // skip the escaped character after a backslash
    }
    this.pos++;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string; // decodes escapes
    } catch {
      return this.fail('invalid escape in string', start);
    }
  }

  private number(): number {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = this.pos;
    const found = match.exec(this.text);
    if (found === null) return this.fail('invalid number');
    this.pos += found[0].length;
    return Number(found[0]);
  }

  private literal<T extends Json>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected token`);
    this.pos += word.length;
    return value;
  }

  private skipWhitespace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  private fail(message: string, at = this.pos): never {
    throw new PatternError(ROOT, `pattern is not valid JSON: ${message} at position ${at}`);
  }
}

/** Sets obj[key], deep-merging into an existing object value instead of replacing it. */
function setMerged(obj: { [key: string]: Json }, key: string, value: Json): void {
  const existing = hasOwn(obj, key) ? obj[key] : undefined;
  if (isObject(existing) && isObject(value)) {
    for (const inner of Object.keys(value)) {
      setMerged(existing as { [key: string]: Json }, inner, value[inner]!);
    }
    return;
  }
  // defineProperty, not assignment, so a "__proto__" field stays an ordinary field.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
