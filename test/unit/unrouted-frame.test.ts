/**
 * The `$default` route (lambdas/realtime/default.ts): every frame no route claimed is answered, in
 * the two-way route's response, with an error frame. Driven through the handler, so the frame
 * checks of `frameRoute` and the `unknown_type` answer are tested together.
 */
import type { Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { errorFrameSchema, MAX_FRAME_BYTES, type ErrorFrame } from '../../lambdas/shared/realtime/frames';

vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'Test');
vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
const { handler } = await import('../../lambdas/realtime/default');

const context = { functionName: 'default', awsRequestId: 'req-1' } as Context;

/** The error frame `$default` answers `body` with. */
async function answerUnroutedFrame(body: string | undefined): Promise<ErrorFrame> {
  const result = await handler(
    {
      requestContext: { connectionId: 'c1', requestId: 'r1', requestTimeEpoch: 1_700_000_000_000 },
      ...(body === undefined ? {} : { body }),
    },
    context,
  );
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body!) as ErrorFrame;
}

describe('$default', () => {
  it('answers a frame with an unrouted type with unknown_type, echoing the subscription id', async () => {
    expect(await answerUnroutedFrame('{"type":"subscribe","id":"s1","topic":"content:42"}')).toEqual({
      type: 'error',
      id: 's1',
      code: 'unknown_type',
      message: 'Unknown frame type "subscribe"',
    });
  });

  it('omits an id that is not a short string', async () => {
    expect(await answerUnroutedFrame('{"type":"x","id":7}')).not.toHaveProperty('id');
    expect(await answerUnroutedFrame(JSON.stringify({ type: 'x', id: 'i'.repeat(65) }))).not.toHaveProperty('id');
  });

  it('clips a long unknown type in the message', async () => {
    const frame = await answerUnroutedFrame(JSON.stringify({ type: 't'.repeat(1000) }));
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
  ])('answers %s with bad_request naming the problem', async (_, body, message) => {
    const frame = await answerUnroutedFrame(body);
    expect(frame.code).toBe('bad_request');
    expect(frame.message).toMatch(message);
  });

  it('rejects frames over 32 KB without parsing them', async () => {
    const body = JSON.stringify({ type: 'x', pad: 'p'.repeat(MAX_FRAME_BYTES) });
    expect(await answerUnroutedFrame(body)).toEqual({
      type: 'error',
      code: 'bad_request',
      message: `Frame exceeds ${MAX_FRAME_BYTES} bytes`,
    });
  });

  it('counts bytes, not characters', async () => {
    const almost = JSON.stringify({ type: 'x', pad: 'é'.repeat(MAX_FRAME_BYTES / 2) });
    expect((await answerUnroutedFrame(almost)).message).toMatch(/exceeds/);
  });

  it('always answers with a frame that satisfies the error frame schema', async () => {
    for (const body of ['', 'nope', '{}', '{"type":"ping"}', '{"type":"x","id":"a"}']) {
      expect(errorFrameSchema.safeParse(await answerUnroutedFrame(body)).success, body).toBe(true);
    }
  });
});
