/**
 * GET /api/v1/health: liveness of the HTTP API and its Lambda integration. Public and cheap: it
 * touches no table, so it stays green while a dependency is down (that is what alarms are for).
 *
 * Relies on: STAGE (the deployment stage it reports).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { requireEnv } from '../shared/env';
import { json, type HttpResponse } from '../shared/http/response';
import { apiGatewayRequestId, instrument } from '../shared/observability';

const STAGE = requireEnv('STAGE');

export const handler = instrument<APIGatewayProxyEventV2, HttpResponse>(
  async () => json(200, { status: 'ok', stage: STAGE, time: new Date().toISOString() }),
  { correlationId: apiGatewayRequestId },
);
