/**
 * SES email templates: the part of Handlebars that SES documents for its templates ("Advanced email
 * personalization", docs.aws.amazon.com/ses/latest/dg/send-personalized-email-advanced.html):
 * `{{name}}` and nested paths (`{{contact.firstName}}`), `{{#each}}` (with `this`, `@index`,
 * `@key`, `@first`, `@last`, `../`), `{{#if}}` / `{{#unless}}` / `{{else}}` / `{{else if}}`,
 * `{{#with}}`, inline partials (`{{#* inline "name"}}` … `{{/inline}}`, `{{> name}}`), comments,
 * `~` whitespace control and Handlebars' standalone-line rule. Written here rather than taken from
 * the handlebars package to keep the local cloud's dependencies to what it already ships; anything
 * else (other helpers, hash arguments, literals, raw blocks) is refused by name when the template
 * is created or sent, never rendered differently from AWS.
 *
 * As in SES: values are NOT HTML-escaped ("SES doesn't escape HTML content when rendering the HTML
 * template", same page), so `{{x}}` and `{{{x}}}` render alike; a value the template prints that
 * is missing from the data is a rendering failure (the message is accepted but not delivered,
 * repost.aws/knowledge-center/ses-sendtemplatedemail-delivery-failure), with the message of SES's
 * Rendering Failure event, "Attribute 'x' is not present in the rendering data.". A missing value
 * in a condition or an `#each` is only false or empty (chosen: that is what they are for).
 */

/** The template cannot be parsed, or uses Handlebars the local cloud does not render. */
export class TemplateSyntaxError extends Error {}

/** The data does not fit the template: SES accepts the message and does not deliver it. */
export class RenderingFailure extends Error {}

interface Path {
  /** As written, for messages. */
  readonly text: string;
  /** How many `../` go up the context stack. */
  readonly up: number;
  /** `@index`, `@key`, `@first`, `@last`, `@root`. */
  readonly data?: string;
  readonly parts: readonly string[];
}

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'value'; readonly path: Path }
  | { readonly kind: 'partial'; readonly name: string; readonly context?: Path }
  | {
      readonly kind: 'block';
      readonly helper: 'if' | 'unless' | 'each' | 'with';
      readonly path: Path;
      readonly body: Node[];
      readonly inverse: Node[];
    };

/** A template parsed once, rendered for each message. */
export interface CompiledTemplate {
  render(data: unknown): string;
}

type Token =
  | { kind: 'text'; text: string }
  | {
      kind: 'tag';
      /** What is between the braces, without `~` and the sigils of comments. */
      body: string;
      type: 'comment' | 'value' | 'open' | 'inline' | 'else' | 'close' | 'partial';
      /** Blocks, else, comments and partials: removed with their line when alone on it. */
      standalone: boolean;
      stripBefore: boolean;
      stripAfter: boolean;
    };

const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);

/** Parses `source` (a template's subject, text or HTML part); throws `TemplateSyntaxError`. */
export function compileTemplate(source: string): CompiledTemplate {
  const partials = new Map<string, Node[]>();
  const tokens = tokenize(source);
  stripWhitespace(tokens);
  const parser = new Parser(tokens, partials);
  const nodes = parser.sequence(undefined);
  return { render: (data) => renderNodes(nodes, [{ value: data }], { root: data, partials, depth: 0 }) };
}

// ------------------------------------------------------------------------------------------------
// Tokens

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let text = '';
  let i = 0;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    if (open < 0) {
      text += source.slice(i);
      break;
    }
    // `\{{` is a literal `{{`, as in Handlebars.
    if (open > 0 && source[open - 1] === '\\') {
      text += `${source.slice(i, open - 1)}{{`;
      i = open + 2;
      continue;
    }
    text += source.slice(i, open);
    if (text) tokens.push({ kind: 'text', text });
    text = '';
    const { token, end } = readTag(source, open);
    tokens.push(token);
    i = end;
  }
  if (text) tokens.push({ kind: 'text', text });
  return tokens;
}

