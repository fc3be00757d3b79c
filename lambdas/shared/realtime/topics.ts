/**
 * Topics: what a client can subscribe to, and the one place that decides who may (DESIGN.md
 * section 3). A topic is `kind:key`:
 *
 *   user:{userId}     private: only that user (billing, bookings, notifications for them)
 *   content:{id}      comments and counters of one content item: any signed-in user
 *   author:{userId}   an author's new posts: any signed-in user
 *   service:{id}      a bookable service's slot availability: any signed-in user
 *   feed:{name}       server-side producers such as a price ticker: any signed-in user
 *
 * Keys are 1-96 characters of letters, digits, `_`, `.` and `-`. That keeps topics safe inside
 * DynamoDB keys (`#` is the key separator), in event ids (`topic:seq` splits at the last `:`) and
 * in log lines, and it bounds what a client can make us store.
 */
import { z } from 'zod';
import { BadRequestError, ForbiddenError } from '../errors';

export const TOPIC_KINDS = ['user', 'content', 'author', 'service', 'feed'] as const;
export type TopicKind = (typeof TOPIC_KINDS)[number];

export const MAX_TOPIC_KEY_LENGTH = 96;

const TOPIC_PATTERN = new RegExp(`^(${TOPIC_KINDS.join('|')}):([A-Za-z0-9_.-]{1,${MAX_TOPIC_KEY_LENGTH}})$`);

export interface Topic {
  readonly name: string;
  readonly kind: TopicKind;
  readonly key: string;
}

/** Who is asking: the user and role the `$connect` ticket authorizer let in. */
export interface Subscriber {
  readonly userId: string;
  readonly role: string;
}

/** A topic name as a zod schema, for frames and HTTP paths; the message says what is wrong. */
export const topicSchema = z.string().superRefine((value, ctx) => {
  const problem = topicProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** Parses a topic name; throws `BadRequestError` naming the field when it is not one. */
export function parseTopic(value: string, field = 'topic'): Topic {
  const match = TOPIC_PATTERN.exec(value);
  if (!match) {
    throw new BadRequestError(`Invalid ${field}: ${topicProblem(value)}`, [{ field, message: topicProblem(value) ?? 'Invalid topic' }]);
  }
  return { name: value, kind: match[1] as TopicKind, key: match[2]! };
}

function topicProblem(value: string): string | undefined {
  if (TOPIC_PATTERN.test(value)) return undefined;
  const colon = value.indexOf(':');
  const kind = colon < 0 ? value : value.slice(0, colon);
  if (colon < 0 || !(TOPIC_KINDS as readonly string[]).includes(kind)) {
    return `expected one of ${TOPIC_KINDS.map((k) => `${k}:{id}`).join(', ')}`;
  }
  return `the part after "${kind}:" must be 1-${MAX_TOPIC_KEY_LENGTH} letters, digits, "_", "." or "-"`;
}

/**
 * May `who` subscribe to `topic`? Throws `ForbiddenError` when not. Every subscription passes
 * here and nowhere else decides it.
 */
export function authorizeSubscription(who: Subscriber, topic: Topic): void {
  switch (topic.kind) {
    case 'user':
      if (topic.key !== who.userId) throw new ForbiddenError(`Topic ${topic.name} is private to its user`);
      return;
    case 'content':
    case 'author':
    case 'service':
    case 'feed':
      return;
  }
}

/** `topic:seq`, the id a data frame carries and a client resumes from. */
export function eventIdOf(topic: string, seq: number): string {
  return `${topic}:${seq}`;
}

/**
 * Reads the seq out of a `lastEventId` for `topic`. Throws `BadRequestError` when the id is not
 * one of this topic's (a client resuming topic A with an id from topic B has a bug we should show).
 */
export function seqOfEventId(topic: string, eventId: string, field = 'lastEventId'): number {
  const prefix = `${topic}:`;
  const digits = eventId.startsWith(prefix) ? eventId.slice(prefix.length) : '';
  if (!/^(0|[1-9][0-9]{0,14})$/.test(digits)) {
    throw new BadRequestError(`Invalid ${field}: expected "${prefix}<seq>"`, [
      { field, message: `Expected "${prefix}<seq>" with a whole number seq` },
    ]);
  }
  return Number(digits);
}
