/**
 * The JSONPath subset Amazon States Language uses (AWS evaluates paths with Jayway JsonPath):
 * `$`, `$.a.b`, `$['a']`, `$.a[0]`, `$.a[-1]`, `$.a[*].b`, `$.*`, `$..a`, unions `[0,2]` / `['a','b']`,
 * slices `[1:3]`, and filters `[?(@.price < 10 && @.tag == 'x')]`. Also setting a value at a
 * reference path (ResultPath).
 *
 * A definite path (names and indexes only) selects one value or nothing; any other path selects
 * a list of values (possibly empty), as Jayway returns it.
 */

import { Scanner } from './scanner';

export class JsonPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonPathError';
  }
}

type Filter =
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; operand: Filter }
  | { op: 'exists'; operand: Operand }
  | { op: '==' | '!=' | '<' | '<=' | '>' | '>='; left: Operand; right: Operand };

type Operand = { kind: 'literal'; value: unknown } | { kind: 'path'; relative: boolean; segments: Segment[] };

export type Segment =
  | { kind: 'name'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'wildcard' }
  | { kind: 'deep'; name: string | null }
  | { kind: 'union'; keys: Array<string | number> }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'filter'; filter: Filter };

export interface JsonPath {
  readonly text: string;
  /** `$$` paths address the context object. */
  readonly context: boolean;
  readonly segments: readonly Segment[];
  /** Names and indexes only: selects at most one value. */
  readonly definite: boolean;
}

const cache = new Map<string, JsonPath>();

/** Parses (and caches) a path; throws JsonPathError when it is not valid JSONPath. */
export function parsePath(text: string): JsonPath {
  let parsed = cache.get(text);
  if (!parsed) {
    parsed = new Parser(text).parse();
    if (cache.size > 10_000) cache.clear();
    cache.set(text, parsed);
  }
  return parsed;
}

export function isPath(text: unknown): text is string {
  return typeof text === 'string' && text.startsWith('$');
}

export type QueryResult = { found: true; value: unknown } | { found: false };

/** Evaluates `path` against `root` (the input, or the context object for `$$` paths). */
export function query(path: JsonPath | string, root: unknown): QueryResult {
  const p = typeof path === 'string' ? parsePath(path) : path;
  const values = select(p.segments, root, root);
  if (p.definite) return values.length > 0 ? { found: true, value: values[0] } : { found: false };
  return { found: true, value: values };
}

/**
 * Returns a copy of `root` with `value` placed at the reference path `path` (copy-on-write: the
 * original is not modified). Missing objects on the way are created. Throws JsonPathError when
 * the path goes through something that is not an object (AWS: States.ResultPathMatchFailure).
 */
