import { createHmac, generateKeyPairSync } from "node:crypto";
import { createSigner } from "fast-jwt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pythonFixtures } from "../../test/fixtures/python.js";
import { createAccessToken, createTokenService, DEFAULT_TOKEN_TTL_SECONDS, verifyAccessToken } from "./tokens.js";

const secret = "k".repeat(32);
const options = { secret };
const service = createTokenService(options);

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function parts(token: string): [string, string, string] {
  return token.split(".") as [string, string, string];
}

async function rejection(token: string, opts: Parameters<typeof verifyAccessToken>[1] = options) {
  try {
    await verifyAccessToken(token, opts);
    return "accepted";
  } catch (error) {
    const { code, problem } = error as { code: string; problem?: string };
    return problem ? `${code}:${problem}` : code;
  }
}

const now = () => Math.floor(Date.now() / 1000);
// Hand-rolled HMAC signing, so tests can make tokens a careful library would refuse to make.
const signWith =
  (key: string, algorithm: "HS256" | "HS384" | "HS512" = "HS256") =>
  (payload: Record<string, unknown>): string => {
    const input = `${base64url({ alg: algorithm, typ: "JWT" })}.${base64url(payload)}`;
    const digest = { HS256: "sha256", HS384: "sha384", HS512: "sha512" }[algorithm];
    return `${input}.${createHmac(digest, key).update(input).digest("base64url")}`;
  };

