/**
 * The answer to a frame no route claimed. API Gateway sends such frames to `$default`: frames whose
 * `type` has no route, and frames it could not route at all (not JSON, no `type`). The answer is
 * always an error frame, returned to the sender through the route's two-way response.
 */
import { describeIssues } from '../validation';
import { clientFrameEnvelopeSchema, clip, errorFrame, MAX_ECHO_LENGTH, MAX_FRAME_BYTES, type ErrorFrame } from './frames';

export function answerUnroutedFrame(body: string | undefined): ErrorFrame {
  if (body === undefined || body.length === 0) {
    return errorFrame('bad_request', 'Frame is empty: send a JSON object with a string "type"');
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_FRAME_BYTES) {
    return errorFrame('bad_request', `Frame exceeds ${MAX_FRAME_BYTES} bytes`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return errorFrame('bad_request', 'Frame is not valid JSON');
  }

  const envelope = clientFrameEnvelopeSchema.safeParse(parsed);
  if (!envelope.success) {
    return errorFrame('bad_request', `Invalid frame: ${describeIssues(envelope.error)}`);
  }

  const { type, id } = envelope.data;
  // Echo the subscription id only when it is one we could have issued frames for.
  const echoedId = typeof id === 'string' && id.length > 0 && id.length <= MAX_ECHO_LENGTH ? id : undefined;
  return errorFrame('unknown_type', `Unknown frame type ${JSON.stringify(clip(type))}`, echoedId);
}
