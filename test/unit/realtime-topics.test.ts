/**
 * Topics (lambdas/shared/realtime/topics.ts): which names are topics, who may subscribe to which,
 * and how a `lastEventId` is read back into a seq. These rules keep client-chosen strings out of
 * DynamoDB keys and event ids, so the rejections matter as much as the acceptances.
 */
import { describe, expect, it } from 'vitest';
import { BadRequestError, ForbiddenError } from '../../lambdas/shared/errors';
import {
  authorizeSubscription,
  eventIdOf,
  MAX_TOPIC_KEY_LENGTH,
  parseTopic,
  seqOfEventId,
  topicSchema,
} from '../../lambdas/shared/realtime/topics';

function rejection(fn: () => unknown): BadRequestError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return error as BadRequestError;
  }
  throw new Error('expected a BadRequestError, nothing was thrown');
}

describe('parseTopic', () => {
  it.each([
    ['user:u-123', 'user', 'u-123'],
    ['content:c_1.v2', 'content', 'c_1.v2'],
    ['author:AbC9', 'author', 'AbC9'],
    ['feed:prices', 'feed', 'prices'],
    ['feed:x', 'feed', 'x'],
    [`feed:${'k'.repeat(MAX_TOPIC_KEY_LENGTH)}`, 'feed', 'k'.repeat(96)],
  ])('accepts %s', (name, kind, key) => {
    expect(parseTopic(name)).toEqual({ name, kind, key });
    expect(topicSchema.safeParse(name).success).toBe(true);
  });

  it('limits keys to 96 characters', () => {
    expect(MAX_TOPIC_KEY_LENGTH).toBe(96);
    rejection(() => parseTopic(`feed:${'k'.repeat(97)}`));
  });

  it.each([
    ['', 'no kind at all'],
    ['feed', 'no separator'],
    ['room:1', 'unknown kind'],
    ['User:u1', 'kinds are lower case'],
    [':abc', 'empty kind'],
    [' feed:a', 'leading space makes the kind unknown'],
  ])('rejects %j (%s) listing the kinds', (name) => {
    const error = rejection(() => parseTopic(name));
    expect(error.message).toContain('expected one of user:{id}, content:{id}, author:{id}, service:{id}, feed:{id}');
    expect(error.details).toEqual([{ field: 'topic', message: expect.stringContaining('expected one of') }]);
  });

  it.each([
    ['feed:', 'missing key'],
    ['user:', 'missing key'],
    ['feed:a#b', '# is the DynamoDB key separator'],
    ['feed:a:b', ': splits event ids'],
    ['feed:a b', 'space'],
    ['feed:a/b', 'slash'],
    ['feed:é', 'non-ASCII letter'],
    ['feed:a\n', 'trailing newline'],
    ['feed:a*', 'wildcard'],
  ])('rejects %j (%s) explaining the key rules', (name) => {
    const error = rejection(() => parseTopic(name));
    expect(error.message).toContain('must be 1-96 letters, digits');
    expect(error.details[0]?.field).toBe('topic');
  });

  it('names the field it was given', () => {
    const error = rejection(() => parseTopic('nope', 'path.topic'));
    expect(error.message).toMatch(/^Invalid path\.topic: /);
    expect(error.details[0]?.field).toBe('path.topic');
  });

  it('gives the zod schema the same message', () => {
    const result = topicSchema.safeParse('feed:a#b');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('must be 1-96 letters');
    expect(topicSchema.safeParse(42).success).toBe(false);
  });
});

describe('authorizeSubscription', () => {
  const alice = { userId: 'alice', role: 'user' };

  it('lets a user subscribe to their own user topic', () => {
    expect(() => authorizeSubscription(alice, parseTopic('user:alice'))).not.toThrow();
  });

  it("forbids another user's private topic, whatever the role", () => {
    expect(() => authorizeSubscription(alice, parseTopic('user:bob'))).toThrow(ForbiddenError);
    expect(() => authorizeSubscription({ userId: 'root', role: 'admin' }, parseTopic('user:bob'))).toThrow(ForbiddenError);
    // A prefix of one's own id is still someone else's topic.
    expect(() => authorizeSubscription(alice, parseTopic('user:alic'))).toThrow(ForbiddenError);
  });

  it.each(['content:c1', 'author:bob', 'author:alice', 'feed:prices'])('lets any signed-in user follow %s', (name) => {
    expect(() => authorizeSubscription(alice, parseTopic(name))).not.toThrow();
  });
});

describe('seqOfEventId', () => {
  it.each([
    ['feed:prices:17', 17],
    ['feed:prices:1', 1],
    ['feed:prices:0', 0],
    ['feed:prices:999999999999999', 999_999_999_999_999],
  ])('reads %s', (eventId, seq) => {
    expect(seqOfEventId('feed:prices', eventId)).toBe(seq);
  });

  it('reads back what eventIdOf writes', () => {
    expect(eventIdOf('content:c1', 42)).toBe('content:c1:42');
    expect(seqOfEventId('content:c1', eventIdOf('content:c1', 42))).toBe(42);
  });

  it.each([
    ['feed:other:17', "another topic's id"],
    ['feed:pricesX:17', 'a longer topic that starts with this one'],
    ['feed:17', 'the topic without its key'],
    ['feed:prices:', 'no seq'],
    ['feed:prices:abc', 'not a number'],
    ['feed:prices:017', 'leading zero'],
    ['feed:prices:00', 'leading zero'],
    ['feed:prices:-1', 'negative'],
    ['feed:prices:1.5', 'fraction'],
    ['feed:prices:1e3', 'exponent'],
    ['feed:prices: 1', 'space'],
    ['feed:prices:1\n', 'trailing newline'],
    ['feed:prices:1000000000000000', 'more than 15 digits'],
    ['', 'empty'],
  ])('rejects %j (%s)', (eventId) => {
    const error = rejection(() => seqOfEventId('feed:prices', eventId));
    expect(error.message).toContain('"feed:prices:<seq>"');
    expect(error.details[0]?.field).toBe('lastEventId');
  });

  it('names the field it was given', () => {
    expect(rejection(() => seqOfEventId('feed:a', 'x', 'resume')).details[0]?.field).toBe('resume');
  });
});
