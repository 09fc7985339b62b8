import { type FaultProxy, startFaultProxy } from "@latchkey/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { postgresDatabase, type TestDatabase, testDatabases } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";
import { describeOnPostgres as describeOnPostgresFor, testDatabaseUrl } from "./postgres-only.js";

// Logout, revocation and account changes through real server processes: two instances on one
// PostgreSQL database, each with its own in-process copy of the revocations (ACCESS_TOKEN_CHECKS
// defaults to `session`). What one instance ends, the other must refuse within 5 seconds.
const describeOnPostgres = describeOnPostgresFor("test/revocation.test.ts");
const NO_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: "0",
  RATE_LIMIT_SIGNUPS_PER_HOUR: "0",
  RATE_LIMIT_LOGIN_FAILURES: "0",
};
const FORM = "application/x-www-form-urlencoded";
const GUARANTEE_MS = 5000;

interface Tokens {
  access_token: string;
  refresh_token: string;
}

const request = (
  base: string,
  method: string,
  path: string,
  init: { token?: string; type?: string; body?: string } = {},
) =>
  fetch(`${base}${path}`, {
    method,
    headers: {
      ...(init.token !== undefined && { authorization: `Bearer ${init.token}` }),
      ...(init.type !== undefined && { "content-type": init.type }),
    },
    ...(init.body !== undefined && { body: init.body }),
  });
const signUp = (base: string, username: string, password = "a long password") =>
  request(base, "POST", "/users/", { type: "application/json", body: JSON.stringify({ username, password }) });
