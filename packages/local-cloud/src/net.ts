/** Small networking helpers shared by the local cloud's servers. */
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
 * can throw: a socket that is gone or has a response under way is just destroyed.
 */
export function answerClientErrors(server: Pick<Server, 'on'>): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (error.code === 'ECONNRESET' || !socket.writable || inFlight) {
      socket.destroy();
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
