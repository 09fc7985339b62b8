import Fastify, { type FastifyInstance } from "fastify";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latchkeyVerify } from "../src/fastify/index.js";
import { deadAddress, type JwksServer, startJwksServer } from "./helpers/jwks-server.js";
import { createTestKey, type TestKey } from "./helpers/keys.js";
import { craft, latchkeyClaims, sign } from "./helpers/tokens.js";

let ec: TestKey;
let server: JwksServer;
let app: FastifyInstance;

async function buildApp(options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const instance = Fastify();
  await instance.register(latchkeyVerify, { issuer: server.issuer, ...options });
  instance.get("/me", { onRequest: [instance.authenticate] }, async (request) => request.user);
  instance.get("/pre", { preHandler: instance.authenticate }, async (request) => ({ name: request.user.username }));
  instance.get("/public", async () => ({ ok: true }));
  return instance;
}

beforeAll(async () => {
  ec = await createTestKey("ES256");
  server = await startJwksServer([ec.jwk]);
  app = await buildApp();
});

afterAll(async () => {
  await app.close();
  await server.close();
});

const get = (authorization?: string, url = "/me") =>
  app.inject({ method: "GET", url, headers: authorization === undefined ? {} : { authorization } });

describe("accepted", () => {
  it("200 with request.user = { username, claims }, as an onRequest and as a preHandler hook", async () => {
    const claims = latchkeyClaims(server.issuer);
    const token = await sign(ec, claims);
    const me = await get(`Bearer ${token}`);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ username: "JohnDoe", claims });
    const pre = await get(`Bearer ${token}`, "/pre");
    expect([pre.statusCode, pre.json()]).toEqual([200, { name: "JohnDoe" }]);
  });

  it.each(["bearer", "BEARER", "BeArEr"])(
    "the scheme is case-insensitive (%s), and 1*SP may be several spaces",
    async (scheme) => {
      const token = await sign(ec, latchkeyClaims(server.issuer));
      expect((await get(`${scheme} ${token}`)).statusCode).toBe(200);
      expect((await get(`${scheme}   ${token}`)).statusCode).toBe(200);
    },
  );

  it("routes without the hook are untouched", async () => {
    expect((await get(undefined, "/public")).statusCode).toBe(200);
  });
});

describe("refused with 401", () => {
  it("no Authorization header: NOT_AUTHENTICATED and a plain Bearer challenge", async () => {
    const response = await get();
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe("Bearer");
    expect(response.json()).toEqual({ detail: "Not authenticated", code: "NOT_AUTHENTICATED" });
  });

  it.each(["Basic dXNlcjpwYXNz", "Digest username=x", "Token abc"])(
    "another scheme (%s): also a plain challenge (RFC 6750 section 3.1)",
    async (authorization) => {
      const response = await get(authorization);
      expect(response.statusCode).toBe(401);
      expect(response.headers["www-authenticate"]).toBe("Bearer");
      expect(response.json().code).toBe("NOT_AUTHENTICATED");
    },
  );

  it("an invalid token: TOKEN_INVALID with error=invalid_token", async () => {
    const token = await sign(ec, latchkeyClaims("http://someone-else.example"));
    const response = await get(`Bearer ${token}`);
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expect(response.json()).toEqual({ detail: "Could not validate credentials", code: "TOKEN_INVALID" });
  });

  it("an expired token: TOKEN_EXPIRED with error=invalid_token", async () => {
    const token = await sign(ec, latchkeyClaims(server.issuer, { exp: Math.floor(Date.now() / 1000) - 10 }));
    const response = await get(`Bearer ${token}`);
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expect(response.json()).toEqual({
      detail: "Could not validate credentials: the token has expired",
      code: "TOKEN_EXPIRED",
    });
  });

  it("HS256 signed with the public key, and alg none: TOKEN_INVALID", async () => {
    const none = craft({ alg: "none", typ: "at+jwt", kid: ec.kid }, latchkeyClaims(server.issuer));
    const pem = new TextEncoder().encode(ec.publicKey.export({ format: "pem", type: "spki" }) as string);
    const hs256 = await new SignJWT(latchkeyClaims(server.issuer))
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: ec.kid })
      .sign(pem);
    for (const token of [none, hs256]) {
      const response = await get(`Bearer ${token}`);
      expect([response.statusCode, response.json().code]).toEqual([401, "TOKEN_INVALID"]);
    }
  });

  it.each([
    "Bearer",
    "Bearer ",
    "Bearer a b",
    "Bearer a.b.c",
    "Bearer ....",
    "Bearer ===",
    "Bearer \u00e9t\u00e9",
    "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln,Bearer x",
    "Bearer eyJ\teyJ",
    `Bearer ${"A".repeat(9000)}`,
    `Bearer ${"eyJ".repeat(3000)}.${"x".repeat(100)}.`,
    "Bearer null",
    "Bearer %00",
  ])("garbage (%j): 401 TOKEN_INVALID, never a 500 or a stack trace", async (authorization) => {
    const response = await get(authorization);
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expect(response.json()).toEqual({ detail: "Could not validate credentials", code: "TOKEN_INVALID" });
  });

  it("garbage in any shape never makes a 500", async () => {
    const shapes = ["", " ", "Bearer\u0000", "\u00ff\u00fe", "Bearer \u2028", ",", "Bearer=abc", "Bearer:abc"];
    for (const authorization of shapes) {
      const response = await get(authorization).catch(() => undefined);
      if (response === undefined) continue; // light-my-request refused to send it: no server involved
      expect(response.statusCode).toBe(401);
      expect(response.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
    }
  });
});

describe("the JWKS unavailable", () => {
  it("503 KEYS_UNAVAILABLE with Retry-After, not 401", async () => {
    const down = await buildApp({ jwksUri: `${await deadAddress()}/.well-known/jwks.json`, retryAfterSeconds: 7 });
    const response = await down.inject({
      method: "GET",
      url: "/me",
      headers: { authorization: `Bearer ${await sign(ec, latchkeyClaims(server.issuer))}` },
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("7");
    expect(response.headers["www-authenticate"]).toBeUndefined();
    expect(response.json()).toEqual({
      detail: "The service is temporarily unavailable, please retry later",
      code: "KEYS_UNAVAILABLE",
    });
    await down.close();
  });
});

describe("registration", () => {
  it("refuses bad options when the plugin registers", async () => {
    await expect(buildApp({ algorithms: ["HS256"] })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    await expect(buildApp({ retryAfterSeconds: -1 })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    await expect(buildApp({ secret: "x" })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
  });

  it("works under a prefix (Fastify's own register options are not ours)", async () => {
    const instance = Fastify();
    await instance.register(
      async (scope) => {
        await scope.register(latchkeyVerify, { issuer: server.issuer, prefix: "/v1", logLevel: "warn" });
        scope.get("/me", { onRequest: [scope.authenticate] }, async (request) => ({ name: request.user.username }));
      },
      { prefix: "/v1" },
    );
    const token = await sign(ec, latchkeyClaims(server.issuer));
    const response = await instance.inject({
      method: "GET",
      url: "/v1/me",
      headers: { authorization: `Bearer ${token}` },
    });
    expect([response.statusCode, response.json()]).toEqual([200, { name: "JohnDoe" }]);
    await instance.close();
  });
});
