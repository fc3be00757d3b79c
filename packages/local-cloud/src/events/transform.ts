/**
 * What an EventBridge rule target receives: the whole event, a constant `Input`, the part an
 * `InputPath` selects, or an `InputTransformer` template filled from the event, with the
 * semantics AWS documents ("Amazon EventBridge input transformation"):
 *
 *  - Paths are the JSONPath subset EventBridge evaluates: `$`, dot notation (names may contain
 *    dashes, underscores, slashes), array indices and `*` wildcards.
 *  - A template that is a JSON object (starts with `{`, or `[`) is filled by context: a placeholder
 *    in a value position becomes the value's JSON (strings quoted, objects as JSON); inside a JSON
 *    string it becomes the value's text, not escaped (AWS does not escape extracted values), and an
 *    object or array referenced inside a string loses its internal quotes.
 *  - Any other template is text: placeholders become the values' text; a template written as a
 *    quoted string (`"instance <instance> is in <state>"`, what CDK's `RuleTargetInput.fromText`
 *    synthesizes) keeps its quotes, so the target receives a JSON string.
 *  - A path that does not match the event creates no variable: it renders as nothing inside a
 *    string and, so the output stays JSON, as `null` in a value position.
 *  - Predefined variables: `aws.events.rule-arn`, `aws.events.rule-name`,
 *    `aws.events.event.ingestion-time`, `aws.events.event` (the event without `detail`) and
 *    `aws.events.event.json` (the whole event).
 */

export const PREDEFINED_VARIABLES = [
  'aws.events.rule-arn',
  'aws.events.rule-name',
  'aws.events.event.ingestion-time',
  'aws.events.event',
  'aws.events.event.json',
] as const;

/** Raised for a path or template EventBridge's PutTargets would refuse. */
export class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

type Segment = { kind: 'name'; name: string } | { kind: 'index'; index: number } | { kind: 'wildcard' };

export interface CompiledPath {
  readonly text: string;
  /** The selected value, or `undefined` when the path does not match the event. */
  select(value: unknown): unknown;
}

/** Compiles a JSONPath of the subset EventBridge supports. Throws TransformError. */
export function compilePath(text: string): CompiledPath {
  const path = text.trim();
  if (!path.startsWith('$')) throw new TransformError(`"${text}" is not a valid JSON path (it must start with $)`);
  const segments: Segment[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      let j = i + 1;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      const name = path.slice(i + 1, j);
      if (!name) throw new TransformError(`"${text}" is not a valid JSON path (empty name at ${i})`);
      segments.push(name === '*' ? { kind: 'wildcard' } : { kind: 'name', name });
      i = j;
    } else if (c === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new TransformError(`"${text}" is not a valid JSON path (unclosed [)`);
      const inner = path.slice(i + 1, close).trim();
      if (inner === '*') segments.push({ kind: 'wildcard' });
      else if (/^\d+$/.test(inner)) segments.push({ kind: 'index', index: Number(inner) });
      else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner)) segments.push({ kind: 'name', name: inner.slice(1, -1) });
      else throw new TransformError(`"${text}" is not a valid JSON path (bad subscript [${inner}])`);
      i = close + 1;
    } else {
      throw new TransformError(`"${text}" is not a valid JSON path (unexpected "${c}" at ${i})`);
    }
  }
  const wildcard = segments.some((s) => s.kind === 'wildcard');
  return {
    text,
    select(value: unknown): unknown {
      const results = walk(value, segments, 0);
      if (wildcard) return results.length > 0 ? results : undefined;
      return results[0];
    },
  };
}

function walk(value: unknown, segments: Segment[], at: number): unknown[] {
  if (value === undefined) return [];
  if (at === segments.length) return [value];
  const segment = segments[at]!;
  if (segment.kind === 'wildcard') {
    const children = Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value) : [];
    return children.flatMap((child) => walk(child, segments, at + 1));
  }
  if (segment.kind === 'index') {
    return Array.isArray(value) ? walk(value[segment.index], segments, at + 1) : [];
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, segment.name)) {
    return walk((value as Record<string, unknown>)[segment.name], segments, at + 1);
  }
  return [];
}

export interface InputTransformerSpec {
  readonly InputPathsMap?: Record<string, string>;
  readonly InputTemplate: string;
}

export interface CompiledTransformer {
  /** Fills the template for one event. */
  render(event: Record<string, unknown>, context: { ruleArn: string; ruleName: string; ingestionTime: string }): string;
}

const PLACEHOLDER_NAME = /^[A-Za-z0-9_.-]+$/;

/** Validates and compiles an `InputTransformer` as PutTargets would. Throws TransformError. */
export function compileTransformer(spec: InputTransformerSpec): CompiledTransformer {
  if (typeof spec.InputTemplate !== 'string' || spec.InputTemplate.length === 0) {
    throw new TransformError('InputTransformer.InputTemplate is required');
  }
  const paths = new Map<string, CompiledPath>();
  for (const [name, path] of Object.entries(spec.InputPathsMap ?? {})) {
    if ((PREDEFINED_VARIABLES as readonly string[]).includes(name)) {
      throw new TransformError(`InputPathsMap key ${name} is reserved for a predefined variable`);
    }
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new TransformError(`InputPathsMap key "${name}" is not valid`);
    paths.set(name, compilePath(String(path)));
  }
  const known = new Set<string>([...paths.keys(), ...PREDEFINED_VARIABLES]);
  const template = spec.InputTemplate;
  for (const match of template.matchAll(/<([^<>]*)>/g)) {
    const name = match[1]!;
    if (PLACEHOLDER_NAME.test(name) && !known.has(name)) {
      throw new TransformError(`InputTemplate placeholder <${name}> is not defined in InputPathsMap`);
    }
  }
  const json = /^\s*[{[]/.test(template);
  return {
    render(event, context) {
      const values = new Map<string, unknown>();
      for (const [name, path] of paths) values.set(name, path.select(event));
      values.set('aws.events.rule-arn', context.ruleArn);
      values.set('aws.events.rule-name', context.ruleName);
      values.set('aws.events.event.ingestion-time', context.ingestionTime);
      const { detail: _detail, ...withoutDetail } = event;
      values.set('aws.events.event', withoutDetail);
      values.set('aws.events.event.json', event);
      return fill(template, values, json);
    },
  };
}

/** Replaces `<name>` placeholders, tracking JSON string context when `json`. */
function fill(template: string, values: Map<string, unknown>, json: boolean): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (json && inString && c === '\\') {
      out += c + (template[i + 1] ?? '');
      i++;
      continue;
    }
    if (json && c === '"') {
      inString = !inString;
      out += c;
      continue;
    }
    if (c === '<') {
      const close = template.indexOf('>', i + 1);
      const name = close > i ? template.slice(i + 1, close) : '';
      if (close > i && values.has(name)) {
        const value = values.get(name);
        out += json && !inString ? (value === undefined ? 'null' : JSON.stringify(value)) : textOf(value);
        i = close;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** A value as it appears inside a string: raw text; objects and arrays without their quotes. */
function textOf(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value).replace(/"/g, '');
  return String(value);
}