export function setPath(root: unknown, path: JsonPath | string, value: unknown): unknown {
  const p = typeof path === 'string' ? parsePath(path) : path;
  if (p.context) throw new JsonPathError(`cannot write to the context object (${p.text})`);
  for (const s of p.segments) {
    if (s.kind !== 'name' && s.kind !== 'index') throw new JsonPathError(`${p.text} is not a reference path (only names and indexes)`);
  }
  const put = (node: unknown, i: number): unknown => {
    if (i === p.segments.length) return value;
    const s = p.segments[i]!;
    if (s.kind === 'name') {
      if (node === undefined) node = {};
      if (!isObject(node)) throw new JsonPathError(`cannot set ${p.text}: ${describe(node)} found where an object was expected`);
      return { ...node, [s.name]: put(node[s.name], i + 1) };
    }
    const index = (s as { index: number }).index;
    if (!Array.isArray(node)) throw new JsonPathError(`cannot set ${p.text}: ${describe(node)} found where an array was expected`);
    const at = index < 0 ? node.length + index : index;
    if (at < 0 || at >= node.length) throw new JsonPathError(`cannot set ${p.text}: index ${index} is outside the array`);
    const copy = node.slice();
    copy[at] = put(node[at], i + 1);
    return copy;
  };
  return put(root, 0);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

function select(segments: readonly Segment[], node: unknown, root: unknown): unknown[] {
  let current: unknown[] = [node];
  for (const s of segments) {
    const next: unknown[] = [];
    for (const n of current) step(s, n, root, next);
    current = next;
  }
  return current;
}

function step(s: Segment, n: unknown, root: unknown, out: unknown[]): void {
  switch (s.kind) {
    case 'name':
      if (isObject(n) && Object.hasOwn(n, s.name)) out.push(n[s.name]);
      return;
    case 'index':
      if (Array.isArray(n)) {
        const at = s.index < 0 ? n.length + s.index : s.index;
        if (at >= 0 && at < n.length) out.push(n[at]);
      }
      return;
    case 'wildcard':
      if (Array.isArray(n)) out.push(...n);
      else if (isObject(n)) out.push(...Object.values(n));
      return;
    case 'union':
      for (const key of s.keys) step(typeof key === 'number' ? { kind: 'index', index: key } : { kind: 'name', name: key }, n, root, out);
      return;
    case 'slice': {
      if (!Array.isArray(n)) return;
      const len = n.length;
      const stepBy = s.step ?? 1;
      if (stepBy <= 0) return;
      const norm = (v: number) => (v < 0 ? Math.max(0, len + v) : Math.min(len, v));
      const start = norm(s.start ?? 0);
      const end = norm(s.end ?? len);
      for (let i = start; i < end; i += stepBy) out.push(n[i]);
      return;
    }
    case 'deep': {
      const visit = (v: unknown) => {
        if (s.name === null) {
          if (Array.isArray(v)) out.push(...v);
          else if (isObject(v)) out.push(...Object.values(v));
        } else if (isObject(v) && Object.hasOwn(v, s.name)) {
          out.push(v[s.name]);
        }
        if (Array.isArray(v)) v.forEach(visit);
        else if (isObject(v)) Object.values(v).forEach(visit);
      };
      visit(n);
      return;
    }
    case 'filter': {
      const items = Array.isArray(n) ? n : isObject(n) ? Object.values(n) : [];
      for (const item of items) if (testFilter(s.filter, item, root)) out.push(item);
      return;
    }
  }
}

function operandValue(o: Operand, item: unknown, root: unknown): { found: boolean; value?: unknown } {
  if (o.kind === 'literal') return { found: true, value: o.value };
  const values = select(o.segments, o.relative ? item : root, root);
  return values.length > 0 ? { found: true, value: values[0] } : { found: false };
}

function testFilter(f: Filter, item: unknown, root: unknown): boolean {
  switch (f.op) {
    case 'and':
      return testFilter(f.left, item, root) && testFilter(f.right, item, root);
    case 'or':
      return testFilter(f.left, item, root) || testFilter(f.right, item, root);
    case 'not':
      return !testFilter(f.operand, item, root);
    case 'exists':
      return operandValue(f.operand, item, root).found;
    default: {
      const l = operandValue(f.left, item, root);
      const r = operandValue(f.right, item, root);
      if (!l.found || !r.found) return f.op === '!=' && l.found !== r.found;
      const a = l.value;
      const b = r.value;
      switch (f.op) {
        case '==':
          return deepEqual(a, b);
        case '!=':
          return !deepEqual(a, b);
        default: {
          if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) return false;
          if (f.op === '<') return a < b;
          if (f.op === '<=') return a <= b;
          if (f.op === '>') return a > b;
          return a >= b;
        }
      }
    }
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

class Parser extends Scanner {
  parse(): JsonPath {
    const t = this.text;
    let context = false;
    if (t.startsWith('$$')) {
      context = true;
      this.pos = 2;
    } else if (t.startsWith('$')) {
      this.pos = 1;
    } else {
      this.fail('a path must start with $');
    }
    const segments = this.segments(false);
    if (this.pos !== t.length) this.fail(`unexpected "${t[this.pos]}"`);
    const definite = segments.every((s) => s.kind === 'name' || s.kind === 'index');
    return { text: t, context, segments, definite };
  }

  /** Segments until the end, or (inside a filter) until something that is not a segment. */
  private segments(inFilter: boolean): Segment[] {
    const t = this.text;
    const segments: Segment[] = [];
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (c === '.' && t[this.pos + 1] === '.') {
        this.pos += 2;
        if (t[this.pos] === '*') {
          this.pos++;
          segments.push({ kind: 'deep', name: null });
        } else if (t[this.pos] === '[') {
          const inner = this.bracket();
          if (inner.kind === 'name') segments.push({ kind: 'deep', name: inner.name });
          else this.fail('only names may follow ..');
        } else {
          segments.push({ kind: 'deep', name: this.dotName(inFilter) });
        }
      } else if (c === '.') {
        this.pos++;
        if (t[this.pos] === '*') {
          this.pos++;
          segments.push({ kind: 'wildcard' });
        } else {
          segments.push({ kind: 'name', name: this.dotName(inFilter) });
        }
      } else if (c === '[') {
        segments.push(this.bracket());
      } else if (inFilter) {
        break;
      } else {
        this.fail(`unexpected "${c}"`);
      }
    }
    return segments;
  }

  private dotName(inFilter: boolean): string {
    const t = this.text;
    const start = this.pos;
    const stop = inFilter ? /[.[\s)=!<>&|]/ : /[.[]/;
    while (this.pos < t.length && !stop.test(t[this.pos]!)) this.pos++;
    if (this.pos === start) this.fail('a name is missing after "."');
    return t.slice(start, this.pos);
  }

  private bracket(): Segment {
    const t = this.text;
    this.pos++; // [
    this.skipSpace();
    let segment: Segment;
    if (t[this.pos] === '*') {
      this.pos++;
      segment = { kind: 'wildcard' };
    } else if (t[this.pos] === '?') {
      this.pos++;
      this.skipSpace();
      this.expect('(');
      const filter = this.filterOr();
      this.skipSpace();
      this.expect(')');
      segment = { kind: 'filter', filter };
    } else if (t[this.pos] === "'" || t[this.pos] === '"') {
      const keys: string[] = [this.quoted()];
      this.skipSpace();
      while (t[this.pos] === ',') {
        this.pos++;
        this.skipSpace();
        keys.push(this.quoted());
        this.skipSpace();
      }
      segment = keys.length === 1 ? { kind: 'name', name: keys[0]! } : { kind: 'union', keys };
    } else {
      const first = this.optionalInt();
      this.skipSpace();
      if (t[this.pos] === ':') {
        this.pos++;
        const end = this.optionalInt();
        let stepBy: number | undefined;
        if (t[this.pos] === ':') {
          this.pos++;
          stepBy = this.optionalInt();
        }
        segment = { kind: 'slice', start: first, end, step: stepBy };
      } else {
        if (first === undefined) this.fail('expected an index, a quoted name, * or a filter in [...]');
        const keys: number[] = [first!];
        while (t[this.pos] === ',') {
          this.pos++;
          this.skipSpace();
          const n = this.optionalInt();
          if (n === undefined) this.fail('expected an index');
          keys.push(n!);
          this.skipSpace();
        }
        segment = keys.length === 1 ? { kind: 'index', index: keys[0]! } : { kind: 'union', keys };
      }
    }
    this.skipSpace();
    this.expect(']');
    return segment;
  }

  private filterOr(): Filter {
    return this.leftAssociative('||', 'or', () => this.filterAnd());
  }

  private filterAnd(): Filter {
    return this.leftAssociative('&&', 'and', () => this.filterUnary());
  }

  /** `operand (token operand)*`, grouped from the left. */
  private leftAssociative(token: string, op: 'and' | 'or', operand: () => Filter): Filter {
    let left = operand();
    for (;;) {
      this.skipSpace();
      if (!this.text.startsWith(token, this.pos)) return left;
      this.pos += token.length;
      left = { op, left, right: operand() };
    }
  }

  private filterUnary(): Filter {
    this.skipSpace();
    const t = this.text;
    if (t[this.pos] === '!' && t[this.pos + 1] !== '=') {
      this.pos++;
      return { op: 'not', operand: this.filterUnary() };
    }
    if (t[this.pos] === '(') {
      this.pos++;
      const inner = this.filterOr();
      this.skipSpace();
      this.expect(')');
      return inner;
    }
    const left = this.operand();
    this.skipSpace();
    const op = /^(==|!=|<=|>=|<|>)/.exec(t.slice(this.pos))?.[1] as '==' | '!=' | '<' | '<=' | '>' | '>=' | undefined;
    if (!op) {
      if (left.kind !== 'path') this.fail('a filter needs a comparison or a path');
      return { op: 'exists', operand: left };
    }
    this.pos += op.length;
    this.skipSpace();
    return { op, left, right: this.operand() };
  }

  private operand(): Operand {
    const t = this.text;
    const c = t[this.pos];
    if (c === '@' || c === '$') {
      this.pos++;
      return { kind: 'path', relative: c === '@', segments: this.segments(true) };
    }
    if (c === "'" || c === '"') return { kind: 'literal', value: this.quoted() };
    const m = /^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(t.slice(this.pos));
    if (!m) this.fail('expected a value in the filter');
    this.pos += m![0].length;
    return { kind: 'literal', value: JSON.parse(m![0]) };
  }

  private quoted(): string {
    const t = this.text;
    const quote = t[this.pos];
    if (quote !== "'" && quote !== '"') this.fail('expected a quoted name');
    this.pos++;
    let out = '';
    while (this.pos < t.length && t[this.pos] !== quote) {
      if (t[this.pos] === '\\' && this.pos + 1 < t.length) this.pos++;
      out += t[this.pos++];
    }
    if (t[this.pos] !== quote) this.fail('unterminated quoted name');
    this.pos++;
    return out;
  }

  private optionalInt(): number | undefined {
    const m = /^-?\d+/.exec(this.text.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return Number(m[0]);
  }

  protected fail(message: string): never {
    throw new JsonPathError(`invalid JSONPath ${JSON.stringify(this.text)} at position ${this.pos}: ${message}`);
  }
}
