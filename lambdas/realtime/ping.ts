/**
 * WebSocket route `ping`: `{"type":"ping"}` → `{"type":"pong"}` (two-way route). Clients use it to
 * keep an idle connection open (API Gateway closes it after 10 minutes without data) and to
 * measure the round trip. It touches no table.
 *
 * Relies on: nothing beyond the Powertools variables.
 */
import { frameRoute } from '../shared/realtime/frame-route';
import { pingFrameSchema } from '../shared/realtime/frames';

export const handler = frameRoute({
  frame: pingFrameSchema,
  failureLog: 'Ping failed',
  handle: async () => ({ type: 'pong' }),
});
