/**
 * Choice rules (JSONPath query language): comparison operators and their `*Path` variants,
 * `And`/`Or`/`Not`, the type tests (`IsPresent`, `IsNull`, ...) and `StringMatches`, with AWS's
 * semantics: a comparison against a value of another type is false; a `Variable` (or a `*Path`
 * operand) that selects nothing is a `States.Runtime` error, except for `IsPresent`.
 */
import { runtimeError } from './errors';
import { isObject, parsePath, query } from './jsonpath';

export type ChoiceRule = Record<string, unknown>;

const COMPARISONS = [
  'StringEquals',
  'StringLessThan',
  'StringGreaterThan',
  'StringLessThanEquals',
  'StringGreaterThanEquals',
  'StringMatches',
  'NumericEquals',
  'NumericLessThan',
  'NumericGreaterThan',
  'NumericLessThanEquals',
  'NumericGreaterThanEquals',
  'BooleanEquals',
  'TimestampEquals',
  'TimestampLessThan',
  'TimestampGreaterThan',
  'TimestampLessThanEquals',
  'TimestampGreaterThanEquals',
  'IsNull',
  'IsPresent',
  'IsNumeric',
  'IsString',
  'IsBoolean',
  'IsTimestamp',
];
const PATH_COMPARISONS = COMPARISONS.filter((c) => !c.startsWith('Is') && c !== 'StringMatches').map((c) => `${c}Path`);
export const CHOICE_OPERATORS = new Set([...COMPARISONS, ...PATH_COMPARISONS]);

/** RFC 3339 as ASL restricts it: uppercase `T`, and `Z` or a numeric offset. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Evaluates one rule (top-level or nested) against the state's effective input. */
export function evaluateRule(rule: ChoiceRule, input: unknown, context: unknown): boolean {
  if (Array.isArray(rule.And)) return (rule.And as ChoiceRule[]).every((r) => evaluateRule(r, input, context));
  if (Array.isArray(rule.Or)) return (rule.Or as ChoiceRule[]).some((r) => evaluateRule(r, input, context));
  if (isObject(rule.Not)) return !evaluateRule(rule.Not, input, context);
  if (typeof rule.Variable !== 'string') throw runtimeError(`a Choice rule has no Variable, And, Or or Not: ${JSON.stringify(rule)}`);
  const operator = Object.keys(rule).find((k) => CHOICE_OPERATORS.has(k));
  if (!operator) throw runtimeError(`a Choice rule on ${rule.Variable} has no comparison operator: ${JSON.stringify(rule)}`);

  const lookup = (pathText: string) => {
    const path = parsePath(pathText);
    return query(path, path.context ? context : input);
  };
  const variable = lookup(rule.Variable);
  const expected = rule[operator];
  if (operator === 'IsPresent') return variable.found === (expected === true);
  if (!variable.found)
    throw runtimeError(`Invalid path '${rule.Variable}': The choice state's condition path references an invalid value.`);
  const actual = variable.value;

  let base = operator;
  let operand: unknown = expected;
  if (operator.endsWith('Path') && PATH_COMPARISONS.includes(operator)) {
    base = operator.slice(0, -'Path'.length);
    const other = lookup(String(expected));
    if (!other.found)
      throw runtimeError(`Invalid path '${String(expected)}': The choice state's condition path references an invalid value.`);
    operand = other.value;
  }

  const is = (test: boolean) => test === (operand === true);
  switch (base) {
    case 'IsNull':
      return is(actual === null);
    case 'IsNumeric':
      return is(typeof actual === 'number');
    case 'IsString':
      return is(typeof actual === 'string');
    case 'IsBoolean':
      return is(typeof actual === 'boolean');
    case 'IsTimestamp':
      return is(parseTimestamp(actual) !== undefined);
    case 'StringMatches':
      return typeof actual === 'string' && typeof operand === 'string' && wildcard(operand).test(actual);
    case 'BooleanEquals':
      return typeof actual === 'boolean' && actual === operand;
  }
  const kind = base.startsWith('String') ? 'String' : base.startsWith('Numeric') ? 'Numeric' : 'Timestamp';
  const comparison = base.slice(kind.length);
  let a: string | number | undefined;
  let b: string | number | undefined;
  if (kind === 'String') {
    if (typeof actual !== 'string' || typeof operand !== 'string') return false;
    [a, b] = [actual, operand];
  } else if (kind === 'Numeric') {
    if (typeof actual !== 'number' || typeof operand !== 'number') return false;
    [a, b] = [actual, operand];
  } else {
    [a, b] = [parseTimestamp(actual), parseTimestamp(operand)];
    if (a === undefined || b === undefined) return false;
  }
  switch (comparison) {
    case 'Equals':
      return a === b;
    case 'LessThan':
      return a < b;
    case 'GreaterThan':
      return a > b;
    case 'LessThanEquals':
      return a <= b;
    case 'GreaterThanEquals':
      return a >= b;
    default:
      throw runtimeError(`unknown Choice operator ${operator}`);
  }
}

/** `StringMatches` patterns: `*` matches any run of characters; `\*` and `\\` are literal. */
function wildcard(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!);
    else if (c === '*') source += '[\\s\\S]*';
    else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
