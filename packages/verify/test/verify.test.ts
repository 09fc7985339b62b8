import { CompactSign, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLatchkeyVerifier,
  type LatchkeyVerifierOptions,
  TokenExpiredError,
  TokenInvalidError,
} from "../src/index.js";
import { type JwksServer, startJwksServer } from "./helpers/jwks-server.js";
import { createTestKey, type TestKey } from "./helpers/keys.js";
import { latchkeyClaims, sign } from "./helpers/tokens.js";

let rsa: TestKey;
let ec: TestKey;
let ed: TestKey;
let server: JwksServer;

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([createTestKey("RS256"), createTestKey("ES256"), createTestKey("EdDSA")]);
  server = await startJwksServer([rsa.jwk, ec.jwk, ed.jwk]);
});

afterAll(() => server.close());

const verifier = (options: Partial<LatchkeyVerifierOptions> = {}) =>
  createLatchkeyVerifier({ issuer: server.issuer, ...options });

/** The typed error `verify` rejected with. */
async function refusal(promise: Promise<unknown>): Promise<TokenInvalidError | TokenExpiredError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  return error as TokenInvalidError | TokenExpiredError;
}

async function expectInvalid(promise: Promise<unknown>, problem: TokenInvalidError["problem"]): Promise<void> {
  const error = await refusal(promise);
  expect(error).toBeInstanceOf(TokenInvalidError);
  expect(error).toMatchObject({ code: "TOKEN_INVALID", problem });
}

describe("tokens the Latchkey server issues", () => {
  it.each(["RS256", "ES256", "EdDSA"] as const)(
    "verifies a %s token and returns its username and claims",
    async (alg) => {
      const key = { RS256: rsa, ES256: ec, EdDSA: ed }[alg];
      const claims = latchkeyClaims(server.issuer);
      const result = await verifier().verify(await sign(key, claims));
      expect(result).toEqual({ username: "JohnDoe", claims });
    },
  );

  it("accepts the typ written as a media type (application/at+jwt, any case)", async () => {
    const token = await sign(ec, latchkeyClaims(server.issuer), { typ: "Application/AT+JWT" });
    await expect(verifier().verify(token)).resolves.toMatchObject({ username: "JohnDoe" });
  });

  it("pins the audience when one is configured", async () => {
    const v = verifier({ audience: "orders" });
    await expect(v.verify(await sign(ec, latchkeyClaims(server.issuer, { aud: "orders" })))).resolves.toBeDefined();
    await expectInvalid(v.verify(await sign(ec, latchkeyClaims(server.issuer, { aud: "billing" }))), "claim_value");
    await expectInvalid(v.verify(await sign(ec, latchkeyClaims(server.issuer))), "missing_claim");
  });
});

