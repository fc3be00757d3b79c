/** Small networking helpers shared by the local cloud's servers. */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';

/** A port that was free a moment ago (for processes that cannot bind port 0 themselves). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Listens and resolves with the bound port; rejects with a clear message when the port is taken. */
export async function listen(
  server: Pick<Server, 'listen' | 'once' | 'off' | 'address'>,
  port: number,
  host: string,
  what: string,
): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`${what}: port ${port} on ${host} is already in use (choose another with its --*-port flag, or 0 for any free port)`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as { port: number }).port;
}

/** What a malformed HTTP request (one Node's parser refuses before any handler runs) is answered with. */
const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Request Entity Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/**
 * Answers requests Node's HTTP parser refuses (invalid characters, bad framing, headers over the
 * server's `maxHeaderSize`) the way API Gateway answers its own errors: a status and a JSON
 * `{"message": ...}` body, then the connection is closed. Without a 'clientError' listener Node
 * answers too (400 or 431, no body) and closes the socket; this only adds the body. Nothing here
 * can throw: a socket that is gone is just destroyed.
 *
 * Bytes the parser refuses can follow a request it accepted: Node's own HTTP client sends a GET's
 * (DELETE's, OPTIONS') body with neither Content-Length nor chunked encoding, so by HTTP/1.1's
 * framing the request ends at its headers and the body is read as the start of the next request
 * (`{}GET /…`: an invalid method). Answering the error at once would give the accepted request a
 * 400 meant for the bytes behind it (its own answer then lands on a closed socket), and answering
 * it after the request's answer would be read by a keep-alive client as the answer to its next
 * request. So such bytes are the accepted request's: it is answered as usual, with
 * `Connection: close` when its answer has not started yet (a keep-alive client then opens a new
 * connection for its next request instead of finding this one closed under it: "socket hang
 * up"), and the connection is closed after it, without a 400. Bytes the parser refuses on an idle
 * connection (nothing in flight, nothing accepted in the same read) are answered 400 and closed.
 */
export function answerClientErrors(server: Pick<HttpServer, 'on'>): void {
  /** The latest request's response on each socket (the one refused bytes follow). */
  const latest = new WeakMap<Socket, ServerResponse>();
  /** Sockets with a request accepted in the current read (cleared once the read is parsed). */
  const justAccepted = new WeakSet<Socket>();
  /** Sockets whose error is answered or deferred: the parser reports the same error for every later chunk. */
  const refused = new WeakSet<Socket>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    latest.set(socket, res);
    justAccepted.add(socket);
    process.nextTick(() => justAccepted.delete(socket));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    if (refused.has(socket)) return;
    refused.add(socket);
    const pending = latest.get(socket);
    if (pending && !pending.writableFinished && !pending.destroyed) {
      if (!pending.headersSent) {
        // Node closes the socket once this answer is written (and says so in its headers).
        pending.shouldKeepAlive = false;
      } else {
        pending.once('close', () => socket.end());
      }
      return;
    }
    if (pending && justAccepted.has(socket)) {
      // Answered already (synchronously), in the same read as the refused bytes: they were its body.
      socket.end();
      return;
    }
    const [status, message] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'Bad Request'];
    const body = JSON.stringify({ message });
    // A response to HEAD has no body (its client would read one as the next response).
    const head = (error as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
    socket.end(
      `HTTP/1.1 ${status} ${message}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`,
    );
  });
}

/** Whether every percent-escape in `path` is `%XX` and the bytes they spell are UTF-8. */
export function decodable(path: string): boolean {
  if (!path.includes('%')) return true;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}
