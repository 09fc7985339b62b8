import { randomBytes } from "node:crypto";
import { createMemoryUserStore, type UserStore } from "@latchkey/core";
import { type FaultProxy, startFaultProxy } from "@latchkey/core/testing";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { LatchkeyRateLimitOptions } from "../../src/index.js";
import { buildApp, FORM_HEADERS, JSON_HEADERS, logIn } from "../fixtures/app.js";
import { createSlowHasher, until } from "../fixtures/slow-hasher.js";

const REDIS_PORT = 6379;

function logInFrom(app: FastifyInstance, remoteAddress: string, username: string, password: string) {
  const payload = new URLSearchParams({ username, password }).toString();
  return app.inject({ method: "POST", url: "/token", headers: FORM_HEADERS, payload, remoteAddress });
}

function signUpFrom(app: FastifyInstance, remoteAddress: string, username: string) {
  return app.inject({
    method: "POST",
    url: "/users/",
    headers: JSON_HEADERS,
    payload: { username, password: "a long password" },
    remoteAddress,
  });
}

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function appWith(rateLimit: LatchkeyRateLimitOptions, store: UserStore = createMemoryUserStore()) {
  const hasher = createSlowHasher();
  hasher.releaseAll({ open: true });
  await store.create({ username: "alice", passwordHash: "fake$correct horse" });
  const { app, log } = await buildApp({ store, bcryptCost: undefined, hasher, rateLimit });
  closers.push(() => app.close());
  return { app, hasher, store, log };
}

/** Sends the requests one after another (so their order is the counting order); their statuses. */
async function statuses(count: number, send: () => Promise<{ statusCode: number }>): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i += 1) result.push((await send()).statusCode);
  return result;
}

describe("rate limits in memory", () => {
  it("limits POST /token per address with 429 RATE_LIMITED, Retry-After and the plugin's error shape", async () => {
    const { app } = await appWith({ tokenPerAddress: { max: 3, timeWindowSeconds: 60 } });
    for (let i = 0; i < 3; i += 1)
      expect((await logInFrom(app, "10.0.0.1", "alice", "correct horse")).statusCode).toBe(200);
    const refused = await logInFrom(app, "10.0.0.1", "alice", "correct horse");
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(refused.headers["retry-after"])).toBeLessThanOrEqual(60);
    expect(refused.json()).toEqual({
      detail: "Too many requests from this address, please retry later",
      code: "RATE_LIMITED",
      error: "temporarily_unavailable",
      error_description: "Too many requests from this address, please retry later",
    });
    // Another address has its own budget.
    expect((await logInFrom(app, "10.0.0.2", "alice", "correct horse")).statusCode).toBe(200);
  });

  it("limits POST /users/ and /users together per address and creates nobody when refusing", async () => {
    const { app, store } = await appWith({ signUpPerAddress: { max: 2, timeWindowSeconds: 3600 } });
    expect((await signUpFrom(app, "10.0.0.1", "u1")).statusCode).toBe(201);
    const viaOtherPath = await app.inject({
      method: "POST",
      url: "/users",
      headers: JSON_HEADERS,
      payload: { username: "u2", password: "a long password" },
      remoteAddress: "10.0.0.1",
    });
    expect(viaOtherPath.statusCode).toBe(201);
    const refused = await signUpFrom(app, "10.0.0.1", "u3");
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: "RATE_LIMITED" });
    expect(await store.findByUsername("u3")).toBeNull();
  });

  it("locks a username after max failed logins, before any bcrypt work, from every address", async () => {
    const { app, hasher } = await appWith({
      tokenPerAddress: false,
      loginFailuresPerUsername: { max: 3, timeWindowSeconds: 900 },
    });
    for (const address of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      expect((await logInFrom(app, address, "alice", "wrong")).statusCode).toBe(401);
    }
    const verifies = hasher.calls.verify;
    const locked = await logInFrom(app, "10.0.0.9", "alice", "correct horse");
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({
      code: "RATE_LIMITED",
      detail: "Too many failed logins for this username, please retry later",
    });
    expect(Number(locked.headers["retry-after"])).toBeGreaterThan(800);
    expect(hasher.calls.verify).toBe(verifies);
  });

  it("counts the composed and decomposed spellings of a username as one", async () => {
    const { app } = await appWith({
      tokenPerAddress: false,
      loginFailuresPerUsername: { max: 2, timeWindowSeconds: 900 },
    });
    await logIn(app, "Zo\u00e9", "wrong");
    await logIn(app, "Zoe\u0301", "wrong");
    expect((await logIn(app, "Zo\u00e9", "wrong")).statusCode).toBe(429);
  });

  it("does not lock other usernames, and a successful login clears the username's failures", async () => {
    const { app, store } = await appWith({
      tokenPerAddress: false,
      loginFailuresPerUsername: { max: 3, timeWindowSeconds: 900 },
    });
    await store.create({ username: "bob", passwordHash: "fake$bobs password" });
    for (let i = 0; i < 3; i += 1) await logIn(app, "bob", "wrong");
    expect((await logIn(app, "alice", "correct horse")).statusCode).toBe(200);

    for (let i = 0; i < 2; i += 1) expect((await logIn(app, "alice", "wrong")).statusCode).toBe(401);
    expect((await logIn(app, "alice", "correct horse")).statusCode).toBe(200);
    for (let i = 0; i < 2; i += 1) expect((await logIn(app, "alice", "wrong")).statusCode).toBe(401);
    expect((await logIn(app, "alice", "correct horse")).statusCode).toBe(200);
  });

  it("lets at most max concurrent wrong guesses for one username through to bcrypt", async () => {
    const { app, hasher } = await appWith({
      tokenPerAddress: false,
      loginFailuresPerUsername: { max: 10, timeWindowSeconds: 900 },
    });
    const results = await Promise.all(Array.from({ length: 45 }, (_, i) => logIn(app, "alice", `guess ${i}`)));
    expect(hasher.calls.verify).toBe(10);
    expect(results.filter((response) => response.statusCode === 401)).toHaveLength(10);
    expect(results.filter((response) => response.statusCode === 429)).toHaveLength(35);
  });

  it("gives the attempt back when a login ends without a verdict (hashing overloaded)", async () => {
    const store = createMemoryUserStore();
    const hasher = createSlowHasher();
    await store.create({ username: "alice", passwordHash: "fake$correct horse" });
    const { app } = await buildApp({
      store,
      bcryptCost: undefined,
      hasher,
      maxConcurrentHashes: 1,
      maxQueuedHashes: 0,
      rateLimit: { tokenPerAddress: false, loginFailuresPerUsername: { max: 2, timeWindowSeconds: 900 } },
    });
    closers.push(() => app.close());
    const first = logIn(app, "bob", "x");
    await until(() => hasher.pending === 1);
    // The one slot is busy: these are refused with 503 before any verification, three times.
    for (let i = 0; i < 3; i += 1) expect((await logIn(app, "alice", "wrong")).statusCode).toBe(503);
    hasher.releaseAll({ open: true });
    await first;
    // None of the three counted: alice still has both of her attempts.
    expect(await statuses(3, () => logIn(app, "alice", "wrong"))).toEqual([401, 401, 429]);
  });

  it("counts a name typed with white space around it or in another case as the same account's", async () => {
    const { app } = await appWith({
      tokenPerAddress: false,
      loginFailuresPerUsername: { max: 2, timeWindowSeconds: 900 },
    });
    await logIn(app, "alice ", "wrong");
    await logIn(app, " alice", "wrong");
    expect((await logIn(app, "alice", "correct horse")).statusCode).toBe(429);
  });

  it("rateLimit: false turns every limit off", async () => {
    const { app } = await appWith(false as never);
    expect(new Set(await statuses(30, () => logIn(app, "alice", "wrong")))).toEqual(new Set([401]));
  });
});

