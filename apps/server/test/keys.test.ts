import { type ChildProcess, execFile, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresDatabase, type TestDatabase, testDatabases } from "../src/testing/databases.js";
import { type RunningServer, serverEnv, startServer } from "../src/testing/server-process.js";
import { describeOnPostgres as describeOnPostgresFor, testDatabaseUrl } from "./postgres-only.js";

// Signing keys through real processes: the `latchkey keys` command, the server's JWKS, and another
// service that verifies with @latchkey/verify from the JWKS URL alone while keys rotate.
const describeOnPostgres = describeOnPostgresFor("test/keys.test.ts");
const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, "..", "bin", "latchkey.js");
const VERIFIER = join(HERE, "fixtures", "verifier.mjs");
const NO_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: "0",
  RATE_LIMIT_SIGNUPS_PER_HOUR: "0",
  RATE_LIMIT_LOGIN_FAILURES: "0",
};
const ISSUER = "http://latchkey.test";
const FORM = "application/x-www-form-urlencoded";

const latchkey = async (env: Record<string, string>, ...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: serverEnv(env) });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const { code, stdout = "", stderr = "" } = error as { code: number; stdout?: string; stderr?: string };
    return { code, out: stdout + stderr };
  }
};
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString());

async function signUpAndLogIn(base: string, username: string): Promise<string> {
  const body = JSON.stringify({ username, password: "a long password" });
  await fetch(`${base}/users/`, { method: "POST", headers: { "content-type": "application/json" }, body });
  return logIn(base, username);
}
async function logIn(base: string, username: string): Promise<string> {
  const response = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": FORM },
    body: new URLSearchParams({ username, password: "a long password" }).toString(),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}
const status = async (url: string, token: string) =>
  (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status;

describe.each(testDatabases())("signing keys of the server process on $name", ({ open }) => {
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

  it("signs RS256 with kid on a new database and publishes only public keys", async () => {
    const token = await signUpAndLogIn(server.url, "alice");
    const jwks = await fetch(`${server.url}/.well-known/jwks.json`);
    expect(jwks.headers.get("cache-control")).toBe("public, max-age=300");
    const { keys } = (await jwks.json()) as { keys: Array<Record<string, string>> };
    expect(headerOf(token)).toEqual({ alg: "RS256", typ: "at+jwt", kid: keys[0]?.kid });
    expect(Object.keys(keys[0] ?? {}).sort()).toEqual(["alg", "e", "key_ops", "kid", "kty", "n", "use"]);
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata).toMatchObject({ jwks_uri: `${metadata.issuer}/.well-known/jwks.json` });
    expect(server.output()).not.toMatch(/PRIVATE KEY|"d":/);
  });

  it("answers the admin command with a clear message and exit status for every outcome", async () => {
    const usage = await latchkey(database.env, "keys", "spin");
    expect(usage.code).toBe(2);
    expect(usage.out).toContain('Unknown keys subcommand "spin"');
    if (database.name === "pglite") {
      // The embedded database belongs to the running server: the command says so and changes nothing.
      const busy = await latchkey(database.env, "keys", "list");
      expect(busy.code).toBe(1);
      expect(busy.out).toMatch(/open in another process \(pid \d+\); stop it first, or use PostgreSQL/);
      return;
    }
    const list = await latchkey(database.env, "keys", "list");
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/RS256\s+active/);
    const unknown = await latchkey(database.env, "keys", "revoke", "no-such-kid");
    expect(unknown).toEqual({ code: 1, out: "latchkey: No key has the kid no-such-kid\n" });
  });
});

