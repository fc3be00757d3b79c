/**
 * The WebSocket `$connect` authorizer (REQUEST, identity source `route.request.querystring.ticket`).
 * It consumes the ticket (a conditional delete, so a ticket opens one connection) and answers an
 * IAM policy allowing this `$connect` with context `{userId, role}`, which `$connect` and later
 * routes read from `requestContext.authorizer`. A missing, malformed, unknown, used or expired
 * ticket is a refusal: logged at info with its reason, counted in `TicketRefused`, and API Gateway
 * refuses the upgrade with 401.
 *
 * A refusal is thrown as `AuthorizerRefusal` (message `Unauthorized`), not returned as a Deny
 * policy: API Gateway answers a Deny with 403, the thrown `Unauthorized` with the 401 that
 * docs/protocol.md documents. The cost is that Lambda counts the invocation as failed; `instrument`
 * logs it as an outcome, not an error (observability.ts says more).
 *
 * Not a `frameRoute`: there is no frame yet and no way to answer one.
 *
 * Relies on: REALTIME_TABLE_NAME (write: deleting the ticket item).
 */
import { z } from 'zod';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { TicketStore } from '../shared/identity/dynamo-tickets';
import type { Role } from '../shared/identity/tokens';
import { AuthorizerRefusal, apiGatewayRequestId, instrument, metrics, MetricUnit } from '../shared/observability';

const tickets = new TicketStore(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

const eventSchema = z.object({
  methodArn: z.string().min(1),
  queryStringParameters: z.record(z.string(), z.string()).nullish(),
});

interface PolicyResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: '2012-10-17';
    readonly Statement: { readonly Action: 'execute-api:Invoke'; readonly Effect: 'Allow'; readonly Resource: string }[];
  };
  readonly context: { readonly userId: string; readonly role: Role };
}

export const handler = instrument<unknown, PolicyResult>(
  async (event) => {
    const { methodArn, queryStringParameters } = eventSchema.parse(event);
    const outcome = await tickets.consume(queryStringParameters?.ticket);
    if ('refused' in outcome) {
      metrics.addMetric('TicketRefused', MetricUnit.Count, 1);
      throw new AuthorizerRefusal(outcome.refused);
    }
    const { principal } = outcome;
    metrics.addMetric('TicketAccepted', MetricUnit.Count, 1);
    return {
      principalId: principal.userId,
      policyDocument: {
        Version: '2012-10-17',
        // Only this $connect: the policy is not reused for anything else.
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }],
      },
      context: { userId: principal.userId, role: principal.role },
    };
  },
  { correlationId: apiGatewayRequestId },
);