describe("createAccessToken", () => {
  it("signs HS256 with sub, iat and exp 30 minutes later, as the original", async () => {
    const token = await createAccessToken({ sub: "JohnDoe" }, options);
    const header = JSON.parse(Buffer.from(parts(token)[0], "base64url").toString());
    const claims = await verifyAccessToken(token, options);
    expect(header).toMatchObject({ alg: "HS256", typ: "JWT" });
    expect(DEFAULT_TOKEN_TTL_SECONDS).toBe(1800);
    expect(claims.sub).toBe("JohnDoe");
    expect(claims.exp - (claims.iat as number)).toBe(1800);
    expect(Math.abs((claims.iat as number) - now())).toBeLessThanOrEqual(2);
  });

  it("takes a lifetime per service and per call (the original's expires_delta)", async () => {
    const short = createTokenService({ secret, expiresInSeconds: 60 });
    const a = await short.verifyAccessToken(await short.createAccessToken({ sub: "a" }));
    expect(a.exp - (a.iat as number)).toBe(60);
    const b = await service.verifyAccessToken(await service.createAccessToken({ sub: "b" }, { expiresInSeconds: 5 }));
    expect(b.exp - (b.iat as number)).toBe(5);
  });

  it("keeps extra claims but sets exp, iat, iss and aud itself", async () => {
    const token = await service.createAccessToken({ sub: "JohnDoe", role: "admin", exp: 1, iss: "forged" });
    const claims = await service.verifyAccessToken(token);
    expect(claims.role).toBe("admin");
    expect(claims.exp).toBeGreaterThan(now());
    expect(claims.iss).toBeUndefined();
  });

  it("refuses data without a string sub", async () => {
    await expect(service.createAccessToken({ sub: "" })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
    await expect(service.createAccessToken({} as { sub: string })).rejects.toMatchObject({ code: "INVALID_OPTIONS" });
  });

  it("sets and then requires issuer and audience when configured", async () => {
    const scoped = createTokenService({ secret, issuer: "https://auth.example", audience: "api" });
    const claims = await scoped.verifyAccessToken(await scoped.createAccessToken({ sub: "JohnDoe" }));
    expect(claims).toMatchObject({ iss: "https://auth.example", aud: "api" });
    const unscoped = await service.createAccessToken({ sub: "JohnDoe" });
    await expect(scoped.verifyAccessToken(unscoped)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
    const otherAudience = createTokenService({ secret, issuer: "https://auth.example", audience: "other" });
    await expect(otherAudience.verifyAccessToken(await scoped.createAccessToken({ sub: "x" }))).rejects.toMatchObject({
      code: "TOKEN_INVALID",
      problem: "claim_value",
    });
  });
});

describe("verifyAccessToken", () => {
  it("verifies a token python-jose made with HS256 and the same key", async () => {
    const { jose } = pythonFixtures;
    const claims = await verifyAccessToken(jose.token_expiring_in_2100, { secret: jose.secret_key });
    expect(claims.sub).toBe(jose.subject);
  });

  it("verifies the original's 30-minute token within its lifetime, and calls it expired after", async () => {
    const { jose } = pythonFixtures;
    const opts = { secret: jose.secret_key };
    const token = jose.token_expiring_30_minutes_after_issued_at;
    const duringLifetime = new Date((jose.issued_at + 29 * 60) * 1000);
    await expect(verifyAccessToken(token, { ...opts, now: duringLifetime })).resolves.toMatchObject({ sub: "JohnDoe" });
    const afterLifetime = new Date((jose.issued_at + 31 * 60) * 1000);
    await expect(verifyAccessToken(token, { ...opts, now: afterLifetime })).rejects.toMatchObject({
      code: "TOKEN_EXPIRED",
    });
  });

  it("refuses an expired token with TOKEN_EXPIRED", async () => {
    const token = await service.createAccessToken({ sub: "JohnDoe" }, { now: new Date(Date.now() - 3600_000) });
    await expect(service.verifyAccessToken(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("allows the configured clock skew and no more", async () => {
    const tolerant = createTokenService({ secret, clockToleranceSeconds: 60 });
    const expiredRecently = await service.createAccessToken(
      { sub: "x" },
      { now: new Date(Date.now() - 1830_000), expiresInSeconds: 1800 },
    );
    await expect(service.verifyAccessToken(expiredRecently)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
    await expect(tolerant.verifyAccessToken(expiredRecently)).resolves.toMatchObject({ sub: "x" });
  });

  it.each([
    ["alg none", () => `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ sub: "JohnDoe", exp: now() + 60 })}.`],
    ["signed with another key", () => signWith("x".repeat(32))({ sub: "JohnDoe", exp: now() + 60 })],
    ["signed with an empty key", () => signWith("")({ sub: "JohnDoe", exp: now() + 60 })],
    ["signed with a guessed key", () => signWith("secret")({ sub: "JohnDoe", exp: now() + 60 })],
    ["HS512 with the same key", () => signWith(secret, "HS512")({ sub: "JohnDoe", exp: now() + 60 })],
    [
      "RS256 with a real key pair",
      () => {
        const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
        return createSigner({ key: pem, algorithm: "RS256" })({ sub: "JohnDoe", exp: now() + 60 });
      },
    ],
    [
      "ES256 with a real key pair",
      () => {
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
        return createSigner({ key: pem, algorithm: "ES256" })({ sub: "JohnDoe", exp: now() + 60 });
      },
    ],
    ["nbf in the future", () => signWith(secret)({ sub: "JohnDoe", exp: now() + 600, nbf: now() + 300 })],
    ["missing exp", () => signWith(secret)({ sub: "JohnDoe" })],
    ["missing sub", () => signWith(secret)({ exp: now() + 60 })],
    ["a numeric sub", () => signWith(secret)({ sub: 12345, exp: now() + 60 })],
    ["an empty sub", () => signWith(secret)({ sub: "", exp: now() + 60 })],
    ["a string exp", () => signWith(secret)({ sub: "JohnDoe", exp: String(now() + 60) })],
    ["garbage", () => "not-a-token"],
    ["an empty string", () => ""],
    ["white space", () => "   "],
    ["two parts", () => "a.b"],
    ["a non-string", () => 12345 as unknown as string],
  ])("refuses a token with %s as TOKEN_INVALID", async (_, makeToken) => {
    expect(await rejection(makeToken())).toMatch(/^TOKEN_INVALID:/);
  });

  it("names the problem: algorithm, signature, not yet valid, missing claim", async () => {
    const hs512 = signWith(secret, "HS512")({ sub: "JohnDoe", exp: now() + 60 });
    expect(await rejection(hs512)).toBe("TOKEN_INVALID:algorithm");
    expect(await rejection(signWith("x".repeat(32))({ sub: "a", exp: now() + 60 }))).toBe("TOKEN_INVALID:signature");
    expect(await rejection(signWith(secret)({ sub: "a", exp: now() + 60, nbf: now() + 60 }))).toBe(
      "TOKEN_INVALID:not_yet_valid",
    );
    expect(await rejection(signWith(secret)({ sub: "a" }))).toBe("TOKEN_INVALID:missing_claim");
  });

  it("refuses a tampered payload, a tampered header and a stripped signature", async () => {
    const [header, payload, signature] = parts(await service.createAccessToken({ sub: "JohnDoe" }));
    const forgedPayload = base64url({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), sub: "admin" });
    const forgedHeader = base64url({ alg: "HS256", typ: "JWT", kid: "x" });
    expect(await rejection(`${header}.${forgedPayload}.${signature}`)).toBe("TOKEN_INVALID:signature");
    expect(await rejection(`${forgedHeader}.${payload}.${signature}`)).toBe("TOKEN_INVALID:signature");
    expect(await rejection(`${header}.${payload}.`)).toMatch(/^TOKEN_INVALID:/);
    expect(await rejection(`${header}.${payload}`)).toMatch(/^TOKEN_INVALID:/);
  });

  it("refuses a token with a character that only looks like its Latin-1 byte (no aliasing of the signed text)", async () => {
    const token = await service.createAccessToken({ sub: "JohnDoe" });
    // U+01xx and the ASCII character xx share a low byte: as Latin-1 bytes the text would be the one signed.
    const index = token.indexOf(".") + 1;
    const aliased = `${token.slice(0, index)}${String.fromCharCode(0x100 + token.charCodeAt(index))}${token.slice(index + 1)}`;
    expect(await rejection(aliased)).toBe("TOKEN_INVALID:malformed");
    expect(await rejection(token)).toBe("accepted");
  });

  it("refuses a token over the size limit before parsing it", async () => {
    const big = await service.createAccessToken({ sub: "JohnDoe", padding: "p".repeat(5000) });
    expect(await rejection(big)).toBe("TOKEN_INVALID:too_large");
    const roomy = { secret, maxTokenBytes: 10_000 };
    expect(await rejection(big, roomy)).toBe("accepted");
  });

  it("never puts the token or the secret in an error message", async () => {
    const token = signWith("x".repeat(32))({ sub: "JohnDoe", exp: now() + 60 });
    const error = await service.verifyAccessToken(token).catch((e: Error) => e);
    expect((error as Error).message).not.toContain(token.slice(0, 20));
    expect((error as Error).message).not.toContain(secret);
  });
});

describe("token options", () => {
  it.each([
    ["a 31-byte secret", { secret: "k".repeat(31) }],
    ["the original's placeholder", { secret: "YOUR_SECRET_KEY" }],
    ["the placeholder padded to length", { secret: "  your_secret_key  " }],
    ["a short byte secret", { secret: new Uint8Array(16) }],
    ["a 32-byte secret for HS512", { secret: "k".repeat(32), algorithm: "HS512" as const }],
    ["no secret", { secret: undefined as unknown as string }],
  ])("refuses %s with WEAK_SECRET", (_, opts) => {
    expect(() => createTokenService(opts)).toThrow(expect.objectContaining({ code: "WEAK_SECRET" }));
  });

  it("counts a string secret in UTF-8 bytes", () => {
    expect(() => createTokenService({ secret: "é".repeat(16) })).not.toThrow();
    expect(() => createTokenService({ secret: new Uint8Array(32) })).not.toThrow();
  });

  it.each([
    ["algorithm none", { secret, algorithm: "none" as "HS256" }],
    ["algorithm RS256", { secret, algorithm: "RS256" as "HS256" }],
    ["a zero lifetime", { secret, expiresInSeconds: 0 }],
    ["a negative lifetime", { secret, expiresInSeconds: -5 }],
    ["a NaN lifetime", { secret, expiresInSeconds: Number.NaN }],
    ["a negative clock tolerance", { secret, clockToleranceSeconds: -1 }],
    ["a zero size limit", { secret, maxTokenBytes: 0 }],
  ])("refuses %s with INVALID_OPTIONS", (_, opts) => {
    expect(() => createTokenService(opts)).toThrow(expect.objectContaining({ code: "INVALID_OPTIONS" }));
  });

  it("signs with HS384 and HS512 when configured, with keys of their size", async () => {
    for (const [algorithm, size] of [
      ["HS384", 48],
      ["HS512", 64],
    ] as const) {
      const svc = createTokenService({ secret: "k".repeat(size), algorithm });
      const token = await svc.createAccessToken({ sub: "JohnDoe" });
      expect(JSON.parse(Buffer.from(parts(token)[0], "base64url").toString()).alg).toBe(algorithm);
      await expect(svc.verifyAccessToken(token)).resolves.toMatchObject({ sub: "JohnDoe" });
    }
  });
});

describe("verified-token cache", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("refuses a cached token once it expires", async () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    const tokens = createTokenService({ secret, expiresInSeconds: 60 });
    const token = await tokens.createAccessToken({ sub: "alice" });
    expect((await tokens.verifyAccessToken(token)).sub).toBe("alice");
    expect((await tokens.verifyAccessToken(token)).sub).toBe("alice");
    vi.setSystemTime(new Date("2026-01-01T00:01:00.000Z"));
    expect((await tokens.verifyAccessToken(token)).sub).toBe("alice");
    vi.setSystemTime(new Date("2026-01-01T00:01:00.001Z"));
    await expect(tokens.verifyAccessToken(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("keeps the clock tolerance of a cached token", async () => {
    vi.useFakeTimers({ now: new Date("2026-01-01T00:00:00Z") });
    const tokens = createTokenService({ secret, expiresInSeconds: 60, clockToleranceSeconds: 5 });
    const token = await tokens.createAccessToken({ sub: "alice" });
    await tokens.verifyAccessToken(token);
    vi.setSystemTime(new Date("2026-01-01T00:01:05.000Z"));
    expect((await tokens.verifyAccessToken(token)).sub).toBe("alice");
    vi.setSystemTime(new Date("2026-01-01T00:01:05.001Z"));
    await expect(tokens.verifyAccessToken(token)).rejects.toMatchObject({ code: "TOKEN_EXPIRED" });
  });

  it("never lets a forged token ride on a cached genuine one", async () => {
    const token = await service.createAccessToken({ sub: "alice" });
    await service.verifyAccessToken(token);
    const [header, payload, signature] = parts(token);
    const flipped = `${signature.slice(0, -2)}${signature.endsWith("A") ? "B" : "A"}${signature.slice(-1)}`;
    await expect(service.verifyAccessToken(`${header}.${payload}.${flipped}`)).rejects.toMatchObject({
      code: "TOKEN_INVALID",
    });
    const forged = signWith("x".repeat(32))({ sub: "alice", exp: now() + 600 });
    await expect(service.verifyAccessToken(forged)).rejects.toMatchObject({ code: "TOKEN_INVALID" });
  });

  it("gives frozen claims, so no caller can change what the next one sees", async () => {
    for (const verifiedTokenCacheSize of [0, 1000]) {
      const tokens = createTokenService({ secret, verifiedTokenCacheSize });
      const token = await tokens.createAccessToken({ sub: "alice", roles: ["reader"] });
      const first = await tokens.verifyAccessToken(token);
      expect(() => {
        (first as { sub: string }).sub = "mallory";
      }).toThrow(TypeError);
      expect(() => (first.roles as string[]).push("admin")).toThrow(TypeError);
      const second = await tokens.verifyAccessToken(token);
      expect(second.sub).toBe("alice");
      expect(second.roles).toEqual(["reader"]);
    }
  });

  it("is skipped by a verification as of another time", async () => {
    const tokens = createTokenService({ secret, expiresInSeconds: 60 });
    const token = await tokens.createAccessToken({ sub: "alice" });
    await tokens.verifyAccessToken(token);
    await expect(tokens.verifyAccessToken(token, { now: new Date(Date.now() + 3_600_000) })).rejects.toMatchObject({
      code: "TOKEN_EXPIRED",
    });
  });

  it("refuses a size that is not a whole number", () => {
    for (const verifiedTokenCacheSize of [-1, 1.5, Number.NaN]) {
      expect(() => createTokenService({ secret, verifiedTokenCacheSize })).toThrow(/verifiedTokenCacheSize/);
    }
  });
});
