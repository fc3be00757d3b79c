/**
 * The caller of an authorized HTTP route, as the HTTP API Lambda authorizer put it in the request
 * context (`requestContext.authorizer.lambda`, simple responses). Routes take the user from here,
 * never from the body. Missing context means the route was deployed without the authorizer: that
 * is refused as unauthenticated rather than trusted.
 */
import { z } from 'zod';
import { UnauthorizedError } from '../errors';
import { ROLES, type Principal } from '../identity/tokens';

const contextSchema = z.object({
  requestContext: z.object({
    authorizer: z.object({
      lambda: z.object({ userId: z.string().min(1), role: z.enum(ROLES) }),
    }),
  }),
});

export function authorizedPrincipal(event: unknown): Principal {
  const parsed = contextSchema.safeParse(event);
  if (!parsed.success) throw new UnauthorizedError();
  const { userId, role } = parsed.data.requestContext.authorizer.lambda;
  return { userId, role };
}
