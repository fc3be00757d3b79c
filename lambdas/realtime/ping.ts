/**
 * WebSocket route `ping`: `{"type":"ping"}` → `{"type":"pong"}` (two-way route). Clients use it to
 * keep an idle connection open (API Gateway closes it after 10 minutes without data) and to
 * measure the round trip. It touches no table.
 *
 * Relies on: nothing beyond the Powertools variables.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { apiGatewayRequestId, instrument } from '../shared/observability';
import { frameContext } from '../shared/realtime/frame-context';
import { parseClientFrame, pingFrameSchema, serializeFrame } from '../shared/realtime/frames';

export const handler = instrument<unknown, APIGatewayProxyStructuredResultV2>(
  async (event) => {
    const parsed = parseClientFrame(frameContext(event).body, pingFrameSchema);
    return { statusCode: 200, body: serializeFrame(parsed.ok ? { type: 'pong' } : parsed.error) };
  },
  { correlationId: apiGatewayRequestId },
);