describe("rate limits shared through Redis", () => {
  const namespace = () => `latchkey-test:${randomBytes(6).toString("hex")}:`;
  const connect = (port: number) => {
    const redis = new Redis({
      host: "127.0.0.1",
      port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    });
    redis.on("error", () => {});
    closers.push(() => redis.disconnect());
    return redis;
  };
  const ready = (redis: Redis) =>
    redis.status === "ready" ? Promise.resolve() : new Promise<void>((resolve) => redis.once("ready", () => resolve()));

  it("shares per-address and per-username counts between two instances", async () => {
    const redisNamespace = namespace();
    const [redisA, redisB] = [connect(REDIS_PORT), connect(REDIS_PORT)];
    await Promise.all([ready(redisA), ready(redisB)]);
    const rules = {
      tokenPerAddress: { max: 3, timeWindowSeconds: 60 },
      loginFailuresPerUsername: { max: 2, timeWindowSeconds: 900 },
    };
    const a = await appWith({ ...rules, redis: redisA, redisNamespace });
    const b = await appWith({ ...rules, redis: redisB, redisNamespace });
    expect((await logInFrom(a.app, "10.1.1.1", "alice", "wrong")).statusCode).toBe(401);
    expect((await logInFrom(b.app, "10.1.1.1", "alice", "wrong")).statusCode).toBe(401);
    // alice's 2 failures were counted across instances: locked on either.
    expect((await logInFrom(a.app, "10.1.1.2", "alice", "correct horse")).statusCode).toBe(429);
    // 10.1.1.1 made 2 requests; one more is allowed anywhere, then refused everywhere.
    expect((await logInFrom(b.app, "10.1.1.1", "nobody", "x")).statusCode).toBe(401);
    expect((await logInFrom(a.app, "10.1.1.1", "nobody", "x")).statusCode).toBe(429);
    await redisA.eval(
      "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end",
      0,
      `${redisNamespace}*`,
    );
  });

  it("with Redis unreachable from the start, limits hold per instance: nobody locked out, nobody unlimited", async () => {
    const proxy = await startFaultProxy("127.0.0.1", REDIS_PORT);
    await proxy.cut();
    closers.push(() => proxy.close());
    const redis = connect(proxy.port);
    const { app, log } = await appWith({
      tokenPerAddress: { max: 3, timeWindowSeconds: 60 },
      redis,
      redisNamespace: namespace(),
    });
    expect(await statuses(4, () => logInFrom(app, "10.2.2.2", "alice", "correct horse"))).toEqual([200, 200, 200, 429]);
    expect(log.lines.some((line) => /Redis unavailable/.test(String(line.msg)))).toBe(true);
  });

  it("when Redis is cut mid-way, counts go on in memory, and are shared again once it is back", async () => {
    const proxy: FaultProxy = await startFaultProxy("127.0.0.1", REDIS_PORT);
    closers.push(() => proxy.close());
    const redis = connect(proxy.port);
    await ready(redis);
    const redisNamespace = namespace();
    const { app, log } = await appWith({ tokenPerAddress: { max: 3, timeWindowSeconds: 60 }, redis, redisNamespace });
    expect(await statuses(2, () => logInFrom(app, "10.3.3.3", "alice", "correct horse"))).toEqual([200, 200]);

    await proxy.cut();
    // In memory the address starts from zero: 3 allowed, then refused (the limit still holds).
    expect(await statuses(4, () => logInFrom(app, "10.3.3.3", "alice", "correct horse"))).toEqual([200, 200, 200, 429]);

    await proxy.restore();
    await ready(redis);
    // Requests stay on memory until the background probe (every second) gets an answer.
    await eventually(() => log.lines.some((line) => /Redis available again/.test(String(line.msg))), 3000);
    // Back on Redis, which still holds the 2 from before: one more, then refused.
    expect(await statuses(2, () => logInFrom(app, "10.3.3.3", "alice", "correct horse"))).toEqual([200, 429]);
  });

  it("with Redis hung, waits for it once, then counts in memory; what timed out is not counted twice", async () => {
    const proxy = await startFaultProxy("127.0.0.1", REDIS_PORT);
    closers.push(() => proxy.close());
    const redis = connect(proxy.port);
    await ready(redis);
    const evals = countEvals(redis);
    const redisNamespace = namespace();
    const { app, log } = await appWith({
      tokenPerAddress: { max: 100, timeWindowSeconds: 60 },
      loginFailuresPerUsername: { max: 100, timeWindowSeconds: 900 },
      redis,
      redisNamespace,
      redisTimeoutMs: 200,
    });
    expect((await logInFrom(app, "10.4.4.4", "alice", "wrong")).statusCode).toBe(401);

    proxy.freeze();
    const sentBefore = evals.count;
    const started = performance.now();
    expect(new Set(await statuses(20, () => logInFrom(app, "10.4.4.4", "alice", "wrong")))).toEqual(new Set([401]));
    const elapsed = performance.now() - started;
    // One command met the timeout; nothing else was sent to the hung Redis.
    expect(evals.count - sentBefore).toBe(1);
    expect(elapsed).toBeLessThan(20 * 200);
    expect(log.lines.some((line) => /Redis unavailable/.test(String(line.msg)))).toBe(true);

    proxy.restore();
    await eventually(() => log.lines.some((line) => /Redis available again/.test(String(line.msg))), 3000);
    // Redis ran the timed-out command when it resumed and was told to give it back: it holds the
    // counts from before the hang only (1 request, 1 failed login), as if the hang never happened.
    const counts = await redis.eval(
      "local r = {} for _,k in ipairs(redis.call('KEYS', ARGV[1])) do table.insert(r, redis.call('GET', k)) end return r",
      0,
      `${redisNamespace}*`,
    );
    expect((counts as string[]).map(Number)).toEqual([1, 1]);
  });

  it("lets at most max concurrent wrong guesses for one username through to bcrypt, across instances", async () => {
    const redisNamespace = namespace();
    const clients = [connect(REDIS_PORT), connect(REDIS_PORT), connect(REDIS_PORT)];
    await Promise.all(clients.map(ready));
    const rules = { tokenPerAddress: false as const, loginFailuresPerUsername: { max: 10, timeWindowSeconds: 900 } };
    const instances: Awaited<ReturnType<typeof appWith>>[] = [];
    for (const redis of clients) instances.push(await appWith({ ...rules, redis, redisNamespace }));
    const results = await Promise.all(
      Array.from({ length: 45 }, (_, i) =>
        logIn((instances[i % 3] as { app: FastifyInstance }).app, "alice", `guess ${i}`),
      ),
    );
    const verified = instances.reduce((sum, instance) => sum + instance.hasher.calls.verify, 0);
    expect(verified).toBe(10);
    expect(results.filter((response) => response.statusCode === 401)).toHaveLength(10);
    expect(results.filter((response) => response.statusCode === 429)).toHaveLength(35);
  });
});

/** Resolves once `condition()` holds, checking every 20 ms, or fails after `ms`. */
async function eventually(condition: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Counts the `eval` calls made on a client (every counter command is one). */
function countEvals(redis: Redis): { readonly count: number } {
  const counter = { count: 0 };
  const original = redis.eval.bind(redis);
  redis.eval = ((...args: Parameters<Redis["eval"]>) => {
    counter.count += 1;
    return original(...args);
  }) as Redis["eval"];
  return counter;
}