describeOnPostgres("rotation and revocation across instances and a verifier (PostgreSQL)", () => {
  let database: TestDatabase;
  let a: RunningServer;
  let b: RunningServer;
  let verifier: ChildProcess;
  let verifierUrl: string;
  // Short cache times so rotations take seconds: a key is published 2 × 2 s before it signs.
  const env = () => ({ ...database.env, BCRYPT_COST: "4", ...NO_LIMITS, ISSUER, JWKS_MAX_AGE_SECONDS: "2" });
  const CACHE_MAX_AGE_MS = 2000;

  beforeAll(async () => {
    database = await postgresDatabase(testDatabaseUrl as string);
    a = await startServer(env());
    b = await startServer(env());
    verifier = spawn(process.execPath, [VERIFIER], {
      env: {
        ...serverEnv({}),
        ISSUER,
        JWKS_URI: `${a.url}/.well-known/jwks.json`,
        CACHE_MAX_AGE_MS: String(CACHE_MAX_AGE_MS),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    verifierUrl = await new Promise((resolve) => {
      let output = "";
      verifier.stdout?.on("data", (chunk) => {
        output += chunk;
        const match = /VERIFIER (\S+)/.exec(output);
        if (match) resolve(match[1] as string);
      });
    });
  }, 60_000);
  afterAll(async () => {
    verifier?.kill("SIGTERM");
    await a?.stop();
    await b?.stop();
    await database?.dispose();
  });

  it("verifies a continuous stream of fresh tokens while keys rotate three times: zero 401s", async () => {
    await signUpAndLogIn(a.url, "stream");
    const kids = new Set<string>();
    const refusals: string[] = [];
    let running = true;
    let checked = 0;
    const stream = (async () => {
      for (let i = 0; running; i += 1) {
        const issuer = i % 2 === 0 ? a : b;
        const token = await logIn(issuer.url, "stream");
        kids.add(headerOf(token).kid);
        for (const [where, url] of [
          ["verifier", `${verifierUrl}/check`],
          ["A", `${a.url}/users/me`],
          ["B", `${b.url}/users/me`],
        ] as const) {
          const got = await status(url, token);
          checked += 1;
          if (got !== 200) refusals.push(`${where} answered ${got} to a token of kid ${headerOf(token).kid}`);
        }
      }
    })();
    for (const algorithm of ["ES256", "EdDSA", "RS256"]) {
      const rotated = await latchkey(env(), "keys", "rotate", "--algorithm", algorithm);
      expect(rotated.code, rotated.out).toBe(0);
      expect(rotated.out).toContain(`Added ${algorithm} key`);
      // The lead (4 s) and a little more: the new key signs before the next rotation.
      await new Promise((resolve) => setTimeout(resolve, 5000));
    }
    running = false;
    await stream;
    console.info(
      `[keys] ${checked} checks of ${kids.size} keys' tokens during 3 rotations: ${refusals.length} refused`,
    );
    expect(refusals).toEqual([]);
    expect(kids.size).toBe(4);
    expect(checked).toBeGreaterThan(100);
    const list = await latchkey(env(), "keys", "list");
    expect(list.out).toMatch(/RS256\s+retiring[\s\S]*ES256\s+retiring[\s\S]*EdDSA\s+retiring[\s\S]*RS256\s+active/);
  }, 60_000);

  it("refuses a revoked key's tokens at once on both instances, and at the verifier after its cache time", async () => {
    const token = await logIn(b.url, "stream");
    const { kid } = headerOf(token);
    expect(await status(`${verifierUrl}/check`, token)).toBe(200);
    const revoked = await latchkey(env(), "keys", "revoke", kid);
    expect(revoked.code, revoked.out).toBe(0);
    expect(revoked.out).toContain("It was the active key");
    const started = performance.now();
    const refusedWithin = async (url: string, limitMs: number) => {
      for (;;) {
        if ((await status(url, token)) === 401) return performance.now() - started;
        if (performance.now() - started > limitMs) throw new Error(`${url} still accepts the revoked key's token`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    // NOTIFY reaches both instances within moments (the fallback read is every 10 s).
    const onA = await refusedWithin(`${a.url}/users/me`, 1000);
    const onB = await refusedWithin(`${b.url}/users/me`, 1000);
    // The verifier trusts its JWKS copy for CACHE_MAX_AGE_MS, then fetches one without the key.
    const atVerifier = await refusedWithin(`${verifierUrl}/check`, CACHE_MAX_AGE_MS + 1500);
    console.info(
      `[keys] revoked key refused after ${[onA, onB, atVerifier].map(Math.round).join(" / ")} ms (A / B / verifier)`,
    );
    // The replacement signs at once, and every party accepts its tokens.
    const fresh = await logIn(a.url, "stream");
    expect(headerOf(fresh).kid).not.toBe(kid);
    expect(await status(`${b.url}/users/me`, fresh)).toBe(200);
    expect(await status(`${verifierUrl}/check`, fresh)).toBe(200);
  }, 30_000);
});
