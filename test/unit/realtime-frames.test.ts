/**
 * Client frames in, server frames out (lambdas/shared/realtime/frames.ts): `parseClientFrame`
 * turns every malformed frame into a `bad_request` error frame that names what is wrong and echoes
 * the subscription id only when it is one; `toErrorFrame` maps thrown errors to frame codes without
 * leaking internals. The basic builders are covered by frames.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  AppError,
  BadRequestError,
  ForbiddenError,
  RateLimitedError,
  TooManySubscriptionsError,
  UnauthorizedError,
} from '../../lambdas/shared/errors';
import {
  clientFrameEnvelopeSchema,
  dataFrameSchema,
  MAX_FRAME_BYTES,
  parseClientFrame,
  pingFrameSchema,
  serializeFrame,
  serverFrameSchema,
  subscribeFrameSchema,
  toErrorFrame,
  unsubscribeFrameSchema,
  type ErrorFrame,
  type ServerFrame,
} from '../../lambdas/shared/realtime/frames';

/** The error frame of a frame that must not parse. */
function refused(body: string | undefined, schema: Parameters<typeof parseClientFrame>[1] = subscribeFrameSchema): ErrorFrame {
  const result = parseClientFrame(body, schema);
  if (result.ok) throw new Error(`expected ${JSON.stringify(body)} to be refused`);
  expect(result.error.type).toBe('error');
  expect(result.error.code).toBe('bad_request');
  return result.error;
}

const subscribe = (fields: Record<string, unknown>) => JSON.stringify({ type: 'subscribe', id: 's1', topic: 'feed:prices', ...fields });

describe('parseClientFrame: the envelope', () => {
  it.each([undefined, ''])('refuses an empty frame (%j)', (body) => {
    expect(refused(body).message).toMatch(/^Frame is empty/);
  });

  it('refuses frames over 32 KB, counting bytes, not characters', () => {
    expect(MAX_FRAME_BYTES).toBe(32 * 1024);
    const ping = '{"type":"ping"}';
    const atLimit = ping + ' '.repeat(MAX_FRAME_BYTES - ping.length);
    expect(parseClientFrame(atLimit, pingFrameSchema)).toEqual({ ok: true, frame: { type: 'ping' } });
    expect(refused(`${atLimit} `, pingFrameSchema).message).toBe('Frame exceeds 32768 bytes');
    // 16,385 characters, 32,770 bytes in UTF-8.
    const wide = JSON.stringify({ type: 'subscribe', id: 's1', topic: 'feed:a', lastEventId: 'é'.repeat(16_385) });
    expect(wide.length).toBeLessThan(MAX_FRAME_BYTES);
    const error = refused(wide);
    expect(error.message).toBe('Frame exceeds 32768 bytes');
    // Refused before parsing: the id is not echoed from a frame this big.
    expect(error).not.toHaveProperty('id');
  });

  it.each(['{', 'ping', "{'type':'ping'}", '{"type":"ping"'])('refuses %j as not JSON', (body) => {
    expect(refused(body).message).toBe('Frame is not valid JSON');
  });

  it.each(['[]', '[{"type":"ping"}]', 'null', '42', '"ping"', 'true'])('refuses %s: a frame is a JSON object', (body) => {
    const error = refused(body, clientFrameEnvelopeSchema);
    expect(error.message).toMatch(/^Invalid frame: \(root\): /);
    expect(error).not.toHaveProperty('id');
  });

  it('routes on type alone and keeps the rest for the route', () => {
    expect(parseClientFrame('{"type":"whatever","id":5,"x":1}', clientFrameEnvelopeSchema)).toEqual({
      ok: true,
      frame: { type: 'whatever', id: 5, x: 1 },
    });
    expect(refused('{"id":"s1"}', clientFrameEnvelopeSchema).message).toContain('type:');
    expect(refused('{"type":""}', clientFrameEnvelopeSchema).message).toContain('type:');
  });
});

describe('parseClientFrame: subscribe', () => {
  it('accepts a subscribe frame with and without lastEventId', () => {
    expect(parseClientFrame(subscribe({}), subscribeFrameSchema)).toEqual({
      ok: true,
      frame: { type: 'subscribe', id: 's1', topic: 'feed:prices' },
    });
    expect(parseClientFrame(subscribe({ lastEventId: 'feed:prices:3' }), subscribeFrameSchema)).toEqual({
      ok: true,
      frame: { type: 'subscribe', id: 's1', topic: 'feed:prices', lastEventId: 'feed:prices:3' },
    });
  });

  it.each(['id', 'topic'])('names a missing %s', (field) => {
    const frame: Record<string, unknown> = { type: 'subscribe', id: 's1', topic: 'feed:prices' };
    delete frame[field];
    expect(refused(JSON.stringify(frame)).message).toMatch(new RegExp(`^Invalid frame: ${field}: `));
  });

  it('names every unknown field', () => {
    const message = refused(subscribe({ since: 3, replay: true })).message;
    expect(message).toContain('since: Unknown field');
    expect(message).toContain('replay: Unknown field');
  });

  it('names a wrong type', () => {
    expect(refused(JSON.stringify({ type: 'unsubscribe', id: 's1', topic: 'feed:a' })).message).toContain('type:');
  });

  it("passes the topic rules' message through", () => {
    expect(refused(subscribe({ topic: 'room:1' })).message).toContain('topic: expected one of user:{id}');
    expect(refused(subscribe({ topic: 'feed:a#b' })).message).toContain('topic: the part after "feed:" must be');
  });

  it('names a bad lastEventId', () => {
    expect(refused(subscribe({ lastEventId: '' })).message).toContain('lastEventId:');
    expect(refused(subscribe({ lastEventId: 7 })).message).toContain('lastEventId:');
    expect(refused(subscribe({ lastEventId: 'x'.repeat(257) })).message).toContain('lastEventId:');
  });

  it('echoes the id when it is a usable subscription id', () => {
    expect(refused(subscribe({ topic: 'room:1' })).id).toBe('s1');
    expect(refused(subscribe({ id: 'a.b:c-d_9', extra: 1 })).id).toBe('a.b:c-d_9');
  });

  it.each([
    ['a number', 5],
    ['an empty string', ''],
    ['a space', 'my sub'],
    ['65 characters', 'x'.repeat(65)],
    ['markup', '<script>'],
    ['an object', { id: 's1' }],
  ])('does not echo an id that is %s', (_, id) => {
    const error = refused(subscribe({ id, topic: 'room:1' }));
    expect(error).not.toHaveProperty('id');
    expect(error.message).toContain('id:');
  });

  it('clips a long message so a frame cannot make us send it back whole', () => {
    const fields = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`field_${i}_${'x'.repeat(20)}`, i]));
    const message = refused(subscribe(fields)).message;
    expect(message.length).toBeLessThanOrEqual('Invalid frame: '.length + 512 + 1);
    expect(message.endsWith('…')).toBe(true);
  });
});