async function logIn(base: string, username: string, password = "a long password"): Promise<Tokens> {
  const response = await request(base, "POST", "/token", {
    type: FORM,
    body: new URLSearchParams({ username, password }).toString(),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Tokens;
}
const me = (base: string, token: string) => request(base, "GET", "/users/me", { token });
const refresh = (base: string, refreshToken: string) =>
  request(base, "POST", "/token", {
    type: FORM,
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });

/** Milliseconds until `GET /users/me` with `token` on `base` answers `status`; fails after the guarantee. */
async function msUntil(base: string, token: string, status: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const got = (await me(base, token)).status;
    const elapsed = performance.now() - started;
    if (got === status) return elapsed;
    if (elapsed > GUARANTEE_MS + 2000)
      throw new Error(`still ${got} after ${Math.round(elapsed)} ms, expected ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(testDatabases())("logout and account changes in the server process on $name", ({ open }) => {
  let database: TestDatabase;
  let server: RunningServer;
  beforeAll(async () => {
    database = await open();
    server = await startServer({ ...database.env, BCRYPT_COST: "4", ...NO_LIMITS });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("ends a session at logout, lists and ends sessions, and deletes the account, each at once", async () => {
    const base = server.url;
    expect((await signUp(base, "Solo")).status).toBe(201);
    const [one, two, three] = [await logIn(base, "Solo"), await logIn(base, "Solo"), await logIn(base, "Solo")];
    expect((await request(base, "POST", "/logout?scope=local", { token: one.access_token })).status).toBe(204);
    expect((await me(base, one.access_token)).status).toBe(401);
    const listed = await request(base, "GET", "/users/me/sessions", { token: two.access_token });
    const { sessions } = (await listed.json()) as { sessions: { id: string; current: boolean }[] };
    expect(sessions).toHaveLength(2);
    const other = sessions.find((session) => !session.current) as { id: string };
    expect((await request(base, "DELETE", `/users/me/sessions/${other.id}`, { token: two.access_token })).status).toBe(
      204,
    );
    expect((await me(base, three.access_token)).status).toBe(401);
    const deleted = await request(base, "DELETE", "/users/me", {
      token: two.access_token,
      type: "application/json",
      body: JSON.stringify({ password: "a long password" }),
    });
    expect(deleted.status).toBe(204);
    expect((await me(base, two.access_token)).status).toBe(401);
    expect(server.output()).not.toContain("a long password");
  });
});

describeOnPostgres("revocation across two server instances on PostgreSQL", () => {
  let database: TestDatabase;
  let proxy: FaultProxy;
  const servers: RunningServer[] = [];

  beforeAll(async () => {
    database = await postgresDatabase(testDatabaseUrl as string);
    const direct = new URL(database.url as string);
    proxy = await startFaultProxy(direct.hostname, Number(direct.port || 5432));
  });
  afterEach(async () => {
    await proxy.restore();
    for (const server of servers.splice(0)) await server.stop();
  });
  afterAll(async () => {
    await proxy?.close();
    await database?.dispose();
  });

  const start = async (env: Record<string, string> = {}) => {
    const server = await startServer({ ...database.env, BCRYPT_COST: "4", ...NO_LIMITS, ...env });
    servers.push(server);
    return server;
  };
  const viaProxy = () => {
    const url = new URL(database.url as string);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    return url.toString();
  };

  it("refuses on instance B, within 5 s, a token logged out on instance A", async () => {
    const [a, b] = [await start(), await start()];
    expect((await signUp(a.url, "LogoutAB")).status).toBe(201);
    const tokens = await logIn(a.url, "LogoutAB");
    expect((await me(b.url, tokens.access_token)).status).toBe(200);
    expect((await request(a.url, "POST", "/logout", { token: tokens.access_token })).status).toBe(204);
    expect((await me(a.url, tokens.access_token)).status).toBe(401);
    const ms = await msUntil(b.url, tokens.access_token, 401);
    console.info(`[revocation] logout on A refused on B after ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(GUARANTEE_MS);
    expect((await refresh(b.url, tokens.refresh_token)).status).toBe(400);
  });

  it("kills, on B, another device's access token when the password is changed on A", async () => {
    const [a, b] = [await start(), await start()];
    expect((await signUp(a.url, "Changer")).status).toBe(201);
    const laptop = await logIn(a.url, "Changer");
    const phone = await logIn(b.url, "Changer");
    const changed = await request(a.url, "POST", "/users/me/password", {
      token: laptop.access_token,
      type: "application/json",
      body: JSON.stringify({ current_password: "a long password", new_password: "another long password" }),
    });
    expect(changed.status).toBe(200);
    const fresh = (await changed.json()) as Tokens;
    expect(await msUntil(b.url, phone.access_token, 401)).toBeLessThan(GUARANTEE_MS);
    expect((await refresh(b.url, phone.refresh_token)).status).toBe(400);
    expect((await me(b.url, fresh.access_token)).status).toBe(200);
  });

  it("never leaves a usable token once /revoke has answered, however it races a refresh", async () => {
    const [a, b] = [await start(), await start()];
    expect((await signUp(a.url, "Racer")).status).toBe(201);
    for (let round = 0; round < 10; round += 1) {
      const tokens = await logIn(a.url, "Racer");
      const [refreshed, revoked] = await Promise.all([
        refresh(round % 2 === 0 ? a.url : b.url, tokens.refresh_token),
        request(a.url, "POST", "/revoke", {
          type: FORM,
          body: new URLSearchParams({ token: tokens.refresh_token }).toString(),
        }),
      ]);
      expect(revoked.status).toBe(200);
      const survivors = [tokens.access_token];
      if (refreshed.status === 200) {
        const body = (await refreshed.json()) as Tokens;
        expect((await refresh(a.url, body.refresh_token)).status, `round ${round}`).toBe(400);
        survivors.push(body.access_token);
      } else {
        expect(refreshed.status).toBe(400);
      }
      for (const token of survivors) {
        expect((await me(a.url, token)).status, `round ${round} on A`).toBe(401);
        expect(await msUntil(b.url, token, 401)).toBeLessThan(GUARANTEE_MS);
      }
    }
  });

  it("never opens a user re-created under a deleted user's name with the deleted user's token", async () => {
    const [a, b] = [await start(), await start()];
    expect((await signUp(a.url, "Phoenix")).status).toBe(201);
    const old = await logIn(a.url, "Phoenix");
    const deleted = await request(a.url, "DELETE", "/users/me", {
      token: old.access_token,
      type: "application/json",
      body: JSON.stringify({ password: "a long password" }),
    });
    expect(deleted.status).toBe(204);
    expect((await signUp(b.url, "Phoenix", "the newcomer's password")).status).toBe(201);
    // At once, on either instance: the token names another account than the one now called Phoenix.
    expect((await me(b.url, old.access_token)).status).toBe(401);
    expect((await me(a.url, old.access_token)).status).toBe(401);
    expect((await refresh(b.url, old.refresh_token)).status).toBe(400);
    const newcomer = await logIn(b.url, "Phoenix", "the newcomer's password");
    expect((await me(a.url, newcomer.access_token)).status).toBe(200);
  });

  it("misses no revocation when the listener's connection is cut and restored", async () => {
    // A listens through the fault proxy; its queries go straight to PostgreSQL.
    const a = await start({ LISTEN_DATABASE_URL: viaProxy() });
    const b = await start();
    expect((await signUp(b.url, "Listener")).status).toBe(201);
    const [one, two] = [await logIn(b.url, "Listener"), await logIn(b.url, "Listener")];
    await proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await request(b.url, "POST", "/logout", { token: one.access_token })).status).toBe(204);
    // Listener down: A still learns of it from its reads of the feed, within the guarantee.
    const polled = await msUntil(a.url, one.access_token, 401);
    console.info(`[revocation] listener cut: refused on A after ${Math.round(polled)} ms (feed reads)`);
    expect(polled).toBeLessThan(GUARANTEE_MS);
    await proxy.restore();
    const deadline = Date.now() + 10_000;
    while (!/listening for revocations/.test(a.output().split("revocation listener is down").at(-1) ?? "")) {
      if (Date.now() > deadline) throw new Error(`the listener did not come back:\n${a.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await request(b.url, "POST", "/logout", { token: two.access_token })).status).toBe(204);
    const pushed = await msUntil(a.url, two.access_token, 401);
    console.info(`[revocation] listener back: refused on A after ${Math.round(pushed)} ms`);
    expect(pushed).toBeLessThan(GUARANTEE_MS);
    expect(a.output()).toMatch(/revocation listener is down/);
  });

  it("fails closed while its database is cut, and enforces on return what was revoked meanwhile", async () => {
    const a = await start({ DATABASE_URL: viaProxy() });
    const b = await start();
    expect((await signUp(b.url, "Outage")).status).toBe(201);
    const [gone, kept] = [await logIn(b.url, "Outage"), await logIn(b.url, "Outage")];
    await proxy.cut();
    const loggedOutAt = performance.now();
    expect((await request(b.url, "POST", "/logout", { token: gone.access_token })).status).toBe(204);
    // A cannot read the revocations now; past the guarantee it answers 503, never 200.
    await new Promise((resolve) => setTimeout(resolve, GUARANTEE_MS - 500 - (performance.now() - loggedOutAt)));
    for (const token of [gone.access_token, kept.access_token]) {
      const during = await me(a.url, token);
      expect(during.status).toBe(503);
      expect(during.headers.get("retry-after")).toBeTruthy();
    }
    await proxy.restore();
    expect(await msUntil(a.url, kept.access_token, 200)).toBeLessThan(GUARANTEE_MS + 5000);
    expect((await me(a.url, gone.access_token)).status).toBe(401);
  });
});
