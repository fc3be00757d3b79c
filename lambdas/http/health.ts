/**
 * GET /api/v1/health: liveness of the HTTP API and its Lambda integration. Public and cheap: it
 * touches no table, so it stays green while a dependency is down (that is what alarms are for).
 *
 * Relies on: STAGE (the deployment stage it reports).
 */
import { requireEnv } from '../shared/env';
import { json } from '../shared/http/response';
import { httpRoute } from '../shared/http/route';

const STAGE = requireEnv('STAGE');

export const handler = httpRoute({
  failureLog: 'Health check failed',
  handle: async () => json(200, { status: 'ok', stage: STAGE, time: new Date().toISOString() }),
});
