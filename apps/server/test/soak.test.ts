import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testDatabases } from "../src/testing/databases.js";
import { type RunningServer, startServer } from "../src/testing/server-process.js";

// A bounded soak of mixed sign-ups, logins and token checks against the real server process on
// loopback. LATCHKEY_SOAK_SECONDS sets its length (CI: 15; the issue's example: 60). It checks
// outcomes and memory, not speed: the machine is shared, and durations would only measure that.
const SOAK_SECONDS = Number(process.env.LATCHKEY_SOAK_SECONDS ?? 15);
const WORKERS = 6;
const databases = testDatabases();
const target = databases.find((entry) => entry.name === "postgres") ?? (databases[0] as (typeof databases)[number]);

/** Resident memory of a process, in bytes, from /proc (Linux). */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
  return Number(line?.[1] ?? Number.NaN) * 1024;
}

describe(`a ${SOAK_SECONDS} s soak (reads RSS from /proc: Linux)`, () => {
  let database: TestDatabase;
  let server: RunningServer;

  beforeAll(async () => {
    database = await target.open();
    // All load comes from 127.0.0.1, so per-address limits are off; admission control stays at its defaults.
    server = await startServer({
      ...database.env,
      BCRYPT_COST: "4",
      LOG_LEVEL: "warn",
      RATE_LIMIT_TOKEN_PER_MINUTE: "0",
      RATE_LIMIT_SIGNUPS_PER_HOUR: "0",
      RATE_LIMIT_LOGIN_FAILURES: "0",
    });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.dispose();
  });

  it("answers no 5xx except documented 503 OVERLOADED, and its memory stays roughly flat", async () => {
    const base = server.url;
    const counts = new Map<string, number>();
    const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
    const unexpected: string[] = [];

    async function worker(id: number, until: number): Promise<void> {
      let n = 0;
      let token: string | undefined;
      while (Date.now() < until) {
        n += 1;
        const name = `soak-${id}-${n}`;
        const kind = n % 3;
        let response: Response;
        if (kind === 1) {
          response = await fetch(`${base}/users/`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ username: name, password: "soak password" }),
          });
        } else if (kind === 2 || token === undefined) {
          response = await fetch(`${base}/token`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: `username=soak-${id}-1&password=${n % 6 === 2 ? "wrong+password" : "soak+password"}`,
          });
        } else {
          response = await fetch(`${base}/users/me`, { headers: { authorization: `Bearer ${token}` } });
        }
        const body = (await response.json()) as { code?: string; access_token?: string };
        if (body.access_token) token = body.access_token;
        count(`${response.status}${body.code ? ` ${body.code}` : ""}`);
        if (response.status >= 500 && body.code !== "OVERLOADED") unexpected.push(`${response.status} ${body.code}`);
      }
    }

    // Warm up (JIT, pools, first bcrypt, the heap growing to its working size) before the first
    // memory reading: Node 24's V8 grows the heap for longer than Node 20's (seen: +118 MB in a
    // 15 s run after a 2 s warm-up), which is sizing, not a leak.
    const warmUpMs = Math.max(5000, (SOAK_SECONDS * 1000) / 3);
    await Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(100 + id, Date.now() + warmUpMs)));
    const pid = server.child.pid as number;
    const rssStart = rssOf(pid);
    await Promise.all(Array.from({ length: WORKERS }, (_, id) => worker(id, Date.now() + SOAK_SECONDS * 1000)));
    const rssEnd = rssOf(pid);

    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    console.log(`soak ${SOAK_SECONDS} s: RSS ${mb(rssStart)} -> ${mb(rssEnd)}; responses`, Object.fromEntries(counts));
    expect(unexpected).toEqual([]);
    expect(counts.get("201") ?? 0).toBeGreaterThan(0);
    expect(counts.get("200") ?? 0).toBeGreaterThan(0);
    expect(rssEnd).toBeLessThan(rssStart * 1.5 + 64 * 1024 * 1024);
    expect(server.child.exitCode).toBeNull();
  });
});
