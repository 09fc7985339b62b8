import { readdir, stat } from "node:fs/promises";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pgliteDatabase, type TestDatabase } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";

// The real server process with its connection caps and timeouts turned down, attacked from one
// loopback address while another (127.0.0.2) checks that everyone else is still served.

const NO_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: "0",
  RATE_LIMIT_SIGNUPS_PER_HOUR: "0",
  RATE_LIMIT_LOGIN_FAILURES: "0",
};

let database: TestDatabase | undefined;
let server: RunningServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.stop();
  await database?.dispose();
  server = undefined;
  database = undefined;
});

async function serve(env: Record<string, string>): Promise<{ host: string; port: number }> {
  database = await pgliteDatabase();
  server = await startServer({ ...database.env, BCRYPT_COST: "4", LOG_LEVEL: "warn", ...NO_LIMITS, ...env });
  const url = new URL(server.url);
  return { host: url.hostname, port: Number(url.port) };
}

/** What happened to one held connection. */
interface Held {
  socket: Socket;
  received: string;
  closedAfterMs: number | undefined;
}

/** Opens a connection from `localAddress` and records what it receives and when it closes. */
function hold(port: number, localAddress: string, started = performance.now()): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    sockets.push(socket);
    const held: Held = { socket, received: "", closedAfterMs: undefined };
    socket.on("data", (chunk) => (held.received += chunk));
    socket.on("close", () => (held.closedAfterMs = performance.now() - started));
    socket.on("error", () => {});
    socket.once("connect", () => resolve(held));
    socket.once("error", reject);
  });
}

/** GET `path` from `localAddress`; resolves to the status, or to the error's code. */
function getFrom(port: number, localAddress: string, path = "/health"): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, localAddress, path, agent: false, timeout: 2000 }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

/** Polls `/health` from 127.0.0.2 every 200 ms until `done()`; resolves to every answer. */
async function probeWhile(port: number, done: () => boolean): Promise<(number | string)[]> {
  const answers: (number | string)[] = [];
  while (!done()) {
    answers.push(await getFrom(port, "127.0.0.2"));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return answers;
}

const waitFor = async (condition: () => boolean, ms: number) => {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
};

describe("slow clients and held connections (the real server process)", () => {
  it("cuts off clients that trickle a body or a head, and keeps serving everyone else", async () => {
    const { port } = await serve({ REQUEST_TIMEOUT_SECONDS: "3", HEADERS_TIMEOUT_SECONDS: "2" });
    const started = performance.now();
    const bodies = await Promise.all(Array.from({ length: 30 }, () => hold(port, "127.0.0.1", started)));
    const heads = await Promise.all(Array.from({ length: 10 }, () => hold(port, "127.0.0.1", started)));
    const head = "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n";
    for (const held of bodies) held.socket.write(`${head}Content-Length: 200\r\n\r\nusername=`);
    for (const held of heads) held.socket.write("POST /token HTTP/1.1\r\nHost: loc");
    // One byte every half second on every connection: never idle, never done.
    const trickle = setInterval(() => {
      for (const held of [...bodies, ...heads]) if (held.closedAfterMs === undefined) held.socket.write("a");
    }, 500);
    const all = [...bodies, ...heads];
    const allClosed = () => all.every((held) => held.closedAfterMs !== undefined);
    const answers = await probeWhile(port, () => allClosed() || performance.now() - started > 10_000);
    clearInterval(trickle);

    expect(allClosed()).toBe(true);
    for (const held of all) {
      // The request timeout (3 s) is checked every second; slack for a loaded machine.
      expect(held.closedAfterMs).toBeLessThan(6500);
      expect(held.received === "" || held.received.startsWith("HTTP/1.1 408")).toBe(true);
    }
    expect(bodies.filter((held) => held.received.startsWith("HTTP/1.1 408")).length).toBeGreaterThan(0);
    expect(answers.length).toBeGreaterThan(5);
    expect(new Set(answers)).toEqual(new Set([200]));
  });

  it("caps the connections one address may hold, and the total, closing the ones beyond at once", async () => {
    const { port } = await serve({ MAX_CONNECTIONS_PER_ADDRESS: "10", MAX_CONNECTIONS: "25" });
    const fromOne = await Promise.all(Array.from({ length: 15 }, () => hold(port, "127.0.0.3")));
    await waitFor(() => fromOne.filter((held) => held.closedAfterMs !== undefined).length >= 5, 2000);
    expect(fromOne.filter((held) => held.closedAfterMs !== undefined)).toHaveLength(5);
    // Another address is served while the first holds its ten.
    expect(await getFrom(port, "127.0.0.2")).toBe(200);

    // Ten more from a second address: 20 held. A third address gets 5 before the total (25) is reached.
    await Promise.all(Array.from({ length: 10 }, () => hold(port, "127.0.0.4")));
    const fromThird = await Promise.all(Array.from({ length: 8 }, () => hold(port, "127.0.0.5")));
    await waitFor(() => fromThird.filter((held) => held.closedAfterMs !== undefined).length >= 3, 2000);
    expect(fromThird.filter((held) => held.closedAfterMs !== undefined)).toHaveLength(3);
    await waitFor(() => /connections refused: a connection cap was reached/.test(server?.output() ?? ""), 2000);
    expect(server?.output()).toMatch(/connections refused: a connection cap was reached/);
  });
});

describe("files in DATA_DIR", () => {
  it("are all owner-only after the server started (PGlite writes 0666; the server takes that back)", async () => {
    await serve({});
    const dataDir = database?.env.DATA_DIR as string;
    const loose: string[] = [];
    const walk = async (path: string): Promise<void> => {
      const info = await stat(path);
      if ((info.mode & 0o077) !== 0) loose.push(`${path} ${(info.mode & 0o777).toString(8)}`);
      if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
    };
    await walk(join(dataDir, "pglite"));
    await walk(join(dataDir, "secret-key"));
    expect(loose).toEqual([]);
  });
});
