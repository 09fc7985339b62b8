import { createBcryptHasher, createMemoryUserStore, type PasswordHasher, type UserStore } from "@latchkey/core";
import fc from "fast-check";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, FORM_HEADERS, JSON_HEADERS, logIn, signUp } from "../fixtures/app.js";

/** A store that counts `create` calls that succeeded, so "nothing created" is checked, not assumed. */
function countingStore(): UserStore & { created: string[] } {
  const inner = createMemoryUserStore();
  const created: string[] = [];
  return {
    created,
    findByUsername: (username) => inner.findByUsername(username),
    create: async (user) => {
      const stored = await inner.create(user);
      created.push(stored.username);
      return stored;
    },
    updatePasswordHash: (...args) => inner.updatePasswordHash(...args),
    deleteByUsername: (username) => inner.deleteByUsername(username),
  };
}

/** Real bcrypt (cost 4), with its calls counted. */
function countingBcrypt(): PasswordHasher & { calls: { hash: number; verify: number } } {
  const inner = createBcryptHasher({ cost: 4 });
  const calls = { hash: 0, verify: 0 };
  return {
    calls,
    maxPasswordBytes: inner.maxPasswordBytes,
    hash: (password) => {
      calls.hash += 1;
      return inner.hash(password);
    },
    verify: (password, hash) => {
      calls.verify += 1;
      return inner.verify(password, hash);
    },
    needsRehash: (hash) => inner.needsRehash(hash),
  };
}

const MEGABYTE = "x".repeat(1024 * 1024);
// Over the plugin's 16 KiB limit and under Fastify's own 1 MiB default, so only the plugin's limit refuses it.
const SIXTY_FOUR_KIB = "x".repeat(64 * 1024);

