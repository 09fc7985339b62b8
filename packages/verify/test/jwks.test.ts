import { randomUUID } from "node:crypto";
import type { FetchImplementation } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createLatchkeyVerifier, KeysUnavailableError, type LatchkeyVerifierOptions } from "../src/index.js";
import { deadAddress, type JwksServer, type Misbehaviour, startJwksServer } from "./helpers/jwks-server.js";
import { createTestKey, type TestKey } from "./helpers/keys.js";
import { latchkeyClaims, sign } from "./helpers/tokens.js";

const COOLDOWN = 30_000;
const MAX_AGE = 300_000;

let ec: TestKey;
let ed: TestKey;
let server: JwksServer;

beforeAll(async () => {
  [ec, ed] = await Promise.all([createTestKey("ES256"), createTestKey("EdDSA")]);
  server = await startJwksServer([]);
});

afterAll(() => server.close());

// Only Date is faked: jose's cache and cooldown read Date.now(), so time moves only when a test says
// so, while sockets and timeouts keep real time.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  server.keys = [ec.jwk];
  server.misbehave = undefined;
});

afterEach(() => {
  vi.useRealTimers();
});

const verifier = (options: Partial<LatchkeyVerifierOptions> = {}) =>
  createLatchkeyVerifier({ issuer: server.issuer, cooldownDuration: COOLDOWN, cacheMaxAge: MAX_AGE, ...options });
const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
// Valid for an hour: these tests move the clock by up to cacheMaxAge (5 minutes).
const token = (key: TestKey, header = {}) =>
  sign(key, latchkeyClaims(server.issuer, { exp: Math.floor(Date.now() / 1000) + 3600 }), header);

/** `count` tokens, genuinely signed (by a key the issuer does not have), each with its own random kid. */
const unknownKidTokens = (count: number) =>
  Promise.all(Array.from({ length: count }, () => sign(ed, latchkeyClaims(server.issuer), { kid: randomUUID() })));

async function expectUnknownKey(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code: "TOKEN_INVALID", problem: "unknown_key" });
}

describe("unknown kids cost at most one JWKS fetch per cooldown", () => {
  let flood: string[];
  beforeAll(async () => {
    flood = await unknownKidTokens(10_000);
  }, 120_000);

  it("10 000 tokens with random unknown kids, one by one and all at once, across three cooldowns", async () => {
    const v = verifier();
    await v.verify(await token(ec));
    const start = server.requests;
    expect(start).toBe(1);

    // Inside the cooldown of that first fetch: not one more request.
    for (const t of flood) await expectUnknownKey(v.verify(t));
    expect(server.requests).toBe(start);

    // Cooldown over: the first unknown kid refetches once; the other 9 999, in flight together, share it.
    advance(COOLDOWN + 1);
    const all = await Promise.allSettled(flood.map((t) => v.verify(t)));
    expect(all.every((r) => r.status === "rejected" && r.reason.problem === "unknown_key")).toBe(true);
    expect(server.requests).toBe(start + 1);

    advance(COOLDOWN + 1);
    for (const t of flood) await expectUnknownKey(v.verify(t));
    expect(server.requests).toBe(start + 2);
  }, 120_000);

  it("a cold verifier hit by 10 000 unknown kids at once fetches once", async () => {
    const v = verifier();
    const before = server.requests;
    const all = await Promise.allSettled(flood.map((t) => v.verify(t)));
    expect(all.every((r) => r.status === "rejected")).toBe(true);
    expect(server.requests - before).toBe(1);
  }, 120_000);
});

describe("caching", () => {
  it("known kids are served from the cache until cacheMaxAge", async () => {
    const v = verifier();
    const t = await token(ec);
    const before = server.requests;
    for (let i = 0; i < 100; i += 1) await v.verify(t);
    advance(MAX_AGE - 1);
    await v.verify(t);
    expect(server.requests).toBe(before + 1);
    advance(1);
    await v.verify(t);
    expect(server.requests).toBe(before + 2);
  });
});

