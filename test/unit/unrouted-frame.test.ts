import { describe, expect, it } from 'vitest';
import { errorFrameSchema, MAX_FRAME_BYTES } from '../../lambdas/shared/realtime/frames';
import { answerUnroutedFrame } from '../../lambdas/shared/realtime/unrouted-frame';

describe('answerUnroutedFrame', () => {
  it('answers a frame with an unrouted type with unknown_type, echoing the subscription id', () => {
    expect(answerUnroutedFrame('{"type":"subscribe","id":"s1","topic":"content:42"}')).toEqual({
      type: 'error',
      id: 's1',
      code: 'unknown_type',
      message: 'Unknown frame type "subscribe"',
    });
  });

  it('omits an id that is not a short string', () => {
    expect(answerUnroutedFrame('{"type":"x","id":7}')).not.toHaveProperty('id');
    expect(answerUnroutedFrame(JSON.stringify({ type: 'x', id: 'i'.repeat(65) }))).not.toHaveProperty('id');
  });

  it('clips a long unknown type in the message', () => {
    const frame = answerUnroutedFrame(JSON.stringify({ type: 't'.repeat(1000) }));
    expect(frame.code).toBe('unknown_type');
    expect(frame.message.length).toBeLessThan(100);
  });

  it.each([
    ['an empty frame', '', /empty/],
    ['no body', undefined, /empty/],
    ['text that is not JSON', 'hello', /not valid JSON/],
    ['a JSON array', '[1,2]', /Invalid frame: \(root\)/],
    ['a frame without type', '{"id":"s1"}', /Invalid frame: type:/],
    ['a frame whose type is not a string', '{"type":3}', /Invalid frame: type:/],
    ['a frame with an empty type', '{"type":""}', /Invalid frame: type:/],
  ])('answers %s with bad_request naming the problem', (_, body, message) => {
    const frame = answerUnroutedFrame(body);
    expect(frame.code).toBe('bad_request');
    expect(frame.message).toMatch(message);
  });

  it('rejects frames over 32 KB without parsing them', () => {
    const body = JSON.stringify({ type: 'x', pad: 'p'.repeat(MAX_FRAME_BYTES) });
    expect(answerUnroutedFrame(body)).toEqual({
      type: 'error',
      code: 'bad_request',
      message: `Frame exceeds ${MAX_FRAME_BYTES} bytes`,
    });
  });

  it('counts bytes, not characters', () => {
    const almost = JSON.stringify({ type: 'x', pad: 'é'.repeat(MAX_FRAME_BYTES / 2) });
    expect(answerUnroutedFrame(almost).message).toMatch(/exceeds/);
  });

  it('always answers with a frame that satisfies the error frame schema', () => {
    for (const body of ['', 'nope', '{}', '{"type":"ping"}', '{"type":"x","id":"a"}']) {
      expect(errorFrameSchema.safeParse(answerUnroutedFrame(body)).success, body).toBe(true);
    }
  });
});