function readTag(source: string, open: number): { token: Token; end: number } {
  const triple = source.startsWith('{{{', open);
  let start = open + (triple ? 3 : 2);
  const stripBefore = source[start] === '~';
  if (stripBefore) start++;
  if (source.startsWith('!--', start)) {
    const close = source.indexOf('--', start + 3);
    const end = close < 0 ? -1 : source.indexOf('}}', close + 2);
    if (close < 0 || end < 0 || !/^~?$/.test(source.slice(close + 2, end))) throw unclosed(source, open);
    return {
      token: { kind: 'tag', type: 'comment', body: '', standalone: true, stripBefore, stripAfter: source[end - 1] === '~' },
      end: end + 2,
    };
  }
  const closer = triple ? '}}}' : '}}';
  const close = source.indexOf(closer, start);
  if (close < 0) throw unclosed(source, open);
  let inner = source.slice(start, close);
  const stripAfter = inner.endsWith('~');
  if (stripAfter) inner = inner.slice(0, -1);
  const end = close + closer.length;
  const body = inner.trim();
  const tag = (type: Extract<Token, { kind: 'tag' }>['type'], content: string, standalone: boolean): { token: Token; end: number } => ({
    token: { kind: 'tag', type, body: content.trim(), standalone, stripBefore, stripAfter },
    end,
  });
  if (triple) {
    if (body.startsWith('{'))
      throw new TemplateSyntaxError(`raw blocks ({{{{${body.slice(1)}}}}}) are not supported by the local cloud's template renderer`);
    return tag('value', body, false);
  }
  if (body.startsWith('!')) return tag('comment', '', true);
  if (body.startsWith('#*')) return tag('inline', body.slice(2), true);
  if (body.startsWith('#>'))
    throw new TemplateSyntaxError(`partial blocks ({{${body}}}) are not supported by the local cloud's template renderer`);
  if (body.startsWith('#')) return tag('open', body.slice(1), true);
  if (body.startsWith('/')) return tag('close', body.slice(1), true);
  if (body === '^' || body === 'else' || body.startsWith('else ')) return tag('else', body === '^' ? '' : body.slice(4), true);
  if (body.startsWith('>')) return tag('partial', body.slice(1), true);
  if (body.startsWith('^'))
    throw new TemplateSyntaxError(`inverse blocks ({{${body}}}) are not supported by the local cloud's template renderer`);
  // `{{&x}}` is Handlebars' other spelling of `{{{x}}}`.
  return tag('value', body.replace(/^&/, ''), false);
}

function unclosed(source: string, at: number): TemplateSyntaxError {
  return new TemplateSyntaxError(`unclosed tag at ${JSON.stringify(source.slice(at, at + 30))}`);
}

/**
 * `~` trims the whitespace beside a tag; a block, `else`, comment or partial tag alone on its line
 * takes the line's indentation and line break with it (decided on the original text, as Handlebars does).
 */
function stripWhitespace(tokens: Token[]): void {
  const last = tokens.length - 1;
  const standalone = tokens.map((token, i) => {
    if (token.kind !== 'tag' || !token.standalone) return false;
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    const lineStart = before === undefined || (before.kind === 'text' && (i - 1 === 0 ? /(^|\n)[ \t]*$/ : /\n[ \t]*$/).test(before.text));
    const lineEnd =
      after === undefined || (after.kind === 'text' && (i + 1 === last ? /^[ \t]*(\r?\n|$)/ : /^[ \t]*\r?\n/).test(after.text));
    return lineStart && lineEnd;
  });
  tokens.forEach((token, i) => {
    if (token.kind !== 'tag') return;
    const before = tokens[i - 1];
    const after = tokens[i + 1];
    if (standalone[i]) {
      if (before?.kind === 'text') before.text = before.text.replace(/[ \t]*$/, '');
      if (after?.kind === 'text') after.text = after.text.replace(/^[ \t]*\r?\n?/, '');
    }
    if (token.stripBefore && before?.kind === 'text') before.text = before.text.replace(/\s+$/, '');
    if (token.stripAfter && after?.kind === 'text') after.text = after.text.replace(/^\s+/, '');
  });
}

// ------------------------------------------------------------------------------------------------
// Tree

