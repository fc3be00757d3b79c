/**
 * The answer to a frame no route claimed. API Gateway sends such frames to `$default`: frames whose
 * `type` has no route, and frames it could not route at all (not JSON, no `type`). The answer is
 * always an error frame, returned to the sender through the route's two-way response. Size, JSON
 * and shape are checked by `frameRoute` (`parseClientFrame`), as on every other route; this is
 * the answer to a frame that passed them.
 */
import { clip, errorFrame, MAX_ECHO_LENGTH, type ClientFrameEnvelope, type ErrorFrame } from './frames';

export function unknownTypeFrame({ type, id }: ClientFrameEnvelope): ErrorFrame {
  // Echo the subscription id only when it is one we could have issued frames for.
  const echoedId = typeof id === 'string' && id.length > 0 && id.length <= MAX_ECHO_LENGTH ? id : undefined;
  return errorFrame('unknown_type', `Unknown frame type ${JSON.stringify(clip(type))}`, echoedId);
}
