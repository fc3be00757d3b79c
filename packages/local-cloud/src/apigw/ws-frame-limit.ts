/**
 * A per-frame payload limit for the `ws` server sockets of the WebSocket API emulation.
 *
 * API Gateway has two limits: a *frame* carries at most 32 KB, a *message* (its frames summed)
 * at most 128 KB; over either, the connection is closed with 1009. `ws` only knows the second
 * (`maxPayload` counts a whole message), so the first is added here.
 *
 * How: `ws`'s Receiver (`node_modules/ws/lib/receiver.js`) calls `haveLength(cb)` once per frame,
 * as soon as the frame's payload length is known and before its payload is buffered; that is
 * where it applies `maxPayload` too. `limitFrameSize` wraps that method *on one receiver
 * instance* (never on the prototype): it refuses a data frame whose payload exceeds the limit
 * with the same kind of error `maxPayload` produces (status 1009), so `ws` closes the connection
 * exactly as it does for a message over `maxPayload`. Because the hook is per instance, and only
 * installed by the emulation on the sockets its own `WebSocketServer` accepts, nothing else in
 * the process changes: `ws` clients (the tests run them in the same process) and any other
 * `ws` server keep the library's behaviour.
 *
 * Why not the alternatives: a prototype patch would affect every receiver in the process (it
 * would need an `_isServer` test and a per-receiver opt-in anyway); parsing frame headers on the
 * raw socket ourselves would duplicate the library's framing. The hook depends on two internals
 * (`_receiver` on the WebSocket, `haveLength`/`_payloadLength`/`_opcode`/`createError` on the
 * Receiver), checked by `assertFrameLimitSupported()`, which the server calls at construction so
 * that a `ws` upgrade that changes them fails at start-up, loudly, instead of silently dropping
 * the limit; test/websocket-api.test.ts checks the behaviour itself.
 */
import * as wsModule from 'ws';
import type { WebSocket } from 'ws';

/** The internals of `ws`'s Receiver this module relies on. */
interface ReceiverInternals {
  _isServer: boolean;
  _opcode: number;
  _payloadLength: number;
  haveLength(cb: (error?: Error) => void): void;
  createError(
    ctor: ErrorConstructor | RangeErrorConstructor,
    message: string,
    prefix: boolean,
    statusCode: number,
    errorCode: string,
  ): Error;
}

/** The error code (`error.code`) of a frame refused by this limit. */
export const FRAME_TOO_LARGE = 'WS_ERR_UNSUPPORTED_FRAME_LENGTH';

/** Throws when the installed `ws` no longer has the internals `limitFrameSize` hooks into. */
export function assertFrameLimitSupported(): void {
  const Receiver = (wsModule as unknown as { Receiver?: { prototype: Partial<ReceiverInternals> } }).Receiver;
  const proto = Receiver?.prototype;
  if (typeof proto?.haveLength !== 'function' || typeof proto.createError !== 'function') {
    throw new Error(
      'The installed `ws` has no Receiver.prototype.haveLength/createError: the per-frame size limit of the WebSocket ' +
        'API emulation (src/apigw/ws-frame-limit.ts) must be adapted to this version of ws',
    );
  }
}

/**
 * Refuses, on this server-side socket only, any data frame whose payload exceeds `maxFrameBytes`
 * (close code 1009). Call it right after the socket is set up (the `handleUpgrade` callback),
 * before any frame is read: `ws` reads the first frame on a later tick.
 */
export function limitFrameSize(ws: WebSocket, maxFrameBytes: number): void {
  const receiver = (ws as unknown as { _receiver?: ReceiverInternals })._receiver;
  if (!receiver || typeof receiver.haveLength !== 'function' || receiver._isServer !== true) {
    throw new Error('limitFrameSize: not a server-side ws socket with a Receiver (see src/apigw/ws-frame-limit.ts)');
  }
  const haveLength = receiver.haveLength;
  receiver.haveLength = function (this: ReceiverInternals, cb: (error?: Error) => void): void {
    // Data frames only (text, binary, continuation): control frames are capped at 125 bytes by
    // the protocol, and ws checks that itself.
    if (this._opcode < 0x08 && this._payloadLength > maxFrameBytes) {
      cb(this.createError(RangeError, 'Max frame size exceeded', false, 1009, FRAME_TOO_LARGE));
      return;
    }
    haveLength.call(this, cb);
  };
}
