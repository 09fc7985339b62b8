import { createMemoryKeyStore, createMemorySessionStore, createMemoryUserStore } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp } from "./app.js";
import { loadConfig } from "./config.js";
import type { Database } from "./database.js";

// The app in-process on the memory store (a stand-in for the database: these tests are about
// headers and addresses, and the e2e suite covers the real databases).
const memoryDatabase = (store = createMemoryUserStore()): Database => ({
  kind: "pglite",
  location: "memory",
  store,
  sessionStore: createMemorySessionStore({ users: store }),
  keyStore: createMemoryKeyStore(),
  hadUsers: false,
  usernameUniqueness: "exact",
  usernameUniquenessReason: "test",
  ping: async () => {},
  close: async () => {},
});

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function appWith(env: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({ BCRYPT_COST: "4", LOG_LEVEL: "silent", KEY_ENCRYPTION_KEY: "ab".repeat(32), ...env });
  app = await buildApp({ config, database: memoryDatabase(), secretKey: "k".repeat(32), logger: false });
  return app;
}

describe("security headers", () => {
  it.each(["/users/me", "/health", "/token"])("sets helmet's headers on %s", async (url) => {
    const server = await appWith();
    const response = await server.inject({ method: url === "/token" ? "POST" : "GET", url });
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(response.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
    expect(response.headers["content-security-policy"]).toMatch(/default-src 'self'/);
    expect(response.headers["content-security-policy"]).not.toMatch(/upgrade-insecure-requests/);
    expect(response.headers["x-powered-by"]).toBeUndefined();
  });

  it("still serves /docs: the page, its scripts and the spec, under a CSP that allows Swagger UI's own scripts", async () => {
    const server = await appWith();
    const page = await server.inject({ method: "GET", url: "/docs" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("swagger-ui");
    const csp = String(page.headers["content-security-policy"]);
    // Swagger UI's inline script and style are allowed by their hashes, and only on the docs.
    for (const hash of [...server.swaggerCSP.script, ...server.swaggerCSP.style]) expect(csp).toContain(hash);
    expect(csp).toMatch(/script-src 'self'/);
    // Swagger UI's spec-validator badge, allowed on the docs only.
    expect(csp).toMatch(/img-src [^;]*validator\.swagger\.io/);
    const api = await server.inject({ method: "GET", url: "/users/me" });
    expect(api.headers["content-security-policy"]).not.toMatch(/validator\.swagger\.io/);
    expect(csp).toMatch(/style-src 'self'/);
    expect(csp).not.toMatch(/upgrade-insecure-requests/);
    for (const asset of ["/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-initializer.js", "/docs/json"]) {
      expect((await server.inject({ method: "GET", url: asset })).statusCode, asset).toBe(200);
    }
  });
});

describe("TRUST_PROXY and per-address limits", () => {
  const logInVia = (server: FastifyInstance, forwardedFor: string) =>
    server.inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwardedFor },
      payload: "username=nobody&password=wrong",
      remoteAddress: "127.0.0.1",
    });

  it("ignores X-Forwarded-For by default: a client cannot dodge the limit by inventing addresses", async () => {
    const server = await appWith({ RATE_LIMIT_TOKEN_PER_MINUTE: "2" });
    const statuses = [];
    for (const address of ["1.1.1.1", "2.2.2.2", "3.3.3.3"])
      statuses.push((await logInVia(server, address)).statusCode);
    expect(statuses).toEqual([401, 401, 429]);
  });

  it("honours X-Forwarded-For from a proxy named in TRUST_PROXY: each client has its own budget", async () => {
    const server = await appWith({ RATE_LIMIT_TOKEN_PER_MINUTE: "2", TRUST_PROXY: "127.0.0.1" });
    const statuses = [];
    for (const address of ["1.1.1.1", "2.2.2.2", "3.3.3.3", "3.3.3.3", "3.3.3.3"]) {
      statuses.push((await logInVia(server, address)).statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
  });

  it("counts a client behind an appending proxy by the entry the proxy added, not by what the client wrote", async () => {
    const server = await appWith({ RATE_LIMIT_TOKEN_PER_MINUTE: "2", TRUST_PROXY: "127.0.0.1" });
    const statuses = [];
    for (const invented of ["6.6.6.6", "7.7.7.7", "8.8.8.8"]) {
      statuses.push((await logInVia(server, `${invented}, 1.1.1.1`)).statusCode);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });

  it("keys a forwarded value that is not an IP address by the proxy's address: no fresh key per request", async () => {
    const server = await appWith({ RATE_LIMIT_TOKEN_PER_MINUTE: "2", TRUST_PROXY: "127.0.0.1" });
    const statuses = [];
    for (const junk of ["a".repeat(2000), "b".repeat(12_000), "unknown"]) {
      statuses.push((await logInVia(server, junk)).statusCode);
    }
    expect(statuses).toEqual([401, 401, 429]);
  });

  it("warns once when a peer that is not a trusted proxy sends X-Forwarded-For", async () => {
    const lines: string[] = [];
    const stream = { write: (line: string) => void lines.push(line) };
    const config = loadConfig({ BCRYPT_COST: "4", LOG_LEVEL: "warn", KEY_ENCRYPTION_KEY: "ab".repeat(32) });
    app = await buildApp({
      config,
      database: memoryDatabase(),
      secretKey: "k".repeat(32),
      logger: { level: "warn", stream },
    });
    for (const address of ["1.1.1.1", "2.2.2.2", "3.3.3.3"]) await logInVia(app, address);
    const warnings = lines.filter((line) => line.includes("X-Forwarded-For from a peer TRUST_PROXY does not name"));
    expect(warnings).toHaveLength(1);
  });

  it("does not believe X-Forwarded-For from an address that is not a named proxy", async () => {
    const server = await appWith({ RATE_LIMIT_TOKEN_PER_MINUTE: "2", TRUST_PROXY: "10.0.0.0/8" });
    const statuses = [];
    for (const address of ["1.1.1.1", "2.2.2.2", "3.3.3.3"])
      statuses.push((await logInVia(server, address)).statusCode);
    expect(statuses).toEqual([401, 401, 429]);
  });
});

describe("REDIS_URL", () => {
  const logIn = (server: FastifyInstance) =>
    server.inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "username=nobody&password=wrong",
    });
  const statusesOf = async (servers: FastifyInstance[]) => {
    const statuses = [];
    for (const server of servers) statuses.push((await logIn(server)).statusCode);
    return statuses;
  };

  it("shares per-address counts between two servers on one Redis", async () => {
    const env = { RATE_LIMIT_TOKEN_PER_MINUTE: "2", REDIS_URL: "redis://127.0.0.1:6379/0" };
    const first = await appWith(env);
    const config = loadConfig({ BCRYPT_COST: "4", LOG_LEVEL: "silent", KEY_ENCRYPTION_KEY: "ab".repeat(32), ...env });
    const second = await buildApp({ config, database: memoryDatabase(), secretKey: "k".repeat(32), logger: false });
    try {
      // Let both clients connect; until then each would count in memory (the outage policy).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // Both servers see the address 127.0.0.1; clear what earlier runs counted for it.
      const admin = new Redis("redis://127.0.0.1:6379/0");
      await admin.del("latchkey:rl:ip:127.0.0.1latchkey-token");
      await admin.quit();
      expect(await statusesOf([first, second, first])).toEqual([401, 401, 429]);
    } finally {
      await second.close();
    }
  });

  it("keeps limiting per instance when Redis cannot be reached, without making requests wait", async () => {
    const server = await appWith({ RATE_LIMIT_TOKEN_PER_MINUTE: "2", REDIS_URL: "redis://127.0.0.1:1/0" });
    expect(await statusesOf([server, server, server])).toEqual([401, 401, 429]);
  });
});
