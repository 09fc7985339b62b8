import { createSign, generateKeyPairSync, sign as signWith } from "node:crypto";
import { createMemoryUserStore } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, getMe, nowSeconds, SECRET, signRawJwt } from "../fixtures/app.js";

// Attacks on bearer tokens that route-suite.ts does not already make (alg none, another HMAC,
// forged signature, changed payload, another key, missing exp/sub, unknown user and size are
// there), each sent both to GET /users/me and to a host route behind app.authenticate.

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const claims = () => ({ sub: "alice", exp: nowSeconds() + 600 });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rsaPublicPem = rsa.publicKey.export({ type: "spki", format: "pem" }).toString();

function signRs256(payload: object): string {
  const input = `${b64({ alg: "RS256", typ: "JWT" })}.${b64(payload)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(rsa.privateKey).toString("base64url")}`;
}

function signEs256(payload: object): string {
  const input = `${b64({ alg: "ES256", typ: "JWT" })}.${b64(payload)}`;
  const signature = signWith("sha256", Buffer.from(input), { key: ec.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

const attacks: [string, (valid: string) => string][] = [
  ["HS256 signed with an empty key", () => `Bearer ${signRawJwt({ alg: "HS256", typ: "JWT" }, claims(), "")}`],
  ...["secret", "changeme", "YOUR_SECRET_KEY", "09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7"].map(
    (guess): [string, (valid: string) => string] => [
      `HS256 signed with the guessed key "${guess.slice(0, 12)}"`,
      () => `Bearer ${signRawJwt({ alg: "HS256", typ: "JWT" }, claims(), guess)}`,
    ],
  ),
  ["an RS256 token (key confusion)", () => `Bearer ${signRs256(claims())}`],
  ["an ES256 token (key confusion)", () => `Bearer ${signEs256(claims())}`],
  [
    "HS256 signed with the RSA public key PEM as secret",
    () => `Bearer ${signRawJwt({ alg: "HS256", typ: "JWT" }, claims(), rsaPublicPem)}`,
  ],
  [
    "a header changed after signing (alg none)",
    (valid) => `Bearer ${b64({ alg: "none", typ: "JWT" })}.${valid.split(".").slice(1).join(".")}`,
  ],
  [
    "a header changed after signing (kid added)",
    (valid) =>
      `Bearer ${b64({ alg: "HS256", typ: "JWT", kid: "../../dev/null" })}.${valid.split(".").slice(1).join(".")}`,
  ],
  ["a stripped signature", (valid) => `Bearer ${valid.split(".").slice(0, 2).join(".")}.`],
  ["a token without its signature part", (valid) => `Bearer ${valid.split(".").slice(0, 2).join(".")}`],
  [
    "a token not valid before an hour from now",
    () => `Bearer ${signRawJwt({ alg: "HS256", typ: "JWT" }, { ...claims(), nbf: nowSeconds() + 3600 })}`,
  ],
  ["a token with exp null", () => `Bearer ${signRawJwt({ alg: "HS256" }, { sub: "alice", exp: null })}`],
  ["a token with exp as a string", () => `Bearer ${signRawJwt({ alg: "HS256" }, { sub: "alice", exp: "9999999999" })}`],
  ["a token with sub as a number", () => `Bearer ${signRawJwt({ alg: "HS256" }, { sub: 1, exp: nowSeconds() + 600 })}`],
  ["a token with an empty sub", () => `Bearer ${signRawJwt({ alg: "HS256" }, { sub: "", exp: nowSeconds() + 600 })}`],
  [
    "a token of a deleted user",
    () => `Bearer ${signRawJwt({ alg: "HS256" }, { sub: "deleted", exp: nowSeconds() + 600 })}`,
  ],
  ["a token of 100 kB", () => `Bearer ${signRawJwt({ alg: "HS256" }, { ...claims(), pad: "x".repeat(100_000) })}`],
  ["garbage", () => "Bearer \u0000\u0001garbage"],
  ["a JSON payload instead of a token", () => `Bearer {"sub":"alice"}`],
  ["three dots", () => "Bearer ..."],
  ["a token with a trailing tab and junk", (valid) => `Bearer ${valid}\tjunk`],
  ["only whitespace after the scheme", () => "Bearer    "],
  ["the token without a scheme", (valid) => valid],
  ["the Basic scheme", () => `Basic ${Buffer.from("alice:correct horse").toString("base64")}`],
  ["the scheme glued to the token", (valid) => `Bearer${valid}`],
  ["whitespace only", () => "   "],
];

describe("attacks on bearer tokens", () => {
  let app: FastifyInstance;
  let valid: string;

  beforeAll(async () => {
    const store = createMemoryUserStore();
    ({ app } = await buildApp({
      store,
      rateLimit: false,
      // The protected route also refuses deleted users' tokens only when asked to (the default is stateless).
      requireExistingUser: true,
      after: (host) => {
        host.get("/protected", { onRequest: [host.authenticate] }, async (request) => ({ who: request.user.username }));
      },
    }));
    await store.create({
      username: "alice",
      passwordHash: "$2b$04$notARealHashButNeverUsedHere0123456789abcdefghijklmno",
    });
    await store.create({
      username: "deleted",
      passwordHash: "$2b$04$notARealHashButNeverUsedHere0123456789abcdefghijklmno",
    });
    await store.deleteByUsername("deleted");
    valid = await app.latchkey.tokens.createAccessToken({ sub: "alice" });
  });
  afterAll(async () => {
    await app?.close();
  });

  it("accepts the genuine token on both routes (the control case)", async () => {
    expect((await getMe(app, `Bearer ${valid}`)).statusCode).toBe(200);
    expect((await getMe(app, `Bearer ${valid}`, "/protected")).json()).toEqual({ who: "alice" });
    expect(signRawJwt({ alg: "HS256" }, claims(), SECRET)).toMatch(/\.[\w-]+$/);
  });

  for (const url of ["/users/me", "/protected"]) {
    it.each(attacks)(`${url} answers 401 with a Bearer challenge to %s`, async (_name, make) => {
      const response = await getMe(app, make(valid), url);
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toMatch(/^Bearer( |$)/);
      expect(["TOKEN_INVALID", "TOKEN_EXPIRED", "NOT_AUTHENTICATED"]).toContain(response.json().code);
      expect(response.body).not.toContain("alice");
    });
  }
});
