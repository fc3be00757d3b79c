/**
 * ASL intrinsic functions (`States.Format('Hello, {}', $.name)`, ...) for JSONPath state
 * machines: a small parser and evaluator. Failures raise `States.IntrinsicFailure` as AWS does;
 * a path argument that selects nothing raises `States.Runtime`.
 */
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { StatesError, runtimeError } from './errors';
import { deepEqual, isObject, parsePath, query } from './jsonpath';
import { Scanner } from './scanner';

type Arg =
  | { kind: 'call'; name: string; args: Arg[] }
  | { kind: 'string'; value: string; raw: string }
  | { kind: 'literal'; value: number | boolean | null }
  | { kind: 'path'; text: string };

export interface IntrinsicScope {
  /** The state's effective input (what `$` refers to). */
  readonly input: unknown;
  /** The context object (what `$$` refers to). */
  readonly context: unknown;
}

export const INTRINSIC_FUNCTIONS = [
  'States.Format',
  'States.StringToJson',
  'States.JsonToString',
  'States.Array',
  'States.ArrayPartition',
  'States.ArrayContains',
  'States.ArrayRange',
  'States.ArrayGetItem',
  'States.ArrayLength',
  'States.ArrayUnique',
  'States.Base64Encode',
  'States.Base64Decode',
  'States.Hash',
  'States.JsonMerge',
  'States.MathRandom',
  'States.MathAdd',
  'States.StringSplit',
  'States.UUID',
] as const;

