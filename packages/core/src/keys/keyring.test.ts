import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createTokenService } from "../tokens/tokens.js";
import { createKeyEncryption } from "./key-encryption.js";
import { createKeyring, type Keyring, type KeyringOptions } from "./keyring.js";
import { createMemoryKeyStore } from "./memory-store.js";
import type { KeyStore } from "./store.js";
import { jwkThumbprint } from "./thumbprint.js";

const secret = "s".repeat(32);
const encryption = createKeyEncryption(Buffer.alloc(32, 7));
const LIFETIME = 1800;
const LEAD_MS = (300 + 60) * 1000;
const RETAIN_MS = (LIFETIME + 60) * 1000;

let clock = Date.parse("2026-06-01T00:00:00Z");
const rings: Keyring[] = [];

async function ring(overrides: Partial<KeyringOptions> & { store?: KeyStore } = {}) {
  const keyring = createKeyring({
    store: overrides.store ?? createMemoryKeyStore(),
    encryption,
    secret,
    tokenLifetimeSeconds: LIFETIME,
    now: () => clock,
    ...overrides,
  });
  await keyring.start();
  rings.push(keyring);
  const tokens = createTokenService({ secret, keys: keyring, verifiedTokenCacheSize: 100 });
  return { keyring, tokens };
}

const headerOf = (token: string) => JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString());
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

afterEach(async () => {
  for (const keyring of rings.splice(0)) await keyring.close();
  clock = Date.parse("2026-06-01T00:00:00Z");
});

