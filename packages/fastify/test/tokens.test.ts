import { createAccessToken, createMemoryUserStore, type TokenOptions, verifyAccessToken } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { LatchkeyOptions } from "../src/index.js";
import { buildApp, expectStatus, getMe, nowSeconds, SECRET, signRawJwt, signUp, tokenFor } from "./fixtures/app.js";

const STRICT_SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef"; // 48 bytes, for HS384
const STRICT: Partial<LatchkeyOptions> & TokenOptions = {
  secret: STRICT_SECRET,
  algorithm: "HS384",
  expiresInSeconds: 600,
  issuer: "https://auth.example.com",
  audience: "example-api",
};

let app: FastifyInstance;
afterEach(() => app?.close());

/** An app with the plugin and a host route that verifies with @fastify/jwt's `request.jwtVerify()`. */
async function appWithJwtVerifyRoute(options: Partial<LatchkeyOptions> = {}) {
  ({ app } = await buildApp({
    store: createMemoryUserStore(),
    ...options,
    // Catches @fastify/jwt's error itself: @fastify/jwt answers some refusals (another
    // algorithm) with a 500 of its own; what is tested here is that it refuses.
    after: (host) => {
      host.get("/jwt-verify", async (request, reply) => {
        try {
          await request.jwtVerify();
        } catch (error) {
          return reply.code(401).send({ refused: (error as { code?: string }).code });
        }
        return { username: request.user.username, sub: request.user.claims.sub };
      });
    },
  }));
  return app;
}

describe.each([
  ["the defaults (HS256, 30 minutes)", { secret: SECRET }],
  ["HS384 with issuer, audience and 10 minutes", STRICT],
])("tokens with %s", (_case, tokenOptions) => {
  it("a token from core's createAccessToken passes request.jwtVerify() and app.authenticate", async () => {
    await appWithJwtVerifyRoute(tokenOptions);
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    const token = await createAccessToken({ sub: "JohnDoe" }, { ...tokenOptions });
    const viaJwt = await app.inject({
      method: "GET",
      url: "/jwt-verify",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(viaJwt.statusCode).toBe(200);
    expect(viaJwt.json()).toEqual({ username: "JohnDoe", sub: "JohnDoe" });
    expectStatus(await getMe(app, `Bearer ${token}`), 200);
  });

  it("a token from app.jwt.sign passes core's verifyAccessToken with the configured lifetime", async () => {
    await appWithJwtVerifyRoute(tokenOptions);
    const token = app.jwt.sign({ sub: "JohnDoe" });
    const claims = await verifyAccessToken(token, { ...tokenOptions });
    expect(claims.sub).toBe("JohnDoe");
    expect(claims.exp - (claims.iat ?? 0)).toBe(tokenOptions.expiresInSeconds ?? 1800);
    expect(claims.iss).toBe(tokenOptions.issuer);
    expect(claims.aud).toBe(tokenOptions.audience);
  });

  it("a token from POST /token passes app.jwt.verify and core's verifyAccessToken", async () => {
    await appWithJwtVerifyRoute(tokenOptions);
    const token = await tokenFor(app, "JohnDoe", "johnspassword");
    expect(app.jwt.verify<{ sub: string }>(token).sub).toBe("JohnDoe");
    const claims = await verifyAccessToken(token, { ...tokenOptions });
    expect(claims.exp - (claims.iat ?? 0)).toBe(tokenOptions.expiresInSeconds ?? 1800);
  });
});

describe("request.jwtVerify() keeps core's rules", () => {
  it.each([
    [
      "another algorithm with the same key",
      "FAST_JWT_INVALID_ALGORITHM",
      () => signRawJwt({ alg: "HS512" }, { sub: "JohnDoe", exp: nowSeconds() + 60 }),
    ],
    [
      "a token without exp",
      "FST_JWT_AUTHORIZATION_TOKEN_INVALID",
      () => signRawJwt({ alg: "HS256" }, { sub: "JohnDoe" }),
    ],
    [
      "a token without sub",
      "FST_JWT_AUTHORIZATION_TOKEN_INVALID",
      () => signRawJwt({ alg: "HS256" }, { exp: nowSeconds() + 60 }),
    ],
    [
      "an expired token",
      "FST_JWT_AUTHORIZATION_TOKEN_EXPIRED",
      () => signRawJwt({ alg: "HS256" }, { sub: "JohnDoe", exp: nowSeconds() - 60 }),
    ],
  ])("refuses %s (%s)", async (_case, code, makeToken) => {
    await appWithJwtVerifyRoute();
    const response = await app.inject({
      method: "GET",
      url: "/jwt-verify",
      headers: { authorization: `Bearer ${makeToken()}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ refused: code });
  });

  it("refuses a token of another issuer or audience, on both paths", async () => {
    await appWithJwtVerifyRoute(STRICT);
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    for (const other of [{ issuer: "https://evil.example.com" }, { audience: "another-api" }]) {
      const token = await createAccessToken({ sub: "JohnDoe" }, { ...STRICT, ...other });
      const viaJwt = await app.inject({
        method: "GET",
        url: "/jwt-verify",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(viaJwt.statusCode).toBe(401);
      expect((await getMe(app, `Bearer ${token}`)).statusCode).toBe(401);
    }
  });
});

describe("token options reach both verifiers", () => {
  const verifyBoth = async (token: string) => [
    (await getMe(app, `Bearer ${token}`)).statusCode,
    (await app.inject({ method: "GET", url: "/jwt-verify", headers: { authorization: `Bearer ${token}` } })).statusCode,
  ];

  it("clockToleranceSeconds accepts a token expired within the tolerance, and not beyond", async () => {
    await appWithJwtVerifyRoute({ clockToleranceSeconds: 120 });
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    const expiredAMinuteAgo = signRawJwt({ alg: "HS256" }, { sub: "JohnDoe", exp: nowSeconds() - 60 });
    const expiredAnHourAgo = signRawJwt({ alg: "HS256" }, { sub: "JohnDoe", exp: nowSeconds() - 3600 });
    expect(await verifyBoth(expiredAMinuteAgo)).toEqual([200, 200]);
    expect(await verifyBoth(expiredAnHourAgo)).toEqual([401, 401]);
  });

  it("maxTokenBytes refuses a larger token on app.authenticate", async () => {
    await appWithJwtVerifyRoute({ maxTokenBytes: 512 });
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    const claims = { sub: "JohnDoe", exp: nowSeconds() + 60 };
    expect(
      (await getMe(app, `Bearer ${signRawJwt({ alg: "HS256" }, { ...claims, pad: "x".repeat(100) })}`)).statusCode,
    ).toBe(200);
    const large = await getMe(app, `Bearer ${signRawJwt({ alg: "HS256" }, { ...claims, pad: "x".repeat(600) })}`);
    expect(large.statusCode).toBe(401);
    expect(large.json().code).toBe("TOKEN_INVALID");
  });
});

describe("app.latchkey", () => {
  it("exposes the plugin's token service and store", async () => {
    const store = createMemoryUserStore();
    ({ app } = await buildApp({ store, expiresInSeconds: 120 }));
    expect(app.latchkey.store).toBe(store);
    expect(app.latchkey.tokens.options.expiresInSeconds).toBe(120);
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    const token = await app.latchkey.tokens.createAccessToken({ sub: "JohnDoe" });
    expectStatus(await getMe(app, `Bearer ${token}`), 200);
  });
});
