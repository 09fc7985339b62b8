import {
  createKeyEncryption,
  createMemoryKeyStore,
  createMemorySessionStore,
  createMemoryUserStore,
} from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, expectStatus, getMe, tokenFor } from "./fixtures/app.js";

let app: FastifyInstance;
afterEach(() => app?.close());

const encryption = createKeyEncryption(Buffer.alloc(32, 1));
const headerOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString());

async function appWithKeys(algorithm: "RS256" | "ES256" | "EdDSA" = "RS256") {
  const store = createMemoryUserStore();
  ({ app } = await buildApp({
    store,
    sessionStore: createMemorySessionStore({ users: store }),
    issuer: "http://auth.test",
    keys: { store: createMemoryKeyStore(), encryption, algorithm },
  }));
  return app;
}

describe("the plugin with a keyring", () => {
  it.each(["RS256", "ES256", "EdDSA"] as const)(
    "signs %s tokens with kid and typ at+jwt that open routes",
    async (alg) => {
      await appWithKeys(alg);
      const token = await tokenFor(app, "alice", "alices-password");
      const [key] = (await app.latchkey.keyring?.list()) ?? [];
      expect(headerOf(token)).toEqual({ alg, typ: "at+jwt", kid: key?.kid });
      expectStatus(await getMe(app, `Bearer ${token}`), 200);
    },
  );

  it("publishes the keys with caching headers, an ETag and 304 on a match", async () => {
    await appWithKeys("ES256");
    const response = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expectStatus(response, 200);
    expect(response.headers["cache-control"]).toBe("public, max-age=300");
    const { keys } = response.json() as { keys: Array<Record<string, unknown>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(keys[0]).not.toHaveProperty("d");
    const etag = response.headers.etag as string;
    const again = await app.inject({
      method: "GET",
      url: "/.well-known/jwks.json",
      headers: { "if-none-match": etag },
    });
    expect(again.statusCode).toBe(304);
  });

  it("describes itself per RFC 8414", async () => {
    await appWithKeys();
    const response = await app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server" });
    expectStatus(response, 200);
    expect(response.json()).toEqual({
      issuer: "http://auth.test",
      token_endpoint: "http://auth.test/token",
      jwks_uri: "http://auth.test/.well-known/jwks.json",
      revocation_endpoint: "http://auth.test/revoke",
      revocation_endpoint_auth_methods_supported: ["none"],
      grant_types_supported: ["password", "refresh_token"],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ["none"],
    });
  });

  it("refuses a revoked key's tokens at once, and the replacement's tokens work", async () => {
    await appWithKeys();
    const token = await tokenFor(app, "bob", "bobs-password1");
    expectStatus(await getMe(app, `Bearer ${token}`), 200);
    const { replacement } = (await app.latchkey.keyring?.revoke(headerOf(token).kid)) ?? {};
    const refused = await getMe(app, `Bearer ${token}`);
    expectStatus(refused, 401);
    expect(refused.headers["www-authenticate"]).toContain('error="invalid_token"');
    const login = await app.inject({
      method: "POST",
      url: "/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "username=bob&password=bobs-password1",
    });
    const fresh = (login.json() as { access_token: string }).access_token;
    expect(headerOf(fresh).kid).toBe(replacement?.kid);
    expectStatus(await getMe(app, `Bearer ${fresh}`), 200);
  });

  it("never publishes the HMAC key of a keyring that started on SECRET_KEY", async () => {
    const store = createMemoryUserStore();
    ({ app } = await buildApp({
      store,
      keys: { store: createMemoryKeyStore(), encryption, initialAlgorithm: "HS256" },
    }));
    const token = await tokenFor(app, "carol", "carols-password");
    expect(headerOf(token)).toEqual({ alg: "HS256", typ: "JWT" });
    const response = await app.inject({ method: "GET", url: "/.well-known/jwks.json" });
    expect(response.json()).toEqual({ keys: [] });
  });
});