class Parser {
  private at = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly partials: Map<string, Node[]>,
  ) {}

  /** Nodes up to the `{{/name}}` or `{{else}}` that ends them (the end of the template when `closing` is undefined). */
  sequence(closing: string | undefined): Node[] {
    const nodes: Node[] = [];
    while (this.at < this.tokens.length) {
      const token = this.tokens[this.at]!;
      if (token.kind === 'text') {
        this.at++;
        if (token.text) nodes.push({ kind: 'text', text: token.text });
        continue;
      }
      if (token.type === 'close' || token.type === 'else') {
        if (closing === undefined)
          throw new TemplateSyntaxError(`{{${token.type === 'else' ? 'else' : `/${token.body}`}}} without an open block`);
        return nodes; // the caller reads it
      }
      this.at++;
      switch (token.type) {
        case 'comment':
          break;
        case 'value':
          nodes.push({ kind: 'value', path: parseValue(token.body) });
          break;
        case 'partial':
          nodes.push(parsePartial(token.body));
          break;
        case 'inline':
          this.inline(token.body);
          break;
        case 'open':
          nodes.push(this.block(token.body));
          break;
      }
    }
    if (closing !== undefined) throw new TemplateSyntaxError(`{{#${closing}}} is never closed with {{/${closing}}}`);
    return nodes;
  }

  private block(opening: string): Node {
    const [helper, ...args] = opening.split(/\s+/);
    if (!helper || !BLOCK_HELPERS.has(helper))
      throw new TemplateSyntaxError(
        `the block helper {{#${helper ?? ''}}} is not supported by the local cloud's template renderer (supported: #if, #unless, #each, #with)`,
      );
    return this.blockBody(helper as 'if' | 'unless' | 'each' | 'with', args, helper);
  }

  /** The body of a block whose helper and arguments are read; `closing` is the name its `{{/…}}` must carry. */
  private blockBody(helper: 'if' | 'unless' | 'each' | 'with', args: string[], closing: string): Node {
    if (args.length !== 1)
      throw new TemplateSyntaxError(
        `{{#${helper}}} takes one path, got ${JSON.stringify(args.join(' '))} (hash arguments and sub-expressions are not supported)`,
      );
    const path = parsePath(args[0]!);
    const body = this.sequence(closing);
    let inverse: Node[] = [];
    const next = this.tokens[this.at];
    if (next?.kind === 'tag' && next.type === 'else') {
      this.at++;
      if (next.body) {
        // `{{else if x}}`: a block of its own, closed by this block's `{{/…}}`.
        const [chained, ...chainedArgs] = next.body.split(/\s+/);
        if (chained !== 'if' && chained !== 'unless')
          throw new TemplateSyntaxError(
            `{{else ${next.body}}} is not supported by the local cloud's template renderer (only {{else if}} and {{else unless}})`,
          );
        inverse = [this.blockBody(chained, chainedArgs, closing)];
        return { kind: 'block', helper, path, body, inverse };
      }
      inverse = this.sequence(closing);
    }
    const end = this.tokens[this.at];
    if (end?.kind !== 'tag' || end.type !== 'close') throw new TemplateSyntaxError(`{{#${helper}}} is never closed with {{/${closing}}}`);
    if (end.body !== closing) throw new TemplateSyntaxError(`{{#${closing}}} is closed by {{/${end.body}}}`);
    this.at++;
    return { kind: 'block', helper, path, body, inverse };
  }

  private inline(opening: string): void {
    const m = /^inline\s+(?:"([^"]+)"|'([^']+)')$/.exec(opening);
    if (!m) throw new TemplateSyntaxError(`{{#*${opening}}}: only {{#* inline "name"}} decorators are supported`);
    const body = this.sequence('inline');
    const end = this.tokens[this.at];
    if (end?.kind !== 'tag' || end.type !== 'close' || end.body !== 'inline')
      throw new TemplateSyntaxError('{{#* inline}} is never closed with {{/inline}}');
    this.at++;
    this.partials.set((m[1] ?? m[2])!, body);
  }
}

function parseValue(body: string): Path {
  if (/\s/.test(body))
    throw new TemplateSyntaxError(
      `{{${body}}}: helper calls are not supported by the local cloud's template renderer, only paths such as {{contact.firstName}}`,
    );
  return parsePath(body);
}

