/**
 * lambdas/shared/dynamo-value.ts on its own: each limit at its boundary, the field names it gives
 * (dotted, with odd keys quoted), the zod schema that passes the raw value on, and that hostile
 * input (very deep, very wide) costs bounded work. Which limits DynamoDB really has is shown
 * against DynamoDB Local in test/integration/topic-publish-payloads.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DYNAMO_MAX_ATTRIBUTE_DEPTH, dynamoSize, dynamoValue, dynamoValueIssues } from '../../lambdas/shared/dynamo-value';
import { fieldIssues } from '../../lambdas/shared/validation';

const fields = (value: unknown, options = {}) => dynamoValueIssues(value, { path: ['p'], ...options }).map((i) => i.field);
const nestedObjects = (levels: number): unknown => (levels === 0 ? 1 : { a: nestedObjects(levels - 1) });

describe('dynamoValueIssues', () => {
  it('accepts what DynamoDB stores, up to each limit', () => {
    const value = {
      safe: [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e-130, -1e-130, 0, -0, 0.1 + 0.2, 1.5],
      strings: ['', '😀', 'é', 'a\u0000b'],
      keys: { '😀': 1, 'a.b': 2, ' ': 3, prototype: 4, constructor_: 5, __proto: 6 },
      nothing: null,
      flags: [true, false],
      empty: [{}, []],
    };
    expect(dynamoValueIssues(value)).toEqual([]);
    expect(dynamoValueIssues(nestedObjects(DYNAMO_MAX_ATTRIBUTE_DEPTH))).toEqual([]);
  });

  it.each([
    ['Infinity', Number.POSITIVE_INFINITY, /not finite/],
    ['-Infinity', Number.NEGATIVE_INFINITY, /not finite/],
    ['NaN', Number.NaN, /not finite/],
    ['2^53', 2 ** 53, /as a string/],
    ['-(2^53)', -(2 ** 53), /as a string/],
    ['1e300', 1e300, /as a string/],
    ['1e-131', 1e-131, /1e-130/],
    ['-5e-324', -5e-324, /1e-130/],
  ])('refuses the number %s', (_name, n, message) => {
    expect(dynamoValueIssues({ n }, { path: ['p'] })).toEqual([{ field: 'p.n', message: expect.stringMatching(message) }]);
  });

  it('refuses lone surrogates in strings and keys, not surrogate pairs', () => {
    expect(fields({ s: 'x\ud800', t: '\udfff', ok: '\ud83d\ude00' })).toEqual(['p.s', 'p.t']);
    expect(dynamoValueIssues({ '\udc00': 1 }, { path: ['p'] })).toEqual([
      { field: 'p."\\udc00"', message: expect.stringMatching(/surrogate/) },
    ]);
  });

  it('refuses empty, __proto__ and constructor keys at any level, reading own __proto__ keys JSON.parse makes', () => {
    const value = JSON.parse('{"":1,"a":{"__proto__":{"x":1}},"b":[{"constructor":2}]}') as unknown;
    expect(dynamoValueIssues(value, { path: ['p'] })).toEqual([
      { field: 'p.""', message: expect.stringMatching(/Empty key/) },
      { field: 'p.a.__proto__', message: expect.stringMatching(/not allowed/) },
      { field: 'p.b.0.constructor', message: expect.stringMatching(/not allowed/) },
    ]);
  });

  it('counts objects and arrays, the value itself included, and names the first one too deep', () => {
    const tooDeep = nestedObjects(DYNAMO_MAX_ATTRIBUTE_DEPTH + 1);
    expect(dynamoValueIssues(tooDeep, { path: ['p'] })).toEqual([
      {
        field: `p${'.a'.repeat(DYNAMO_MAX_ATTRIBUTE_DEPTH)}`,
        message: `Nested deeper than ${DYNAMO_MAX_ATTRIBUTE_DEPTH} levels of objects and arrays`,
      },
    ]);
    expect(fields({ l: [[[]]] }, { maxDepth: 3 })).toEqual(['p.l.0.0']);
    expect(fields({ l: [[1]] }, { maxDepth: 3 })).toEqual([]);
  });

  it('walks a hostile depth without overflowing the stack', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`) as unknown;
    expect(dynamoValueIssues(deep)).toHaveLength(1);
  });

  it('stops at maxIssues', () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, Number.POSITIVE_INFINITY]));
    expect(dynamoValueIssues(many)).toHaveLength(20);
    expect(dynamoValueIssues(many, { maxIssues: 3 })).toHaveLength(3);
  });

  it('quotes keys that would make the dotted name ambiguous', () => {
    expect(fields({ 'a.b': { 'x y': Number.NaN }, '[0]': Number.NaN })).toEqual(['p."a.b"."x y"', 'p."[0]"']);
    expect(dynamoValueIssues(Number.NaN)).toEqual([{ field: '(root)', message: expect.any(String) }]);
  });

  it('refuses what JSON cannot carry', () => {
    expect(fields({ d: new Date(0), f: () => 1, u: undefined, b: 1n })).toEqual(['p.d', 'p.f', 'p.u', 'p.b']);
    expect(fields(Object.create(null) as object)).toEqual([]);
  });

  it('bounds the size as DynamoDB counts it', () => {
    expect(fields({ s: 'x'.repeat(100) }, { maxBytes: 100 })).toEqual(['p']);
    expect(fields({ s: 'x'.repeat(10) }, { maxBytes: 100 })).toEqual([]);
  });
});

describe('dynamoSize', () => {
  it("follows DynamoDB's accounting", () => {
    expect(dynamoSize('héllo')).toBe(6);
    expect(dynamoSize(true)).toBe(1);
    expect(dynamoSize(null)).toBe(1);
    expect(dynamoSize(12)).toBe(2);
    expect(dynamoSize(123456789012345)).toBe(9);
    expect(dynamoSize(0.000123)).toBe(3);
    expect(dynamoSize([])).toBe(3);
    expect(dynamoSize({ ab: 'cd' })).toBe(3 + 1 + 2 + 2);
    expect(dynamoSize(['a', 1])).toBe(3 + 1 + 1 + 1 + 2);
  });
});

describe('dynamoValue (zod)', () => {
  const schema = z.strictObject({ payload: dynamoValue().pipe(z.record(z.string(), z.unknown())) });

  it('names each problem below the field it checks, in the house field format', () => {
    const parsed = schema.safeParse(JSON.parse('{"payload":{"a":{"":1},"b":1e999,"__proto__":{}}}'));
    expect(parsed.success).toBe(false);
    expect(fieldIssues(parsed.error!)).toEqual([
      { field: 'payload.a.""', message: expect.any(String) },
      { field: 'payload.b', message: expect.any(String) },
      { field: 'payload.__proto__', message: expect.any(String) },
    ]);
  });

  it('passes a storable value on to the shape schema', () => {
    expect(schema.parse({ payload: { a: [1, 'x'] } })).toEqual({ payload: { a: [1, 'x'] } });
    expect(fieldIssues(schema.safeParse({ payload: 'no' }).error!)).toEqual([{ field: 'payload', message: expect.any(String) }]);
  });
});
