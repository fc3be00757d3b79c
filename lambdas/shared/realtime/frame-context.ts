/**
 * What a WebSocket message route needs from its event: the connection, the frame, and the user
 * the `$connect` ticket authorizer let in (API Gateway repeats the authorizer's context on every
 * message of the connection). Parsed, not cast, so a route deployed without the authorizer
 * refuses to act rather than acting for nobody.
 */
import { z } from 'zod';
import type { Subscriber } from './topics';

const messageEventSchema = z.object({
  requestContext: z.object({
    connectionId: z.string().min(1),
    authorizer: z.object({ userId: z.string().min(1), role: z.string().min(1) }).optional(),
  }),
  body: z.string().optional(),
});

export interface FrameContext {
  readonly connectionId: string;
  /** Undefined when the connection carries no user (a misconfigured route). */
  readonly who?: Subscriber;
  readonly body?: string;
}

export function frameContext(event: unknown): FrameContext {
  const { requestContext, body } = messageEventSchema.parse(event);
  const { connectionId, authorizer } = requestContext;
  return { connectionId, body, ...(authorizer ? { who: { userId: authorizer.userId, role: authorizer.role } } : {}) };
}