function parsePartial(body: string): Node {
  const [name, context, ...rest] = body.split(/\s+/);
  if (!name || rest.length > 0 || (context?.includes('=') ?? false))
    throw new TemplateSyntaxError(`{{> ${body}}}: only {{> name}} and {{> name path}} are supported`);
  return { kind: 'partial', name: name.replace(/^["']|["']$/g, ''), ...(context ? { context: parsePath(context) } : {}) };
}

const SEGMENT = /^(?:\[([^\]]*)\]|([^./[\]]+))/;

function parsePath(text: string): Path {
  if (text.length === 0) throw new TemplateSyntaxError('empty {{}}');
  if (/^["'\d-]/.test(text) || text === 'true' || text === 'false' || text === 'null' || text === 'undefined')
    throw new TemplateSyntaxError(`{{${text}}}: literals are not supported by the local cloud's template renderer`);
  let rest = text;
  let up = 0;
  let data: string | undefined;
  while (rest.startsWith('../')) {
    up++;
    rest = rest.slice(3);
  }
  if (rest.startsWith('@')) {
    const m = /^@([A-Za-z]+)/.exec(rest);
    if (!m || !['index', 'key', 'first', 'last', 'root'].includes(m[1]!))
      throw new TemplateSyntaxError(`{{${text}}}: only @index, @key, @first, @last and @root are supported`);
    data = m[1];
    rest = rest.slice(m[0].length).replace(/^[./]/, '');
  } else if (rest === 'this' || rest === '.') {
    rest = '';
  } else if (rest.startsWith('this.') || rest.startsWith('this/') || rest.startsWith('./')) {
    rest = rest.slice(rest.startsWith('./') ? 2 : 5);
  }
  const parts: string[] = [];
  while (rest.length > 0) {
    const m = SEGMENT.exec(rest);
    if (!m) throw new TemplateSyntaxError(`{{${text}}}: not a path`);
    parts.push(m[1] ?? m[2]!);
    rest = rest.slice(m[0].length);
    if (rest.length > 0) {
      if (rest[0] !== '.' && rest[0] !== '/') throw new TemplateSyntaxError(`{{${text}}}: not a path`);
      rest = rest.slice(1);
      if (rest.length === 0) throw new TemplateSyntaxError(`{{${text}}}: not a path`);
    }
  }
  if (data && data !== 'root' && parts.length > 0) throw new TemplateSyntaxError(`{{${text}}}: @${data} has no members`);
  return { text, up, ...(data ? { data } : {}), parts };
}

// ------------------------------------------------------------------------------------------------
// Rendering

interface Frame {
  readonly value: unknown;
  readonly index?: number;
  readonly key?: string | number;
  readonly first?: boolean;
  readonly last?: boolean;
}

interface RenderState {
  readonly root: unknown;
  readonly partials: Map<string, Node[]>;
  /** Partials that include themselves would never end. */
  readonly depth: number;
}

const MISSING = Symbol('missing');

function renderNodes(nodes: readonly Node[], stack: readonly Frame[], state: RenderState): string {
  let out = '';
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out += node.text;
        break;
      case 'value': {
        const value = lookup(node.path, stack, state);
        if (value === MISSING || value === undefined)
          throw new RenderingFailure(`Attribute '${node.path.text}' is not present in the rendering data.`);
        out += value === null ? '' : String(value);
        break;
      }
      case 'partial': {
        const partial = state.partials.get(node.name);
        if (!partial) throw new RenderingFailure(`The partial '${node.name}' is not defined in the template.`);
        if (state.depth > 50) throw new RenderingFailure(`The partial '${node.name}' includes itself without end.`);
        const context = node.context ? lookup(node.context, stack, state) : undefined;
        const frames = node.context ? [...stack, { value: context === MISSING ? undefined : context }] : stack;
        out += renderNodes(partial, frames, { ...state, depth: state.depth + 1 });
        break;
      }
      case 'block':
        out += renderBlock(node, stack, state);
        break;
    }
  }
  return out;
}

function renderBlock(node: Extract<Node, { kind: 'block' }>, stack: readonly Frame[], state: RenderState): string {
  const found = lookup(node.path, stack, state);
  const value = found === MISSING ? undefined : found;
  switch (node.helper) {
    case 'if':
      return renderNodes(isEmpty(value) ? node.inverse : node.body, stack, state);
    case 'unless':
      return renderNodes(isEmpty(value) ? node.body : node.inverse, stack, state);
    case 'with':
      return isEmpty(value) ? renderNodes(node.inverse, stack, state) : renderNodes(node.body, [...stack, { value }], state);
    case 'each': {
      const entries: Array<[string | number, unknown]> = Array.isArray(value)
        ? value.map((v, i) => [i, v])
        : value !== null && typeof value === 'object'
          ? Object.entries(value)
          : [];
      if (entries.length === 0) return renderNodes(node.inverse, stack, state);
      return entries
        .map(([key, item], index) =>
          renderNodes(node.body, [...stack, { value: item, index, key, first: index === 0, last: index === entries.length - 1 }], state),
        )
        .join('');
    }
  }
}

/** Handlebars' falsiness for blocks: false, undefined, null, '', 0 and an empty list. */
function isEmpty(value: unknown): boolean {
  return !value || (Array.isArray(value) && value.length === 0);
}

function lookup(path: Path, stack: readonly Frame[], state: RenderState): unknown {
  const frame = stack[stack.length - 1 - path.up];
  if (!frame) return MISSING;
  let value: unknown;
  switch (path.data) {
    case undefined:
      value = frame.value;
      break;
    case 'root':
      value = state.root;
      break;
    case 'index':
      return frame.index ?? MISSING;
    case 'key':
      return frame.key ?? MISSING;
    case 'first':
      return frame.first ?? MISSING;
    case 'last':
      return frame.last ?? MISSING;
  }
  for (const part of path.parts) {
    if (typeof value === 'string' || Array.isArray(value)) {
      if (part === 'length') {
        value = value.length;
        continue;
      }
    }
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return MISSING;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
