import { createMemoryUserStore } from "@latchkey/core";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { defaultMaxConcurrentHashes, libuvThreadPoolSize } from "../../src/limits/admission.js";
import { buildApp, getMe, logIn } from "../fixtures/app.js";
import { createSlowHasher, until } from "../fixtures/slow-hasher.js";

describe("admission control for password hashing", () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  async function setUp() {
    const store = createMemoryUserStore();
    await store.create({ username: "alice", passwordHash: "fake$correct horse" });
    const hasher = createSlowHasher();
    const { app } = await buildApp({
      store,
      bcryptCost: undefined,
      hasher,
      maxConcurrentHashes: 2,
      maxQueuedHashes: 3,
      rateLimit: false,
    });
    close = () => app.close();
    return { app, hasher, store };
  }

  it("runs 2, queues 3 and answers exactly the other 5 of 10 concurrent logins 503 OVERLOADED with Retry-After", async () => {
    const { app, hasher } = await setUp();
    const settled: LightMyRequestResponse[] = [];
    const logins = Array.from({ length: 10 }, () =>
      logIn(app, "alice", "correct horse").then((response) => {
        settled.push(response);
        return response;
      }),
    );
    await until(() => app.latchkey.admission.rejected === 5 && settled.length === 5);
    expect(app.latchkey.admission).toMatchObject({ active: 2, queued: 3, maxConcurrent: 2, maxQueued: 3 });
    expect(hasher.pending).toBe(2);
    for (const response of settled) {
      expect(response.statusCode).toBe(503);
      expect(response.headers["retry-after"]).toBe("5");
      expect(response.json()).toMatchObject({ code: "OVERLOADED" });
    }

    hasher.releaseAll({ open: true });
    const statuses = (await Promise.all(logins)).map((response) => response.statusCode).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 503, 503, 503, 503, 503]);
    // The queue drained: nothing runs or waits, and the refused calls never reached the hasher.
    expect(app.latchkey.admission).toMatchObject({ active: 0, queued: 0 });
    expect(hasher.calls.verify).toBe(5);
  });

  it("answers GET /users/me and app.authenticate while every hashing slot and queue place is taken", async () => {
    const { app, hasher } = await setUp();
    const token = await app.latchkey.tokens.createAccessToken({ sub: "alice" });
    const logins = Array.from({ length: 6 }, () => logIn(app, "alice", "correct horse"));
    await until(() => app.latchkey.admission.queued === 3);

    const me = await getMe(app, `Bearer ${token}`);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ username: "alice" });
    // Still full: /users/me neither waited for nor took a hashing slot.
    expect(app.latchkey.admission).toMatchObject({ active: 2, queued: 3 });
    expect(hasher.pending).toBe(2);

    hasher.releaseAll({ open: true });
    await Promise.all(logins);
  });

  it("refuses a sign-up with 503 OVERLOADED and creates nobody when the queue is full", async () => {
    const { app, hasher, store } = await setUp();
    const logins = Array.from({ length: 5 }, () => logIn(app, "alice", "correct horse"));
    await until(() => app.latchkey.admission.queued === 3);
    const response = await app.inject({
      method: "POST",
      url: "/users/",
      headers: { "content-type": "application/json" },
      payload: { username: "bob", password: "a long password" },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: "OVERLOADED" });
    expect(await store.findByUsername("bob")).toBeNull();
    hasher.releaseAll({ open: true });
    await Promise.all(logins);
  });
});

describe("the admission gate's default size", () => {
  it("is one bcrypt operation per core, leaving at least one thread of libuv's pool free", () => {
    expect(defaultMaxConcurrentHashes(1, 4)).toBe(1);
    expect(defaultMaxConcurrentHashes(2, 4)).toBe(2);
    expect(defaultMaxConcurrentHashes(8, 4)).toBe(3);
    expect(defaultMaxConcurrentHashes(8, 16)).toBe(8);
    expect(defaultMaxConcurrentHashes(4, 1)).toBe(1);
  });

  it("reads the thread pool's size from UV_THREADPOOL_SIZE as libuv does", () => {
    expect(libuvThreadPoolSize({})).toBe(4);
    expect(libuvThreadPoolSize({ UV_THREADPOOL_SIZE: "16" })).toBe(16);
    expect(libuvThreadPoolSize({ UV_THREADPOOL_SIZE: "0" })).toBe(1);
    expect(libuvThreadPoolSize({ UV_THREADPOOL_SIZE: "lots" })).toBe(1);
    expect(libuvThreadPoolSize({ UV_THREADPOOL_SIZE: "5000" })).toBe(1024);
  });

  it("is what the plugin uses when maxConcurrentHashes is not given", async () => {
    const { app } = await buildApp({ store: createMemoryUserStore(), rateLimit: false });
    try {
      expect(app.latchkey.admission.maxConcurrent).toBe(defaultMaxConcurrentHashes());
      expect(app.latchkey.admission.maxQueued).toBe(8 * defaultMaxConcurrentHashes());
    } finally {
      await app.close();
    }
  });
});
