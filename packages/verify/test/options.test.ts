import { describe, expect, it } from "vitest";
import { createLatchkeyVerifier, InvalidOptionsError, type LatchkeyVerifierOptions } from "../src/index.js";
import { resolveOptions } from "../src/options.js";

const ISSUER = "http://127.0.0.1:8000";

function expectRefused(options: unknown, message: RegExp): void {
  let error: unknown;
  try {
    createLatchkeyVerifier(options as LatchkeyVerifierOptions);
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect(error).toMatchObject({ code: "INVALID_OPTIONS" });
  expect((error as Error).message).toMatch(message);
}

describe("defaults", () => {
  it("pins the issuer and fills in the documented defaults", () => {
    const resolved = resolveOptions({ issuer: ISSUER });
    expect(resolved).toMatchObject({
      issuer: ISSUER,
      audience: undefined,
      algorithms: ["ES256", "EdDSA", "RS256"],
      typ: "at+jwt",
      clockToleranceSeconds: 0,
      maxTokenBytes: 8192,
      cooldownDuration: 30_000,
      cacheMaxAge: 300_000,
      timeoutDuration: 5_000,
    });
    expect(resolved.jwksUri.href).toBe(`${ISSUER}/.well-known/jwks.json`);
  });

  it.each([
    ["https://auth.example.com", "https://auth.example.com/.well-known/jwks.json"],
    ["https://auth.example.com/", "https://auth.example.com/.well-known/jwks.json"],
    ["https://example.com/auth", "https://example.com/auth/.well-known/jwks.json"],
  ])("the JWKS of issuer %s is %s", (issuer, jwks) => {
    expect(resolveOptions({ issuer }).jwksUri.href).toBe(jwks);
  });

  it("takes an explicit jwksUri", () => {
    expect(resolveOptions({ issuer: ISSUER, jwksUri: "https://keys.example.com/jwks" }).jwksUri.href).toBe(
      "https://keys.example.com/jwks",
    );
  });
});

describe("refused at construction", () => {
  it.each(["HS256", "HS384", "HS512", "hs256", "none", "None"])("algorithms containing %s", (alg) => {
    expectRefused({ issuer: ISSUER, algorithms: ["ES256", alg] }, /refused: a JWKS verifier accepts only public-key/);
  });

  it.each([
    [{}, /issuer must be a non-empty string/],
    [{ issuer: "" }, /issuer must be a non-empty string/],
    [{ issuer: "auth.example.com" }, /issuer must be an absolute URL/],
    [{ issuer: "ftp://auth.example.com" }, /issuer must be an http: or https: URL/],
    [{ issuer: ISSUER, jwksUri: "file:///etc/jwks.json" }, /jwksUri must be an http: or https: URL/],
    [{ issuer: ISSUER, algorithms: [] }, /algorithms must be a non-empty array/],
    [{ issuer: ISSUER, algorithms: ["ML-DSA-44"] }, /"ML-DSA-44" is not one of/],
    [{ issuer: ISSUER, audience: "" }, /audience must be a non-empty string/],
    [{ issuer: ISSUER, typ: "" }, /typ must be a non-empty string/],
    [{ issuer: ISSUER, clockToleranceSeconds: -1 }, /clockToleranceSeconds/],
    [{ issuer: ISSUER, maxTokenBytes: 0 }, /maxTokenBytes must be a positive integer/],
    [{ issuer: ISSUER, cacheMaxAge: Number.POSITIVE_INFINITY }, /would verify forever/],
    [{ issuer: ISSUER, cooldownDuration: Number.NaN }, /cooldownDuration/],
    [{ issuer: ISSUER, timeoutDuration: 1.5 }, /timeoutDuration/],
    [{ issuer: ISSUER, fetch: "fetch" }, /fetch must be a function/],
    [{ issuer: ISSUER, expiresIn: 60 }, /unknown option "expiresIn"/],
    [null, /options must be an object/],
  ])("%j", (options, message) => {
    expectRefused(options, message);
  });
});