describe("jwkThumbprint", () => {
  it("matches RFC 7638 section 3.1's example", () => {
    const n =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    expect(jwkThumbprint({ kty: "RSA", n, e: "AQAB", alg: "RS256", kid: "2011-04-29" })).toBe(
      "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    );
  });
});

describe("a keyring", () => {
  it.each(["RS256", "ES256", "EdDSA"] as const)(
    "starts an empty store with one active %s key, kid in every token",
    async (alg) => {
      const { keyring, tokens } = await ring({ algorithm: alg });
      const [key] = await keyring.list();
      expect(key).toMatchObject({ alg, state: "active" });
      const token = await tokens.createAccessToken({ sub: "alice" });
      expect(headerOf(token)).toEqual({ alg, typ: "at+jwt", kid: key?.kid });
      await expect(tokens.verifyAccessToken(token)).resolves.toMatchObject({ sub: "alice" });
      expect(keyring.jwks().keys).toEqual([expect.objectContaining({ kid: key?.kid, alg, use: "sig" })]);
    },
  );

  it("keeps private keys sealed in the store and never in the JWKS", async () => {
    const store = createMemoryKeyStore();
    const { keyring } = await ring({ store, algorithm: "ES256" });
    const [stored] = store.keys;
    expect(stored?.sealedPrivateKey).toMatch(/^v1\./);
    expect(JSON.stringify(store.keys)).not.toContain("PRIVATE KEY");
    expect(JSON.stringify(keyring.jwks())).not.toMatch(/"d"|"p"|"q"|"dp"|"dq"|"qi"/);
  });

  it("refuses to start when the key-encryption key does not open the active key", async () => {
    const store = createMemoryKeyStore();
    await ring({ store });
    const other = createKeyring({
      store,
      encryption: createKeyEncryption(Buffer.alloc(32, 9)),
      secret,
      tokenLifetimeSeconds: LIFETIME,
    });
    await expect(other.start()).rejects.toThrow(/cannot sign here/);
  });

  it("publishes a rotated key first, signs with it after the lead, and keeps the old one verifying until its tokens expire", async () => {
    const { keyring, tokens } = await ring({ algorithm: "ES256" });
    const [first] = await keyring.list();
    const before = await tokens.createAccessToken({ sub: "alice" });
    const next = await keyring.rotate({ algorithm: "EdDSA" });
    expect(next.state).toBe("next");
    expect(keyring.jwks().keys.map((k) => k.kid)).toEqual([first?.kid, next.kid]);
    // Still signing with the first key until the lead has passed.
    expect(headerOf(await tokens.createAccessToken({ sub: "a" })).kid).toBe(first?.kid);
    clock += LEAD_MS;
    const after = await tokens.createAccessToken({ sub: "bob" });
    expect(headerOf(after)).toMatchObject({ alg: "EdDSA", kid: next.kid });
    expect((await keyring.list()).map((k) => k.state)).toEqual(["retiring", "active"]);
    // The old key's tokens verify while they can still be unexpired...
    clock += RETAIN_MS - 1000;
    await expect(tokens.verifyAccessToken(before, { now: new Date(Date.now()) })).resolves.toBeDefined();
    // ...and the old key is gone once they cannot.
    clock += 2000;
    expect((await keyring.list()).map((k) => k.state)).toEqual(["retired", "active"]);
    expect(keyring.jwks().keys.map((k) => k.kid)).toEqual([next.kid]);
    const forged = await tokens.createAccessToken({ sub: "bob" });
    await expect(tokens.verifyAccessToken(forged)).resolves.toBeDefined();
  });

  it("refuses a revoked key's tokens at once (cached ones too) and signs with a replacement", async () => {
    const { keyring, tokens } = await ring();
    const [first] = await keyring.list();
    const token = await tokens.createAccessToken({ sub: "alice" });
    await tokens.verifyAccessToken(token); // now in the verified-token cache
    const { revoked, replacement } = await keyring.revoke(first?.kid as string);
    expect(revoked.state).toBe("revoked");
    expect(replacement?.state).toBe("active");
    await expect(tokens.verifyAccessToken(token)).rejects.toMatchObject({
      code: "TOKEN_INVALID",
      problem: "signature",
    });
    expect(keyring.jwks().keys.map((k) => k.kid)).toEqual([replacement?.kid]);
    const fresh = await tokens.createAccessToken({ sub: "alice" });
    expect(headerOf(fresh).kid).toBe(replacement?.kid);
  });

  it("sees another instance's rotation and revocation when the store announces them", async () => {
    const store = createMemoryKeyStore();
    const a = await ring({ store });
    const b = await ring({ store });
    const rotated = await a.keyring.rotate();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(b.keyring.jwks().keys.map((k) => k.kid)).toContain(rotated.kid);
    const token = await a.tokens.createAccessToken({ sub: "x" });
    await expect(b.tokens.verifyAccessToken(token)).resolves.toBeDefined();
    await a.keyring.revoke(headerOf(token).kid);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(b.tokens.verifyAccessToken(token)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("two instances rotating at the same moment both end with keys of distinct generations", async () => {
    const store = createMemoryKeyStore();
    const a = await ring({ store });
    const b = await ring({ store });
    await Promise.all([a.keyring.rotate(), b.keyring.rotate()]);
    const generations = (await store.listKeys()).map((k) => k.generation);
    expect(new Set(generations).size).toBe(generations.length);
  });

  it("starts a taken-over install on the HMAC SECRET_KEY, kid-less as the original, never published", async () => {
    const { keyring, tokens } = await ring({ initialAlgorithm: "HS256" });
    const token = await tokens.createAccessToken({ sub: "JohnDoe" });
    expect(headerOf(token)).toEqual({ alg: "HS256", typ: "JWT" });
    expect(keyring.jwks().keys).toEqual([]);
    // The original's own token (python-jose: same secret, no kid) verifies.
    const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "JohnDoe", exp: Math.floor(Date.now() / 1000) + 60 })}`;
    const original = `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
    await expect(tokens.verifyAccessToken(original)).resolves.toMatchObject({ sub: "JohnDoe" });
    // After a rotation the HMAC key retires: its tokens verify until they expire, then never.
    await keyring.rotate();
    clock += LEAD_MS;
    expect(headerOf(await tokens.createAccessToken({ sub: "x" })).alg).toBe("RS256");
    await expect(tokens.verifyAccessToken(original, { now: new Date() })).resolves.toBeDefined();
    clock += RETAIN_MS;
    await keyring.reload();
    await expect(tokens.verifyAccessToken(original, { now: new Date() })).rejects.toMatchObject({
      code: "TOKEN_INVALID",
    });
  });

  it("rotates on schedule when asked to, once per period across instances", async () => {
    const store = createMemoryKeyStore();
    const a = await ring({ store, rotateEverySeconds: 3600, reloadIntervalSeconds: 0.01 });
    await ring({ store, rotateEverySeconds: 3600, reloadIntervalSeconds: 0.01 });
    clock += 3600 * 1000;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const states = (await a.keyring.list()).map((k) => k.state);
    expect(states).toEqual(["active", "next"]);
  });
});

describe("forged tokens against a keyring", () => {
  it("refuses alg switching, HMAC with a public key, embedded keys and unknown kids", async () => {
    const { keyring, tokens } = await ring({ algorithm: "RS256" });
    const rsaKid = (await keyring.list())[0]?.kid as string;
    await keyring.rotate({ algorithm: "ES256" });
    const ecKid = keyring.jwks().keys[1]?.kid as string;
    const exp = Math.floor(Date.now() / 1000) + 600;
    const payload = b64({ sub: "admin", exp });
    const attacker = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const es256 = (header: object) => {
      const input = `${b64(header)}.${payload}`;
      return `${input}.${sign("sha256", Buffer.from(input), { key: attacker.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    };
    const hmacWith = (key: string | Buffer, header: object) => {
      const input = `${b64(header)}.${payload}`;
      return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
    };
    const publicJwkText = JSON.stringify(keyring.jwks().keys[0]);
    const cases: Array<[string, string]> = [
      ["ES256 header on the RSA key's kid", es256({ alg: "ES256", typ: "at+jwt", kid: rsaKid })],
      ["RS256 header on the EC key's kid", es256({ alg: "RS256", typ: "at+jwt", kid: ecKid })],
      [
        "HS256 signed with the published RSA JWK",
        hmacWith(publicJwkText, { alg: "HS256", typ: "at+jwt", kid: rsaKid }),
      ],
      ["HS256 kid-less signed with the published JWK", hmacWith(publicJwkText, { alg: "HS256", typ: "JWT" })],
      ["an embedded jwk", es256({ alg: "ES256", kid: ecKid, jwk: attacker.publicKey.export({ format: "jwk" }) })],
      ["a jku", es256({ alg: "ES256", kid: ecKid, jku: "http://127.0.0.1:9/jwks.json" })],
      ["an x5u", es256({ alg: "ES256", kid: ecKid, x5u: "http://127.0.0.1:9/cert.pem" })],
      ["an unknown kid", es256({ alg: "ES256", typ: "at+jwt", kid: "not-a-key-of-ours" })],
      ["alg none", `${b64({ alg: "none", kid: ecKid })}.${payload}.`],
    ];
    for (const [name, token] of cases) {
      await expect(tokens.verifyAccessToken(token), name).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    }
    // The kid-less HMAC key is not in this keyring at all (a new install never had it).
    await expect(tokens.verifyAccessToken(hmacWith(secret, { alg: "HS256", typ: "JWT" }))).rejects.toMatchObject({
      code: "TOKEN_INVALID",
    });
  });
});
