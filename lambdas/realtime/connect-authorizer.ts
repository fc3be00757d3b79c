/**
 * The WebSocket `$connect` authorizer (REQUEST, identity source `route.request.querystring.ticket`).
 * It consumes the ticket (a conditional delete, so a ticket opens one connection) and answers an
 * IAM policy allowing this `$connect` with context `{userId, role}`, which `$connect` and later
 * routes read from `requestContext.authorizer`. A missing, forged, used or expired ticket →
 * `Unauthorized`: API Gateway refuses the upgrade with 401.
 *
 * Not a `frameRoute`: there is no frame yet and no way to answer one; a refusal is the exact error
 * API Gateway expects, so `instrument` alone wraps it.
 *
 * Relies on: REALTIME_TABLE_NAME (write: deleting the ticket item).
 */
import { z } from 'zod';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { TicketStore } from '../shared/identity/dynamo-tickets';
import type { Role } from '../shared/identity/tokens';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';

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
    const principal = await tickets.consume(queryStringParameters?.ticket ?? '');
    if (!principal) {
      logger.info('Ticket refused');
      metrics.addMetric('TicketRefused', MetricUnit.Count, 1);
      // The exact message API Gateway turns into 401.
      throw new Error('Unauthorized');
    }
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