describe("key rotation and removal", () => {
  it("a key added to the JWKS is picked up by the first token with its kid once the cooldown is over", async () => {
    const v = verifier();
    await v.verify(await token(ec));
    const before = server.requests;
    server.keys = [ec.jwk, ed.jwk];
    const next = await token(ed);

    // Inside the cooldown the new kid is refused without a request: that is what bounds the flood.
    await expectUnknownKey(v.verify(next));
    expect(server.requests).toBe(before);

    advance(COOLDOWN + 1);
    await expect(v.verify(next)).resolves.toMatchObject({ username: "JohnDoe" });
    expect(server.requests).toBe(before + 1);
    await v.verify(await token(ec));
    expect(server.requests).toBe(before + 1);
  });

  it("with cooldownDuration 0 a new key is picked up by its very first token", async () => {
    const v = verifier({ cooldownDuration: 0 });
    await v.verify(await token(ec));
    const before = server.requests;
    server.keys = [ec.jwk, ed.jwk];
    await expect(v.verify(await token(ed))).resolves.toBeDefined();
    expect(server.requests).toBe(before + 1);
  });

  it("a key removed from the JWKS keeps verifying for at most cacheMaxAge after the last fetch", async () => {
    const v = verifier();
    const old = await token(ec);
    await v.verify(old);
    server.keys = [ed.jwk];

    advance(MAX_AGE - 1);
    await expect(v.verify(old)).resolves.toBeDefined();
    advance(1);
    await expectUnknownKey(v.verify(old));
  });
});

describe("the JWKS unavailable: KEYS_UNAVAILABLE, never TOKEN_INVALID", () => {
  async function expectUnavailable(promise: Promise<unknown>, message?: RegExp): Promise<void> {
    const error = await promise.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(KeysUnavailableError);
    expect(error).toMatchObject({ code: "KEYS_UNAVAILABLE" });
    if (message) expect((error as Error).message).toMatch(message);
    expect((error as Error).cause).toBeDefined();
  }

  it("the issuer is down (connection refused)", async () => {
    const v = createLatchkeyVerifier({
      issuer: server.issuer,
      jwksUri: `${await deadAddress()}/.well-known/jwks.json`,
    });
    await expectUnavailable(v.verify(await token(ec)));
  });

  it.each([
    ["a 500", (r) => r.writeHead(500).end("oops")],
    ["a 404", (r) => r.writeHead(404).end()],
    ["a redirect (jose never follows one)", (r) => r.writeHead(302, { location: "/elsewhere" }).end()],
    ["a body that is not JSON", (r) => r.writeHead(200, { "content-type": "application/json" }).end("{not json")],
    ["JSON that is not a key set", (r) => r.writeHead(200).end('{"keys":"nope"}')],
    ["a set whose key is broken", (r) => r.writeHead(200).end(JSON.stringify({ keys: [{ ...ec.jwk, x: "AA" }] }))],
  ] satisfies [string, Misbehaviour][])("the issuer answers %s", async (_, misbehave) => {
    server.misbehave = misbehave;
    await expectUnavailable(verifier().verify(await token(ec)));
  });

  it("the issuer does not answer within timeoutDuration", async () => {
    server.misbehave = () => {}; // accept the request, never answer
    await expectUnavailable(verifier({ timeoutDuration: 200 }).verify(await token(ec)), /did not answer in time/);
  });

  it("cached keys keep working through an outage until cacheMaxAge; then KEYS_UNAVAILABLE, not stale keys", async () => {
    const v = verifier();
    const t = await token(ec);
    await v.verify(t);
    server.misbehave = (r) => r.writeHead(503).end();
    advance(MAX_AGE - 1);
    await expect(v.verify(t)).resolves.toBeDefined();
    advance(1);
    await expectUnavailable(v.verify(t));
  });

  it("during an outage, a known kid still verifies from the cache; an unknown one past the cooldown is KEYS_UNAVAILABLE", async () => {
    const v = verifier();
    const known = await token(ec);
    await v.verify(known);
    server.misbehave = (r) => r.writeHead(500).end();
    advance(COOLDOWN + 1);
    // The set could not be checked for the new kid, so this is not the token's fault (yet).
    await expectUnavailable(v.verify(await token(ed)));
    await expect(v.verify(known)).resolves.toBeDefined();
  });

  it("recovers without a restart once the issuer answers again", async () => {
    const v = verifier();
    const t = await token(ec);
    server.misbehave = (r) => r.writeHead(500).end();
    await expectUnavailable(v.verify(t));
    server.misbehave = undefined;
    await expect(v.verify(t)).resolves.toBeDefined();
  });

  it("a malformed token is still TOKEN_INVALID while the JWKS is down: it is refused before any fetch", async () => {
    server.misbehave = (r) => r.writeHead(500).end();
    const before = server.requests;
    await expect(verifier().verify("not.a.jwt")).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    expect(server.requests).toBe(before);
  });
});

describe("fetch and headers", () => {
  it("sends the configured headers through the configured fetch", async () => {
    const calls: string[] = [];
    const counting: FetchImplementation = (url, options) => {
      calls.push(url);
      return fetch(url, options);
    };
    const v = verifier({ fetch: counting, headers: { "x-api-key": "k-123" } });
    await v.verify(await token(ec));
    expect(calls).toEqual([`${server.issuer}/.well-known/jwks.json`]);
    expect(server.lastHeaders?.["x-api-key"]).toBe("k-123");
  });
});