describe("refused claims and headers", () => {
  it("an expired token is TOKEN_EXPIRED", async () => {
    const now = Math.floor(Date.now() / 1000);
    const error = await refusal(verifier().verify(await sign(ec, latchkeyClaims(server.issuer, { exp: now - 1 }))));
    expect(error).toBeInstanceOf(TokenExpiredError);
    expect(error.code).toBe("TOKEN_EXPIRED");
  });

  it("clockToleranceSeconds lets a token expired within the tolerance through", async () => {
    const token = await sign(ec, latchkeyClaims(server.issuer, { exp: Math.floor(Date.now() / 1000) - 5 }));
    await expect(verifier({ clockToleranceSeconds: 30 }).verify(token)).resolves.toBeDefined();
  });

  it("a token not valid yet (nbf) is not_yet_valid", async () => {
    const token = await sign(ec, latchkeyClaims(server.issuer, { nbf: Math.floor(Date.now() / 1000) + 60 }));
    await expectInvalid(verifier().verify(token), "not_yet_valid");
  });

  it("another issuer, or none, is refused (iss is pinned exactly)", async () => {
    await expectInvalid(verifier().verify(await sign(ec, latchkeyClaims("http://evil.example"))), "claim_value");
    await expectInvalid(verifier().verify(await sign(ec, latchkeyClaims(`${server.issuer}/`))), "claim_value");
    await expectInvalid(
      verifier().verify(await sign(ec, latchkeyClaims(server.issuer, { iss: undefined }))),
      "missing_claim",
    );
  });

  it("a wrong or missing typ is refused: an ID token or another JWT signed by the same keys is not an access token", async () => {
    await expectInvalid(verifier().verify(await sign(ec, latchkeyClaims(server.issuer), { typ: "JWT" })), "type");
    await expectInvalid(verifier().verify(await sign(ec, latchkeyClaims(server.issuer), { typ: undefined })), "type");
  });

  it("exp and a non-empty string sub are required", async () => {
    await expectInvalid(
      verifier().verify(await sign(ec, latchkeyClaims(server.issuer, { exp: undefined }))),
      "missing_claim",
    );
    await expectInvalid(
      verifier().verify(await sign(ec, latchkeyClaims(server.issuer, { sub: undefined }))),
      "missing_claim",
    );
    await expectInvalid(verifier().verify(await sign(ec, latchkeyClaims(server.issuer, { sub: "" }))), "claim_value");
    await expectInvalid(
      verifier().verify(await sign(ec, { ...latchkeyClaims(server.issuer), sub: 42 })),
      "claim_value",
    );
    await expectInvalid(
      verifier().verify(await sign(ec, { ...latchkeyClaims(server.issuer), exp: "soon" })),
      "claim_value",
    );
    await expectInvalid(verifier().verify(await sign(ec, { ...latchkeyClaims(server.issuer), uid: 7 })), "claim_value");
  });

  it("a tampered payload fails the signature check", async () => {
    const [header, , signature] = (await sign(ec, latchkeyClaims(server.issuer))).split(".");
    const forged = Buffer.from(JSON.stringify(latchkeyClaims(server.issuer, { sub: "admin" }))).toString("base64url");
    await expectInvalid(verifier().verify(`${header}.${forged}.${signature}`), "signature");
  });

  it("a token without kid is malformed, and costs no JWKS request", async () => {
    const before = server.requests;
    await expectInvalid(
      verifier().verify(await sign(ec, latchkeyClaims(server.issuer), { kid: undefined })),
      "malformed",
    );
    expect(server.requests).toBe(before);
  });

  it("tokens over maxTokenBytes are refused before parsing", async () => {
    const padded = await sign(ec, latchkeyClaims(server.issuer, { pad: "x".repeat(9000) }));
    await expectInvalid(verifier().verify(padded), "malformed");
    await expect(verifier({ maxTokenBytes: 16_384 }).verify(padded)).resolves.toBeDefined();
    await expectInvalid(verifier().verify("é".repeat(4097)), "malformed"); // 4097 characters, 8194 bytes
  });

  it.each([
    ["an empty string", ""],
    ["one part", "abc"],
    ["four parts", "a.b.c.d"],
    ["dots only", ".."],
    ["a header that is not JSON", `${Buffer.from("{").toString("base64url")}.e30.`],
    ["a header that is JSON but not an object", `${Buffer.from("[]").toString("base64url")}.e30.sig`],
    ["a non-ASCII token", "ä.ö.ü"],
    ["a number", 42],
    ["null", null],
  ])("garbage (%s) is TOKEN_INVALID, never anything else", async (_, garbage) => {
    const error = await refusal(verifier().verify(garbage as string));
    expect(error).toBeInstanceOf(TokenInvalidError);
  });

  it("a signed payload that is not a JSON object is malformed", async () => {
    const header = { alg: "ES256", typ: "at+jwt", kid: ec.kid };
    const token = await new CompactSign(new TextEncoder().encode("[1]")).setProtectedHeader(header).sign(ec.privateKey);
    await expectInvalid(verifier().verify(token), "malformed");
  });

  it("an unknown critical header is malformed", async () => {
    const header = { alg: "ES256", typ: "at+jwt", kid: ec.kid, crit: ["urn:example:policy"], "urn:example:policy": 1 };
    const token = await new SignJWT(latchkeyClaims(server.issuer))
      .setProtectedHeader(header)
      .sign(ec.privateKey, { crit: { "urn:example:policy": true } });
    await expectInvalid(verifier().verify(token), "malformed");
  });
});
