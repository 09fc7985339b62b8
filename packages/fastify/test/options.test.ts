import fastifyJwt from "@fastify/jwt";
import { createBcryptHasher, createMemoryUserStore } from "@latchkey/core";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { type LatchkeyOptions, latchkey } from "../src/index.js";
import { SECRET } from "./fixtures/app.js";

/** Registers the plugin with `options` and resolves to the error `ready()` fails with, if any. */
async function registrationError(options: unknown): Promise<{ code?: string; message: string } | undefined> {
  const app = Fastify();
  app.register(latchkey, options as LatchkeyOptions);
  try {
    await app.ready();
    return undefined;
  } catch (error) {
    return error as { code?: string; message: string };
  } finally {
    await app.close();
  }
}

const valid = () => ({ store: createMemoryUserStore(), secret: SECRET, bcryptCost: 4 });

describe("options checked at registration", () => {
  it("accepts the minimal options and a 32-byte binary secret", async () => {
    expect(await registrationError(valid())).toBeUndefined();
    expect(await registrationError({ ...valid(), secret: new Uint8Array(32).fill(7) })).toBeUndefined();
  });

  const refused: [string, Record<string, unknown>, string, RegExp][] = [
    ["no store", { store: undefined }, "INVALID_OPTIONS", /option `store` is required/],
    ["a store missing methods", { store: { findByUsername: async () => null } }, "INVALID_OPTIONS", /`store`/],
    ["no secret", { secret: undefined }, "WEAK_SECRET", /`secret`.*required/],
    ["a short secret", { secret: "too-short" }, "WEAK_SECRET", /`secret`.*at least 32 bytes/],
    ["the original's placeholder secret", { secret: "YOUR_SECRET_KEY" }, "WEAK_SECRET", /placeholder/],
    ["a 32-byte secret for HS512", { algorithm: "HS512" }, "WEAK_SECRET", /at least 64 bytes for HS512/],
    ["algorithm none", { algorithm: "none" }, "INVALID_OPTIONS", /algorithm must be one of HS256, HS384, HS512/],
    ["an asymmetric algorithm", { algorithm: "RS256" }, "INVALID_OPTIONS", /algorithm/],
    ["a zero expiry", { expiresInSeconds: 0 }, "INVALID_OPTIONS", /expiresInSeconds must be a positive number/],
    ["a negative expiry", { expiresInSeconds: -60 }, "INVALID_OPTIONS", /expiresInSeconds/],
    ["an expiry given as a string", { expiresInSeconds: "1800" }, "INVALID_OPTIONS", /expiresInSeconds/],
    ["a zero token size limit", { maxTokenBytes: 0 }, "INVALID_OPTIONS", /maxTokenBytes/],
    ["an empty issuer", { issuer: "" }, "INVALID_OPTIONS", /`issuer` must be a non-empty string/],
    ["a bcrypt cost of 3", { bcryptCost: 3 }, "INVALID_OPTIONS", /`bcryptCost`.*4 to 31/],
    ["a fractional bcrypt cost", { bcryptCost: 10.5 }, "INVALID_OPTIONS", /`bcryptCost`/],
    [
      "both hasher and bcryptCost",
      { hasher: createBcryptHasher({ cost: 4 }) },
      "INVALID_OPTIONS",
      /either `hasher` or `bcryptCost`/,
    ],
    ["a hasher that is not one", { bcryptCost: undefined, hasher: { hash: () => "" } }, "INVALID_OPTIONS", /`hasher`/],
    ["a username policy with minLength 0", { usernamePolicy: { minLength: 0 } }, "INVALID_OPTIONS", /`usernamePolicy`/],
    ["a password policy with minLength 0", { passwordPolicy: { minLength: 0 } }, "INVALID_OPTIONS", /`passwordPolicy`/],
    ["a prefix without a leading slash", { prefix: "auth" }, "INVALID_OPTIONS", /`prefix`/],
    ["an invalid-grant status of 403", { invalidGrantStatus: 403 }, "INVALID_OPTIONS", /`invalidGrantStatus`/],
    ["an invalid-grant status as a string", { invalidGrantStatus: "400" }, "INVALID_OPTIONS", /`invalidGrantStatus`/],
    ["a zero body limit", { bodyLimit: 0 }, "INVALID_OPTIONS", /`bodyLimit`/],
    ["a fractional Retry-After", { retryAfterSeconds: 1.5 }, "INVALID_OPTIONS", /`retryAfterSeconds`/],
    ["a hook that is not a function", { onLogin: "audit" }, "INVALID_OPTIONS", /`onLogin` must be a function/],
    ["zero concurrent hashes", { maxConcurrentHashes: 0 }, "INVALID_OPTIONS", /`maxConcurrentHashes`/],
    ["a negative hash queue", { maxQueuedHashes: -1 }, "INVALID_OPTIONS", /`maxQueuedHashes`/],
    ["rateLimit: true", { rateLimit: true }, "INVALID_OPTIONS", /`rateLimit` must be false or an object/],
    [
      "a rate limit of 0",
      { rateLimit: { tokenPerAddress: { max: 0, timeWindowSeconds: 60 } } },
      "INVALID_OPTIONS",
      /`rateLimit.tokenPerAddress`/,
    ],
    [
      "a rate limit without a window",
      { rateLimit: { loginFailuresPerUsername: { max: 5 } } },
      "INVALID_OPTIONS",
      /`rateLimit.loginFailuresPerUsername`/,
    ],
    ["a redis that is not a client", { rateLimit: { redis: "redis://x" } }, "INVALID_OPTIONS", /`rateLimit.redis`/],
    ["a misspelt rate limit option", { rateLimit: { perIp: 5 } }, "INVALID_OPTIONS", /`rateLimit.perIp`/],
    ["a misspelt option", { expiresIn: 60 }, "INVALID_OPTIONS", /unknown option\(s\) `expiresIn`/],
  ];

  it.each(refused)("refuses %s with a clear error at start-up", async (_case, override, code, message) => {
    const error = await registrationError({ ...valid(), ...override });
    expect(error?.code).toBe(code);
    expect(error?.message).toMatch(/^@latchkey\/fastify/);
    expect(error?.message).toMatch(message);
  });

  it("refuses to start when @fastify/jwt is already registered with other settings", async () => {
    const app = Fastify();
    app.register(fastifyJwt, { secret: "someone-elses-secret-of-32-bytes" });
    app.register(latchkey, valid());
    await expect(app.ready()).rejects.toMatchObject({
      code: "INVALID_OPTIONS",
      message: expect.stringMatching(/@fastify\/jwt is already registered/),
    });
    await app.close();
  });

  it("registers no route when its options are refused", async () => {
    const app = Fastify();
    app.register(latchkey, { ...valid(), bcryptCost: 2 });
    await expect(app.ready()).rejects.toThrow();
    expect(app.hasRoute({ method: "POST", url: "/token" })).toBe(false);
  });
});
