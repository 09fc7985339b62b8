import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { postgresDatabase, type TestDatabase, testDatabases } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";
import { describeOnPostgres as describeOnPostgresFor, testDatabaseUrl } from "./postgres-only.js";

// Sessions and refresh tokens through the real server process. Fifty requests from one address
// would pass the per-address limit of /token, so the limits are off: these tests are about races.
const NO_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: "0",
  RATE_LIMIT_SIGNUPS_PER_HOUR: "0",
  RATE_LIMIT_LOGIN_FAILURES: "0",
};
const describeOnPostgres = describeOnPostgresFor("test/refresh.test.ts");

interface TokenBody {
  access_token: string;
  refresh_token: string;
  refresh_expires_in: number;
}

const post = (base: string, path: string, type: string, body: string) =>
  fetch(`${base}${path}`, { method: "POST", headers: { "content-type": type }, body });
const signUp = (base: string, username: string) =>
  post(base, "/users/", "application/json", JSON.stringify({ username, password: "a long password" }));
const logIn = async (base: string, username: string): Promise<TokenBody> => {
  const response = await post(
    base,
    "/token",
    "application/x-www-form-urlencoded",
    new URLSearchParams({ username, password: "a long password" }).toString(),
  );
  expect(response.status).toBe(200);
  return (await response.json()) as TokenBody;
};
const refresh = (base: string, refreshToken: string) =>
  post(
    base,
    "/token",
    "application/x-www-form-urlencoded",
    new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  );

describe.each(testDatabases())("refresh tokens in the server process on $name", ({ open }) => {
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    database = await open();
    server = await startServer({ ...database.env, BCRYPT_COST: "4", REFRESH_REUSE_WINDOW_SECONDS: "2", ...NO_LIMITS });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("answers 50 concurrent refreshes with one token all with 200 and exactly one distinct refresh token", async () => {
    expect((await signUp(server.url, "Racer")).status).toBe(201);
    const login = await logIn(server.url, "Racer");
    const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(server.url, login.refresh_token)));
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as TokenBody[];
    expect(new Set(bodies.map((body) => body.refresh_token)).size).toBe(1);
    // And the one token they converged on rotates normally.
    expect((await refresh(server.url, bodies[0]?.refresh_token as string)).status).toBe(200);
  });

  it("refuses a replay after the window with 400 invalid_grant, and the session's current token dies too", async () => {
    expect((await signUp(server.url, "Replayed")).status).toBe(201);
    const login = await logIn(server.url, "Replayed");
    const current = (await (await refresh(server.url, login.refresh_token)).json()) as TokenBody;
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const replay = await refresh(server.url, login.refresh_token);
    expect(replay.status).toBe(400);
    expect(replay.headers.get("cache-control")).toBe("no-store");
    expect(await replay.json()).toMatchObject({ error: "invalid_grant", code: "REFRESH_TOKEN_INVALID" });
    expect((await refresh(server.url, current.refresh_token)).status).toBe(400);
    // The log line is written before the answer, but reaches this process through a pipe.
    await vi.waitFor(() =>
      expect(server.output()).toMatch(/a rotated-away refresh token came back; the session is revoked/),
    );
    expect(server.output()).not.toContain(login.refresh_token);
  });
});

describeOnPostgres("refresh tokens across instances and crashes on PostgreSQL", () => {
  let database: TestDatabase;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    database = await postgresDatabase(testDatabaseUrl as string);
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop("SIGKILL");
  });
  afterAll(async () => {
    await database?.dispose();
  });

  const start = async (env: Record<string, string> = {}) => {
    const server = await startServer({ ...database.env, BCRYPT_COST: "4", ...NO_LIMITS, ...env });
    servers.push(server);
    return server;
  };

  it("lets two instances on one database refresh one session at once: all 200, one distinct token", async () => {
    const [a, b] = [await start(), await start()];
    expect((await signUp(a.url, "TwoInstances")).status).toBe(201);
    const login = await logIn(b.url, "TwoInstances");
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => refresh((i % 2 === 0 ? a : b).url, login.refresh_token)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(40).fill(200));
    const tokens = new Set(
      ((await Promise.all(responses.map((response) => response.json()))) as TokenBody[]).map(
        (body) => body.refresh_token,
      ),
    );
    expect(tokens.size).toBe(1);
  });

  it("leaves no session unusable when the server is killed (kill -9) in the middle of refreshes", async () => {
    const first = await start({ REFRESH_REUSE_WINDOW_SECONDS: "60" });
    const names = Array.from({ length: 12 }, (_, i) => `Chain${i}`);
    for (const name of names) expect((await signUp(first.url, name)).status).toBe(201);
    // Each client keeps the last refresh token it was given, and refreshes in a loop.
    const held = new Map<string, string>();
    for (const name of names) held.set(name, (await logIn(first.url, name)).refresh_token);
    let stop = false;
    const chains = names.map(async (name) => {
      while (!stop) {
        try {
          const response = await refresh(first.url, held.get(name) as string);
          if (response.status !== 200) return `status ${response.status}`;
          held.set(name, ((await response.json()) as TokenBody).refresh_token);
        } catch {
          return "connection lost";
        }
      }
      return "stopped";
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    await first.stop("SIGKILL");
    stop = true;
    const outcomes = await Promise.all(chains);
    expect(outcomes).toContain("connection lost");
    expect(outcomes.filter((outcome) => outcome.startsWith("status"))).toEqual([]);

    // A new process on the same database: every client's token still works (rotated, or, where the
    // killed process had committed a rotation whose answer was lost, answered by the reuse window).
    const second = await start({ REFRESH_REUSE_WINDOW_SECONDS: "60" });
    for (const name of names) {
      const response = await refresh(second.url, held.get(name) as string);
      expect(response.status, name).toBe(200);
      const again = await refresh(second.url, ((await response.json()) as TokenBody).refresh_token);
      expect(again.status, name).toBe(200);
    }
  });
});