describe('parseClientFrame: unsubscribe and ping', () => {
  it('accepts them', () => {
    expect(parseClientFrame('{"type":"unsubscribe","id":"s1"}', unsubscribeFrameSchema)).toEqual({
      ok: true,
      frame: { type: 'unsubscribe', id: 's1' },
    });
    expect(parseClientFrame('{"type":"ping"}', pingFrameSchema)).toEqual({ ok: true, frame: { type: 'ping' } });
  });

  it('names the missing id of an unsubscribe', () => {
    expect(refused('{"type":"unsubscribe"}', unsubscribeFrameSchema).message).toMatch(/^Invalid frame: id: /);
  });

  it('names unknown fields and echoes a good id', () => {
    const error = refused('{"type":"unsubscribe","id":"s1","topic":"feed:a"}', unsubscribeFrameSchema);
    expect(error.message).toBe('Invalid frame: topic: Unknown field');
    expect(error.id).toBe('s1');
    expect(refused('{"type":"ping","at":1}', pingFrameSchema).message).toBe('Invalid frame: at: Unknown field');
  });
});

describe('server frames', () => {
  const frames: ServerFrame[] = [
    { type: 'subscribed', id: 's1', topic: 'feed:a' },
    {
      type: 'data',
      id: 's1',
      topic: 'feed:a',
      eventId: 'feed:a:3',
      seq: 3,
      event: 'price.changed',
      payload: { price: 1.5, tags: ['x'], nested: { ok: true } },
      ts: '2026-11-21T10:00:00.000Z',
    },
    { type: 'unsubscribed', id: 's1' },
    { type: 'pong' },
    { type: 'reset', id: 's1', topic: 'feed:a', reason: 'replay_window_exceeded' },
    { type: 'error', id: 's1', code: 'forbidden', message: 'no' },
  ];

  it.each(frames)('serializes a $type frame as the JSON object of the contract', (frame) => {
    const text = serializeFrame(frame);
    expect(serverFrameSchema.parse(JSON.parse(text))).toEqual(frame);
  });

  it('holds data frames to their schema', () => {
    const data = frames[1]!;
    expect(dataFrameSchema.safeParse({ ...data, seq: 0 }).success).toBe(false);
    expect(dataFrameSchema.safeParse({ ...data, seq: 1.5 }).success).toBe(false);
    expect(dataFrameSchema.safeParse({ ...data, extra: 1 }).success).toBe(false);
  });

  it.each([
    [new BadRequestError('bad topic'), 'bad_request'],
    [new UnauthorizedError(), 'unauthorized'],
    [new ForbiddenError('private'), 'forbidden'],
    [new TooManySubscriptionsError(100), 'too_many_subscriptions'],
    [new RateLimitedError('slow down', 3), 'rate_limited'],
    // HTTP-only codes have no frame equivalent.
    [new AppError('not_found', 'nothing'), 'bad_request'],
    [new AppError('conflict', 'taken'), 'bad_request'],
    [new AppError('invalid_credentials', 'wrong'), 'bad_request'],
  ] as const)('maps %s to %s with its message and the id', (error, code) => {
    expect(toErrorFrame(error, 's9')).toEqual({ type: 'error', id: 's9', code, message: error.message });
    expect(toErrorFrame(error)).not.toHaveProperty('id');
  });

  it.each([
    ['an Error', new Error('connect ECONNREFUSED 10.0.0.7:8000 table realtime-prod')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'seq')")],
    ['a string', 'secret-token-123'],
    ['undefined', undefined],
    ['an AppError look-alike', { code: 'forbidden', message: 'internal detail' }],
    ['an internal AppError', new AppError('internal', 'table realtime-prod unreachable')],
  ])('answers %s with a generic internal error', (_, thrown) => {
    const frame = toErrorFrame(thrown, 's1');
    expect(frame).toEqual({ type: 'error', id: 's1', code: 'internal', message: 'Internal server error' });
  });
});
