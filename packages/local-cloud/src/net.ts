/** Small networking helpers shared by the local cloud's servers. */
import { createServer, type Server } from 'node:net';

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
