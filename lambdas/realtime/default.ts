/**
 * WebSocket `$default`: answers every frame no route claimed with an error frame
 * (`unknown_type`, or `bad_request` when the frame is not a JSON object with a `type`). The route
 * is two-way, so API Gateway sends the returned `body` to the sender; no `@connections` call and
 * no ManageConnections permission are needed.
 *
 * Relies on: nothing beyond the Powertools variables.
 */
import { frameRoute } from '../shared/realtime/frame-route';
import { clientFrameEnvelopeSchema } from '../shared/realtime/frames';
import { unknownTypeFrame } from '../shared/realtime/unrouted-frame';

export const handler = frameRoute({
  frame: clientFrameEnvelopeSchema,
  failureLog: 'Unrouted frame failed',
  rejected: { metric: 'FrameRejected', log: 'Unrouted frame rejected' },
  handle: async ({ frame }) => unknownTypeFrame(frame),
});
