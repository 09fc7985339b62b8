import { createBcryptHasher } from "@latchkey/core";
import { type FaultProxy, startFaultProxy } from "@latchkey/core/testing";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { postgresDatabase, type TestDatabase } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";
import { describeOnPostgres as describeOnPostgresFor, testDatabaseUrl } from "./postgres-only.js";

// The real server process on real PostgreSQL, with the fault proxy (the one fake: a network cannot
// be made to fail on cue here) between them. The shared PostgreSQL server is never stopped.
const describeOnPostgres = describeOnPostgresFor("test/faults.test.ts");
// All load comes from one address, and these tests are about the database, not about overload:
// rate limits off, and an admission queue long enough that no request is refused as OVERLOADED.
const NO_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: "0",
  RATE_LIMIT_SIGNUPS_PER_HOUR: "0",
  RATE_LIMIT_LOGIN_FAILURES: "0",
  MAX_QUEUED_HASHES: "100",
};

const form = (username: string, password: string) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ username, password }).toString(),
});
const refreshForm = (refreshToken: string) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
});
const json = (username: string, password: string) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ username, password }),
});

async function rowsNamed(url: string, prefix: string): Promise<{ username: string; password: string }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query("select username, password from users where username like $1", [`${prefix}%`]);
    return result.rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not reached within ${timeoutMs} ms`);
}

describeOnPostgres("the server process when PostgreSQL goes away (through a fault proxy)", () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  let server: RunningServer;

  beforeAll(async () => {
    database = await postgresDatabase(testDatabaseUrl as string);
    const direct = new URL(database.url as string);
    proxy = await startFaultProxy(direct.hostname, Number(direct.port || 5432));
    const viaProxy = new URL(direct);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    server = await startServer({ ...database.env, DATABASE_URL: viaProxy.toString(), BCRYPT_COST: "4", ...NO_LIMITS });
  });
  afterAll(async () => {
    await server?.stop();
    await proxy?.close();
    await database?.dispose();
  });

  it("answers 503 while the database is cut, stays alive and healthy, half-creates nobody, and recovers without a restart", async () => {
    const base = server.url;
    expect((await fetch(`${base}/users/`, json("before-cut", "a long password"))).status).toBe(201);
    const login = await fetch(`${base}/token`, form("before-cut", "a long password"));
    const { access_token: token } = (await login.json()) as { access_token: string };

    await proxy.cut();
    // A small bounded load: 10 sign-ups, 10 logins and 10 token checks at once.
    const responses = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => fetch(`${base}/users/`, json(`during-cut-${i}`, "a long password"))),
      ...Array.from({ length: 10 }, () => fetch(`${base}/token`, form("before-cut", "a long password"))),
      ...Array.from({ length: 10 }, () => fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${token}` } })),
    ]);
    for (const response of responses) {
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
      expect(((await response.json()) as { code: string }).code).toBe("STORE_UNAVAILABLE");
    }
    expect((await fetch(`${base}/ready`)).status).toBe(503);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(server.child.exitCode).toBeNull();
    expect(await rowsNamed(database.url as string, "during-cut-")).toEqual([]);

    await proxy.restore();
    await until(async () => (await fetch(`${base}/ready`)).status === 200, 30_000);
    expect((await fetch(`${base}/users/`, json("after-restore", "a long password"))).status).toBe(201);
    expect((await fetch(`${base}/token`, form("before-cut", "a long password"))).status).toBe(200);
    expect((await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(server.output()).not.toMatch(/\$2[aby]\$/);
  });

  it("answers a refresh 503 with Retry-After while the database is cut, and the same refresh token works after", async () => {
    const base = server.url;
    expect((await fetch(`${base}/users/`, json("refresher", "a long password"))).status).toBe(201);
    const login = (await (await fetch(`${base}/token`, form("refresher", "a long password"))).json()) as {
      refresh_token: string;
    };
    await proxy.cut();
    const during = await fetch(`${base}/token`, refreshForm(login.refresh_token));
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toBe("5");
    expect(await during.json()).toMatchObject({ code: "STORE_UNAVAILABLE", error: "temporarily_unavailable" });
    await proxy.restore();
    await until(async () => (await fetch(`${base}/ready`)).status === 200, 30_000);
    const after = await fetch(`${base}/token`, refreshForm(login.refresh_token));
    expect(after.status).toBe(200);
    expect(((await after.json()) as { refresh_token: string }).refresh_token).not.toBe(login.refresh_token);
  });
});

describeOnPostgres("kill -9 of the server in the middle of sign-ups", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await postgresDatabase(testDatabaseUrl as string);
  });
  afterAll(async () => {
    await database?.dispose();
  });

  it("leaves each user whole (a username with a valid hash of its password) or absent", async () => {
    // Cost 10, so hashing is slow enough (tens of ms) that the kill lands while sign-ups are in flight.
    const server = await startServer({ ...database.env, BCRYPT_COST: "10", ...NO_LIMITS });
    const names = Array.from({ length: 20 }, (_, i) => `killed-${i}`);
    const pending = names.map((name) =>
      fetch(`${server.url}/users/`, json(name, `password of ${name}`)).then(
        (response) => response.status,
        () => "connection lost" as const,
      ),
    );
    const first = await Promise.race(pending);
    await server.stop("SIGKILL");
    const outcomes = await Promise.all(pending);
    expect(outcomes).toContain("connection lost");
    expect(first).toBe(201);

    const rows = await rowsNamed(database.url as string, "killed-");
    const hasher = createBcryptHasher({ cost: 4 });
    for (const row of rows) {
      expect(row.password).toMatch(/^\$2b\$10\$/);
      expect(await hasher.verify(`password of ${row.username}`, row.password)).toBe(true);
    }
    // Every answered 201 is a row; nothing else is a partial row.
    const created = names.filter((_, i) => outcomes[i] === 201);
    for (const name of created) expect(rows.map((row) => row.username)).toContain(name);
  });
});
