/**
 * POST /api/v1/realtime/ticket (authorized) → 201 `{ticket, expiresAt}`: a 60-second, single-use
 * ticket for opening the WebSocket (`?ticket=`). The user comes from the authorizer context, never
 * from the body (the route takes none).
 *
 * Relies on: REALTIME_TABLE_NAME (write: the ticket item).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createDocumentClient } from '../shared/dynamodb';
import { requireEnv } from '../shared/env';
import { AppError } from '../shared/errors';
import { authorizedPrincipal } from '../shared/http/principal';
import { json, toErrorResponse, type HttpResponse } from '../shared/http/response';
import { TicketStore } from '../shared/identity/dynamo-tickets';
import { apiGatewayRequestId, instrument, logger, metrics, MetricUnit } from '../shared/observability';

const tickets = new TicketStore(createDocumentClient(), requireEnv('REALTIME_TABLE_NAME'));

export const handler = instrument<APIGatewayProxyEventV2, HttpResponse>(
  async (event) => {
    try {
      const issued = await tickets.issue(authorizedPrincipal(event));
      metrics.addMetric('TicketIssued', MetricUnit.Count, 1);
      return json(201, issued);
    } catch (error) {
      if (!(error instanceof AppError)) logger.error('Ticket request failed', error as Error);
      return toErrorResponse(error);
    }
  },
  { correlationId: apiGatewayRequestId },
);