describe("hostile input to POST /users/ and POST /token", () => {
  let app: FastifyInstance;
  let store: ReturnType<typeof countingStore>;
  let hasher: ReturnType<typeof countingBcrypt>;

  beforeAll(async () => {
    store = countingStore();
    hasher = countingBcrypt();
    ({ app } = await buildApp({ store, bcryptCost: undefined, hasher, rateLimit: false }));
    expect((await signUp(app, "alice", "correct horse")).statusCode).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
  });

  const json = (payload: string, url = "/users/") =>
    app.inject({ method: "POST", url, headers: JSON_HEADERS, payload });
  const form = (payload: string, url = "/token") => app.inject({ method: "POST", url, headers: FORM_HEADERS, payload });

  const refusedSignUps: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
    ["a zero-width space in the username", () => signUp(app, "ali\u200bce", "correct horse"), 422, "USERNAME_INVALID"],
    ["a control character in the username", () => signUp(app, "ali\u0007ce", "correct horse"), 422, "USERNAME_INVALID"],
    ["a NUL in the username", () => signUp(app, "ali\u0000ce", "correct horse"), 422, "USERNAME_INVALID"],
    [
      "a right-to-left override in the username",
      () => signUp(app, "ali\u202ece", "correct horse"),
      422,
      "USERNAME_INVALID",
    ],
    ["a 10 000-character username", () => signUp(app, "a".repeat(10_000), "correct horse"), 422, "USERNAME_INVALID"],
    ["an empty username", () => signUp(app, "", "correct horse"), 422, "USERNAME_INVALID"],
    ["a number as username", () => signUp(app, 12345, "correct horse"), 422, "VALIDATION_FAILED"],
    ["an array as username", () => signUp(app, ["alice"], "correct horse"), 422, "VALIDATION_FAILED"],
    ["an object as password", () => signUp(app, "mallory", { $ne: "" }), 422, "VALIDATION_FAILED"],
    ["null as password", () => signUp(app, "mallory", null), 422, "VALIDATION_FAILED"],
    ["a 73-byte password", () => signUp(app, "mallory", "p".repeat(73)), 422, "PASSWORD_TOO_LONG"],
    [
      "a 72-byte password of multi-byte characters plus one",
      () => signUp(app, "mallory", `${"é".repeat(36)}x`),
      422,
      "PASSWORD_TOO_LONG",
    ],
    ["a JSON array body", () => json('[{"username":"mallory","password":"correct horse"}]'), 422, "VALIDATION_FAILED"],
    ["malformed JSON", () => json('{"username":"mallory","password":'), 400, "MALFORMED_BODY"],
    ["an empty JSON body", () => json(""), 400, "MALFORMED_BODY"],
    [
      "a 1 MB JSON body",
      () => json(JSON.stringify({ username: "mallory", password: "correct horse", pad: MEGABYTE })),
      413,
      "BODY_TOO_LARGE",
    ],
    [
      "a 64 KiB JSON body",
      () => json(JSON.stringify({ username: "mallory", password: "correct horse", pad: SIXTY_FOUR_KIB })),
      413,
      "BODY_TOO_LARGE",
    ],
    ["a form body", () => form("username=mallory&password=correct+horse", "/users/"), 415, "UNSUPPORTED_MEDIA_TYPE"],
    [
      "a username taken in its decomposed spelling",
      () => signUp(app, "Zoe\u0301", "correct horse"),
      409,
      "USERNAME_TAKEN",
    ],
  ];

  it.each(refusedSignUps)(
    "refuses a sign-up with %s, creates nobody and keeps serving",
    async (_name, send, status, code) => {
      if (code === "USERNAME_TAKEN") expect((await signUp(app, "Zo\u00e9", "correct horse")).statusCode).toBe(201);
      const before = store.created.length;
      const response = await send();
      expect(response.statusCode).toBe(status);
      expect(response.json().code).toBe(code);
      expect(store.created.length).toBe(before);
      expect((await logIn(app, "alice", "correct horse")).statusCode).toBe(200);
    },
  );

  it("stores an SQL-injection-shaped username as the literal text it is, and it grants nothing", async () => {
    const name = "x' OR '1'='1'; DROP TABLE users; --";
    expect((await signUp(app, name, "correct horse")).statusCode).toBe(201);
    expect((await store.findByUsername(name))?.username).toBe(name);
    expect((await logIn(app, "' OR 1=1 --", "anything")).statusCode).toBe(401);
    expect((await logIn(app, "alice' --", "anything")).statusCode).toBe(401);
  });

  const refusedLogins: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
    [
      "a duplicate username field",
      () => form("username=alice&username=bob&password=correct+horse"),
      422,
      "VALIDATION_FAILED",
    ],
    [
      "a duplicate password field",
      () => form("username=alice&password=correct+horse&password=x"),
      422,
      "VALIDATION_FAILED",
    ],
    [
      "a JSON body",
      () => json(JSON.stringify({ username: "alice", password: "correct horse" }), "/token"),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    ["a 1 MB form", () => form(`username=alice&password=correct+horse&pad=${MEGABYTE}`), 413, "BODY_TOO_LARGE"],
    ["a 64 KiB form", () => form(`username=alice&password=correct+horse&pad=${SIXTY_FOUR_KIB}`), 413, "BODY_TOO_LARGE"],
    ["no password", () => form("username=alice"), 422, "VALIDATION_FAILED"],
    [
      "a 10 000-character username",
      () => form(`username=${"a".repeat(10_000)}&password=x`),
      401,
      "INVALID_CREDENTIALS",
    ],
    [
      "the right password plus one byte past 72",
      () => form(`username=alice&password=correct+horse${"x".repeat(70)}`),
      401,
      "INVALID_CREDENTIALS",
    ],
    ["broken percent-encoding", () => form("username=%E0%A4%A&password=%"), 401, "INVALID_CREDENTIALS"],
  ];

  it.each(refusedLogins)("refuses a login with %s and keeps serving", async (_name, send, status, code) => {
    const response = await send();
    expect(response.statusCode).toBe(status);
    expect(response.json().code).toBe(code);
    expect(response.body).not.toMatch(/access_token|\$2[aby]\$/);
    expect((await logIn(app, "alice", "correct horse")).statusCode).toBe(200);
  });

  it("answers an unknown user and a wrong password alike: status, headers, body and bcrypt work", async () => {
    await logIn(app, "warm-up-unknown", "x"); // makes the dummy hash once, as the first unknown login does
    const before = { ...hasher.calls };
    const unknown = await logIn(app, "nobody-at-all", "correct horse");
    const afterUnknown = { ...hasher.calls };
    const wrong = await logIn(app, "alice", "wrong password");
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(unknown.statusCode);
    expect(unknown.body).toBe(wrong.body);
    expect(unknown.headers["www-authenticate"]).toBe(wrong.headers["www-authenticate"]);
    expect(afterUnknown.verify - before.verify).toBe(1);
    expect(hasher.calls.verify - afterUnknown.verify).toBe(1);
    expect(hasher.calls.hash).toBe(before.hash);
  });

  describe("property-based fuzzing (fast-check)", () => {
    const leaks = (body: string, marker: string) => body.includes(marker) || /\$2[aby]\$/.test(body);

    it("POST /users/ with arbitrary JSON never answers 5xx nor echoes the password or a hash", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue(),
            fc.record({
              username: fc.oneof(fc.string(), fc.jsonValue()),
              password: fc.oneof(fc.string(), fc.jsonValue()),
            }),
            fc.record({ username: fc.string({ maxLength: 40 }), password: fc.string({ maxLength: 80 }) }),
          ),
          fc.string({ minLength: 6, maxLength: 12 }),
          async (value, secretPart) => {
            const marker = `PW-${secretPart}-MARK`;
            const body =
              typeof value === "object" && value !== null && !Array.isArray(value) && typeof value.password === "string"
                ? { ...value, password: `${marker}${value.password}` }
                : value;
            const response = await json(JSON.stringify(body));
            expect(response.statusCode).toBeLessThan(500);
            expect(leaks(response.body, marker)).toBe(false);
          },
        ),
        { numRuns: 150 },
      );
    });

    it("POST /token with arbitrary form strings never answers 5xx nor echoes the password or a hash", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.string(),
          fc.string({ maxLength: 40 }),
          fc.string({ maxLength: 40 }),
          async (raw, username, password) => {
            const marker = "PWMARK-7f3a";
            const payload = `${raw}&username=${encodeURIComponent(username)}&password=${marker}${encodeURIComponent(password)}`;
            for (const candidate of [raw, payload]) {
              const response = await form(candidate);
              expect(response.statusCode).toBeLessThan(500);
              expect(leaks(response.body, marker)).toBe(false);
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  });
});
