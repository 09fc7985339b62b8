import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/**
 * A TCP proxy between a client (e.g. a database pool) and its server that a test can break on
 * purpose, to prove a store survives outages. It is the one fake in fault tests: the network
 * cannot be made to fail for real, while the database and the driver stay real.
 */
export interface FaultProxy {
  /** The port to point the pool at (127.0.0.1). */
  readonly port: number;
  /** Destroys every open connection (with a TCP reset) and refuses new ones, like a dead server. */
  cut(): Promise<void>;
  /** Accepts connections but never answers, like a server that hangs or a black-holed route. */
  stall(): void;
  /**
   * Holds everything sent either way on the open connections (and makes new ones stall), like a
   * server process that stopped (SIGSTOP) or a link that stopped passing packets. `restore()`
   * delivers what was held, in order, as such a server does when it resumes.
   */
  freeze(): void;
  /**
   * Passes on the server's closing of a connection only after `ms`, as a slow network would, so
   * the client can still send on a connection the server has already ended.
   */
  delayServerClose(ms: number): void;
  /** Accepts and forwards connections again. */
  restore(): Promise<void>;
  /** Stops the proxy for good. */
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

/** Starts a proxy on a free local port that forwards to `targetHost:targetPort`. */
export async function startFaultProxy(targetHost: string, targetPort: number): Promise<FaultProxy> {
  const clients = new Set<Socket>();
  const upstreams = new Set<Socket>();
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let stalled = false;
  let frozen = false;
  let serverCloseDelayMs = 0;

  const server = createServer((client) => {
    clients.add(client);
    client.on("close", () => clients.delete(client));
    client.on("error", () => {});
    if (stalled) return;
    const upstream = tcpConnect(targetPort, targetHost);
    upstreams.add(upstream);
    upstream.on("close", () => {
      upstreams.delete(upstream);
      if (serverCloseDelayMs > 0) setTimeout(() => client.destroy(), serverCloseDelayMs);
      else client.destroy();
    });
    upstream.on("error", () => {});
    const pair = { client, upstream };
    pairs.add(pair);
    client.on("close", () => {
      pairs.delete(pair);
      upstream.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client, { end: false });
  });

  const port = await listen(server, 0);

  // Unpiped streams stop flowing and buffer what arrives; piping again delivers it in order.
  function thaw(): void {
    if (!frozen) return;
    frozen = false;
    for (const { client, upstream } of pairs) {
      client.pipe(upstream);
      upstream.pipe(client, { end: false });
    }
  }

  async function cut(): Promise<void> {
    stalled = false;
    frozen = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of clients) socket.resetAndDestroy();
    for (const socket of upstreams) socket.destroy();
    await closed;
  }

  return {
    port,
    cut,
    stall() {
      stalled = true;
    },
    freeze() {
      stalled = true;
      if (frozen) return;
      frozen = true;
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
      }
    },
    delayServerClose(ms) {
      serverCloseDelayMs = ms;
    },
    async restore() {
      stalled = false;
      thaw();
      serverCloseDelayMs = 0;
      if (!server.listening) await listen(server, port);
    },
    close: cut,
  };
}
