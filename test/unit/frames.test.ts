import { describe, expect, it } from 'vitest';
import { AppError, BadRequestError } from '../../lambdas/shared/errors';
import {
  clip,
  errorFrame,
  errorFrameSchema,
  FRAME_ERROR_CODES,
  serializeFrame,
  serverFrameSchema,
  toErrorFrame,
} from '../../lambdas/shared/realtime/frames';

describe('frames', () => {
  it('lists the error codes of the protocol', () => {
    expect([...FRAME_ERROR_CODES].sort()).toEqual([
      'bad_request',
      'forbidden',
      'internal',
      'rate_limited',
      'too_many_subscriptions',
      'unauthorized',
      'unknown_type',
    ]);
  });

  it('builds error frames that match the schema, with the id only when given', () => {
    const withoutId = errorFrame('unknown_type', 'Unknown frame type "x"');
    expect(withoutId).toEqual({ type: 'error', code: 'unknown_type', message: 'Unknown frame type "x"' });
    expect(Object.keys(withoutId)).not.toContain('id');
    expect(errorFrameSchema.parse(errorFrame('forbidden', 'no', 's1'))).toEqual({
      type: 'error',
      id: 's1',
      code: 'forbidden',
      message: 'no',
    });
  });

  it('serializes a frame as the JSON object of DESIGN.md', () => {
    expect(JSON.parse(serializeFrame(errorFrame('bad_request', 'm', 's1')))).toEqual({
      type: 'error',
      id: 's1',
      code: 'bad_request',
      message: 'm',
    });
  });

  it('rejects frames outside the contract', () => {
    expect(errorFrameSchema.safeParse({ type: 'error', code: 'nope', message: 'm' }).success).toBe(false);
    expect(errorFrameSchema.safeParse({ type: 'error', code: 'internal', message: 'm', extra: 1 }).success).toBe(false);
    expect(serverFrameSchema.safeParse({ type: 'hello' }).success).toBe(false);
    expect(serverFrameSchema.safeParse({ type: 'pong', extra: 1 }).success).toBe(false);
  });

  it('maps errors to frames without leaking unknown errors', () => {
    expect(toErrorFrame(new BadRequestError('topic: required'), 's1')).toEqual(errorFrame('bad_request', 'topic: required', 's1'));
    expect(toErrorFrame(new AppError('forbidden', 'not your topic'))).toEqual(errorFrame('forbidden', 'not your topic'));
    // HTTP-only codes have no frame equivalent.
    expect(toErrorFrame(new AppError('not_found', 'gone')).code).toBe('bad_request');
    expect(toErrorFrame(new Error('connect ECONNREFUSED 10.0.0.1:8000'))).toEqual(errorFrame('internal', 'Internal server error'));
  });

  it('clips long client strings before echoing them', () => {
    expect(clip('short')).toBe('short');
    expect(clip('x'.repeat(100))).toBe(`${'x'.repeat(64)}…`);
  });
});