export function isIntrinsic(text: unknown): boolean {
  return typeof text === 'string' && /^\s*States\.[A-Za-z0-9]+\s*\(/.test(text);
}

const cache = new Map<string, Arg>();

/** Parses (and caches) an intrinsic call; throws a `States.Runtime` StatesError when malformed. */
export function parseIntrinsic(text: string): Arg {
  let parsed = cache.get(text);
  if (!parsed) {
    const p = new Parser(text);
    parsed = p.call();
    p.end();
    if (cache.size > 10_000) cache.clear();
    cache.set(text, parsed);
  }
  return parsed;
}

/** Evaluates an intrinsic function call such as `States.Array($.a, 'b', 3)`. */
export function evaluateIntrinsic(text: string, scope: IntrinsicScope): unknown {
  return evaluate(parseIntrinsic(text), scope);
}

function fail(message: string): never {
  throw new StatesError('States.IntrinsicFailure', message);
}

function evaluate(arg: Arg, scope: IntrinsicScope): unknown {
  switch (arg.kind) {
    case 'string':
    case 'literal':
      return arg.value;
    case 'path': {
      const path = parsePath(arg.text);
      const result = query(path, path.context ? scope.context : scope.input);
      if (!result.found) throw runtimeError(`The JsonPath argument ${arg.text} of an intrinsic function could not be found in the input`);
      return result.value;
    }
    case 'call':
      return call(arg, scope);
  }
}

function call(fn: Extract<Arg, { kind: 'call' }>, scope: IntrinsicScope): unknown {
  const values = fn.args.map((a) => evaluate(a, scope));
  const count = (min: number, max = min) => {
    if (values.length < min || values.length > max) {
      fail(`${fn.name} takes ${min === max ? min : `${min} to ${max}`} argument(s), got ${values.length}`);
    }
  };
  const str = (i: number): string => {
    const v = values[i];
    if (typeof v !== 'string') fail(`argument ${i + 1} of ${fn.name} must be a string, got ${JSON.stringify(v)}`);
    return v;
  };
  const int = (i: number): number => {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(`argument ${i + 1} of ${fn.name} must be an integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const arr = (i: number): unknown[] => {
    const v = values[i];
    if (!Array.isArray(v)) fail(`argument ${i + 1} of ${fn.name} must be an array, got ${JSON.stringify(v)}`);
    return v;
  };
  switch (fn.name) {
    case 'States.Format': {
      if (values.length < 1) fail('States.Format needs a template');
      const template = fn.args[0]!.kind === 'string' ? (fn.args[0] as { raw: string }).raw : str(0);
      const args = values.slice(1);
      for (const [i, v] of args.entries()) {
        if (v !== null && typeof v === 'object')
          fail(`argument ${i + 2} of States.Format must be a string, number, boolean or null, got ${JSON.stringify(v)}`);
      }
      let out = '';
      let used = 0;
      for (let i = 0; i < template.length; i++) {
        const c = template[i];
        if (c === '\\' && i + 1 < template.length) {
          out += template[++i];
        } else if (c === '{' && template[i + 1] === '}') {
          if (used >= args.length) fail(`States.Format: the template has more {} placeholders than arguments (${args.length})`);
          out += String(args[used++]);
          i++;
        } else {
          out += c;
        }
      }
      if (used !== args.length) fail(`States.Format: ${args.length} argument(s) for ${used} {} placeholder(s)`);
      return out;
    }
    case 'States.StringToJson': {
      count(1);
      try {
        return JSON.parse(str(0));
      } catch {
        return fail(`States.StringToJson: ${JSON.stringify(values[0])} is not valid JSON`);
      }
    }
    case 'States.JsonToString':
      count(1);
      return JSON.stringify(values[0]);
    case 'States.Array':
      return values;
    case 'States.ArrayPartition': {
      count(2);
      const items = arr(0);
      const size = int(1);
      if (size <= 0) fail('States.ArrayPartition: the chunk size must be positive');
      const chunks: unknown[][] = [];
      for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
      return chunks;
    }
    case 'States.ArrayContains':
      count(2);
      return arr(0).some((v) => deepEqual(v, values[1]));
    case 'States.ArrayRange': {
      count(3);
      const [start, end, stepBy] = [int(0), int(1), int(2)];
      if (stepBy === 0) fail('States.ArrayRange: the step must not be 0');
      const out: number[] = [];
      for (let v = start; stepBy > 0 ? v <= end : v >= end; v += stepBy) {
        out.push(v);
        if (out.length > 1000) fail('States.ArrayRange: the result may hold at most 1000 items');
      }
      return out;
    }
    case 'States.ArrayGetItem': {
      count(2);
      const items = arr(0);
      const index = int(1);
      if (index < 0 || index >= items.length) fail(`States.ArrayGetItem: index ${index} is outside the array (length ${items.length})`);
      return items[index];
    }
    case 'States.ArrayLength':
      count(1);
      return arr(0).length;
    case 'States.ArrayUnique': {
      count(1);
      const out: unknown[] = [];
      for (const v of arr(0)) if (!out.some((o) => deepEqual(o, v))) out.push(v);
      return out;
    }
    case 'States.Base64Encode': {
      count(1);
      const s = str(0);
      if (s.length > 10_000) fail('States.Base64Encode: the input may hold at most 10000 characters');
      return Buffer.from(s, 'utf8').toString('base64');
    }
    case 'States.Base64Decode': {
      count(1);
      const s = str(0);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) fail(`States.Base64Decode: ${JSON.stringify(s)} is not base64`);
      return Buffer.from(s, 'base64').toString('utf8');
    }
    case 'States.Hash': {
      count(2);
      const data = typeof values[0] === 'string' ? values[0] : JSON.stringify(values[0]);
      const algorithms: Record<string, string> = {
        MD5: 'md5',
        'SHA-1': 'sha1',
        'SHA-256': 'sha256',
        'SHA-384': 'sha384',
        'SHA-512': 'sha512',
      };
      const algorithm = algorithms[str(1)];
      if (!algorithm)
        fail(`States.Hash: the algorithm must be one of ${Object.keys(algorithms).join(', ')}, got ${JSON.stringify(values[1])}`);
      return createHash(algorithm).update(data, 'utf8').digest('hex');
    }
    case 'States.JsonMerge': {
      count(3);
      const [a, b, deep] = values;
      if (!isObject(a) || !isObject(b)) fail('States.JsonMerge merges two JSON objects');
      if (deep !== false) fail('States.JsonMerge: only a shallow merge (false) is supported, as in AWS');
      return { ...a, ...b };
    }
    case 'States.MathRandom': {
      count(2, 3);
      const [start, end] = [int(0), int(1)];
      if (end <= start) fail('States.MathRandom: the end must be greater than the start');
      if (values.length === 3) {
        // A seed makes the value deterministic, as in AWS (the sequence differs from Java's).
        const seed = int(2);
        const h = createHash('sha256').update(String(seed)).digest().readUInt32BE(0);
        return start + (h % (end - start));
      }
      return randomInt(start, end);
    }
    case 'States.MathAdd':
      count(2);
      return int(0) + int(1);
    case 'States.StringSplit': {
      count(2);
      const s = str(0);
      const delimiters = new Set(str(1));
      const out: string[] = [];
      let current = '';
      for (const c of s) {
        if (delimiters.has(c)) {
          if (current) out.push(current);
          current = '';
        } else {
          current += c;
        }
      }
      if (current) out.push(current);
      return out;
    }
    case 'States.UUID':
      count(0);
      return randomUUID();
    default:
      return fail(`unknown intrinsic function ${fn.name}`);
  }
}

class Parser extends Scanner {
  end(): void {
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail(`unexpected "${this.text.slice(this.pos)}" after the call`);
  }

  call(): Extract<Arg, { kind: 'call' }> {
    this.skipSpace();
    const m = /^States\.[A-Za-z0-9]+/.exec(this.text.slice(this.pos));
    if (!m) this.fail('expected States.<Function>(...)');
    const name = m![0];
    if (!(INTRINSIC_FUNCTIONS as readonly string[]).includes(name)) this.fail(`unknown intrinsic function ${name}`);
    this.pos += name.length;
    this.skipSpace();
    this.expect('(');
    const args: Arg[] = [];
    this.skipSpace();
    if (this.text[this.pos] !== ')') {
      for (;;) {
        args.push(this.arg());
        this.skipSpace();
        if (this.text[this.pos] === ',') {
          this.pos++;
          continue;
        }
        break;
      }
    }
    this.expect(')');
    return { kind: 'call', name, args };
  }

  private arg(): Arg {
    this.skipSpace();
    const t = this.text;
    const c = t[this.pos];
    if (c === "'") return this.string();
    if (c === '$') return this.path();
    if (t.startsWith('States.', this.pos)) return this.call();
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(t.slice(this.pos));
    if (!m) this.fail('expected a string, number, boolean, null, path or intrinsic function');
    this.pos += m![0].length;
    return { kind: 'literal', value: JSON.parse(m![0]) as number | boolean | null };
  }

  /** A single-quoted string; `raw` keeps the escapes (States.Format tells `\{` from `{`). */
  private string(): Arg {
    const t = this.text;
    this.pos++;
    let value = '';
    let raw = '';
    while (this.pos < t.length && t[this.pos] !== "'") {
      if (t[this.pos] === '\\' && this.pos + 1 < t.length) {
        const next = t[this.pos + 1]!;
        value += next;
        raw += next === '{' || next === '}' || next === '\\' ? `\\${next}` : next;
        this.pos += 2;
        continue;
      }
      value += t[this.pos];
      raw += t[this.pos];
      this.pos++;
    }
    if (t[this.pos] !== "'") this.fail('unterminated string');
    this.pos++;
    return { kind: 'string', value, raw };
  }

  /** A path runs to the next top-level `,` or `)`; brackets and quotes inside it are respected. */
  private path(): Arg {
    const t = this.text;
    const start = this.pos;
    let depth = 0;
    let quote: string | undefined;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      if (quote) {
        if (c === '\\') this.pos++;
        else if (c === quote) quote = undefined;
      } else if (c === "'" || c === '"') {
        quote = c;
      } else if (c === '[' || c === '(') {
        depth++;
      } else if (c === ']' || (c === ')' && depth > 0)) {
        depth--;
      } else if (depth === 0 && (c === ',' || c === ')')) {
        break;
      }
      this.pos++;
    }
    const text = t.slice(start, this.pos).trim();
    try {
      parsePath(text);
    } catch (error) {
      this.fail((error as Error).message);
    }
    return { kind: 'path', text };
  }

  protected fail(message: string): never {
    throw runtimeError(`invalid intrinsic function ${JSON.stringify(this.text)} at position ${this.pos}: ${message}`);
  }
}
