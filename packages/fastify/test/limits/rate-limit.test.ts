import { randomBytes } from "node:crypto";
import { createMemoryUserStore, type UserStore } from "@latchkey/core";
import { type FaultProxy, startFaultProxy } from "@latchkey/core/testing";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import type { LatchkeyRateLimitOptions } from "../../src/index.js";
import { buildApp, FORM_HEADERS, JSON_HEADERS, logIn } from "../fixtures/app.js";
import { createSlowHasher } from "../fixtures/slow-hasher.js";

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
    // Back on Redis, which still holds the 2 from before: one more, then refused.
    expect(await statuses(2, () => logInFrom(app, "10.3.3.3", "alice", "correct horse"))).toEqual([200, 429]);
    expect(log.lines.some((line) => /Redis available again/.test(String(line.msg)))).toBe(true);
  });
});
