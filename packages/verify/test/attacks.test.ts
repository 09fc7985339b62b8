import { type JWTHeaderParameters, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLatchkeyVerifier, TokenInvalidError } from "../src/index.js";
import { type JwksServer, startJwksServer } from "./helpers/jwks-server.js";
import { createTestKey, type TestKey } from "./helpers/keys.js";
import { craft, latchkeyClaims, sign } from "./helpers/tokens.js";

// The issuer's keys, and an attacker's: the attacker can sign anything, but only with their own keys.
let rsa: TestKey;
let ec: TestKey;
let ed: TestKey;
let evilRsa: TestKey;
let evilEc: TestKey;
let evilEd: TestKey;
let issuer: JwksServer;
/** The attacker's own JWKS server, which headers such as `jku` point at. It must never be asked. */
let attacker: JwksServer;

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([createTestKey("RS256"), createTestKey("ES256"), createTestKey("EdDSA")]);
  [evilRsa, evilEc, evilEd] = await Promise.all([
    createTestKey("RS256"),
    createTestKey("ES256"),
    createTestKey("EdDSA"),
  ]);
  issuer = await startJwksServer([rsa.jwk, ec.jwk, ed.jwk]);
  attacker = await startJwksServer([evilRsa.jwk, evilEc.jwk, evilEd.jwk]);
});

afterAll(async () => {
  await issuer.close();
  await attacker.close();
});

async function expectRefused(token: string, problem: TokenInvalidError["problem"]): Promise<void> {
  const verifier = createLatchkeyVerifier({ issuer: issuer.issuer });
  const error = await verifier.verify(token).catch((thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(TokenInvalidError);
  expect(error).toMatchObject({ code: "TOKEN_INVALID", problem });
}

const hs = (alg: "HS256" | "HS384" | "HS512", secret: string, header: Partial<JWTHeaderParameters>) =>
  new SignJWT(latchkeyClaims(issuer.issuer))
    .setProtectedHeader({ alg, typ: "at+jwt", ...header })
    .sign(new TextEncoder().encode(secret));

describe("algorithm confusion", () => {
  it.each(["none", "None", "NONE"])('alg "%s" (unsigned) is refused', async (alg) => {
    await expectRefused(craft({ alg, typ: "at+jwt", kid: ec.kid }, latchkeyClaims(issuer.issuer)), "algorithm");
  });

  it("HS256 with the published public key as the HMAC secret is refused, without even a JWKS request", async () => {
    const before = issuer.requests;
    const secrets = {
      spki: rsa.publicKey.export({ format: "pem", type: "spki" }) as string,
      pkcs1: rsa.publicKey.export({ format: "pem", type: "pkcs1" }) as string,
      jwk: JSON.stringify(rsa.jwk),
      jwks: JSON.stringify({ keys: issuer.keys }),
      ecSpki: ec.publicKey.export({ format: "pem", type: "spki" }) as string,
    };
    for (const secret of Object.values(secrets)) {
      for (const alg of ["HS256", "HS384", "HS512"] as const) {
        await expectRefused(await hs(alg, secret, { kid: rsa.kid }), "algorithm");
        await expectRefused(await hs(alg, secret, {}), "algorithm");
      }
    }
    expect(issuer.requests).toBe(before);
  });

  it.each([
    ["ES256 on the RSA key's kid", () => evilEc, () => rsa.kid],
    ["EdDSA on the RSA key's kid", () => evilEd, () => rsa.kid],
    ["RS256 on the EC key's kid", () => evilRsa, () => ec.kid],
    ["EdDSA on the EC key's kid", () => evilEd, () => ec.kid],
    ["ES256 on the Ed25519 key's kid", () => evilEc, () => ed.kid],
    ["RS256 on the Ed25519 key's kid", () => evilRsa, () => ed.kid],
  ])("%s matches no key (the JWK's kty and alg must fit the header's alg)", async (_, signer, kid) => {
    await expectRefused(await sign(signer(), latchkeyClaims(issuer.issuer), { kid: kid() }), "unknown_key");
  });

  it("another RSA or EC algorithm than the key's own is refused (PS256, RS512, ES384 are not allowed)", async () => {
    const claims = latchkeyClaims(issuer.issuer);
    const header = { typ: "at+jwt", kid: rsa.kid };
    await expectRefused(
      await new SignJWT(claims).setProtectedHeader({ ...header, alg: "PS256" }).sign(rsa.privateKey),
      "algorithm",
    );
    await expectRefused(
      await new SignJWT(claims).setProtectedHeader({ ...header, alg: "RS512" }).sign(rsa.privateKey),
      "algorithm",
    );
    await expectRefused(craft({ alg: "ES384", typ: "at+jwt", kid: ec.kid }, claims, "c2ln"), "algorithm");
  });

  it("even when allowed, PS256 on a JWK published with alg RS256 matches no key", async () => {
    const token = await new SignJWT(latchkeyClaims(issuer.issuer))
      .setProtectedHeader({ alg: "PS256", typ: "at+jwt", kid: rsa.kid })
      .sign(rsa.privateKey);
    const verifier = createLatchkeyVerifier({ issuer: issuer.issuer, algorithms: ["RS256", "PS256"] });
    await expect(verifier.verify(token)).rejects.toMatchObject({ code: "TOKEN_INVALID", problem: "unknown_key" });
  });

  it("the issuer's kid on a token the attacker signed with a key of the same type fails the signature", async () => {
    await expectRefused(await sign(evilEc, latchkeyClaims(issuer.issuer), { kid: ec.kid }), "signature");
    await expectRefused(await sign(evilRsa, latchkeyClaims(issuer.issuer), { kid: rsa.kid }), "signature");
    await expectRefused(await sign(evilEd, latchkeyClaims(issuer.issuer), { kid: ed.kid }), "signature");
  });
});

describe("header members that carry or point at a key are never used", () => {
  const attackerJwks = () => `${attacker.issuer}/.well-known/jwks.json`;

  it.each([
    ["jwk", (key: TestKey) => ({ jwk: key.jwk })],
    ["jku", () => ({ jku: attackerJwks() })],
    ["x5u", () => ({ x5u: attackerJwks() })],
    ["x5c", () => ({ x5c: [Buffer.from("not really a certificate").toString("base64")] })],
    ["jwk + jku + x5u", (key: TestKey) => ({ jwk: key.jwk, jku: attackerJwks(), x5u: attackerJwks() })],
  ])("%s naming the attacker's key: refused, and the attacker's server is never asked", async (_, members) => {
    for (const key of [evilRsa, evilEc, evilEd]) {
      // The attacker's own kid: the issuer's JWKS has no such key.
      await expectRefused(await sign(key, latchkeyClaims(issuer.issuer), members(key)), "unknown_key");
      // The issuer's kid, signed by the attacker: the issuer's key is used, and the signature fails.
      const issuerKid = { RS256: rsa, ES256: ec, EdDSA: ed }[key.alg].kid;
      await expectRefused(
        await sign(key, latchkeyClaims(issuer.issuer), { kid: issuerKid, ...members(key) }),
        "signature",
      );
    }
    expect(attacker.requests).toBe(0);
  });

  it("a genuine token carrying those members still verifies with the issuer's key (they are ignored, not trusted)", async () => {
    const token = await sign(ec, latchkeyClaims(issuer.issuer), {
      jwk: evilEc.jwk,
      jku: attackerJwks(),
      x5u: attackerJwks(),
    });
    await expect(createLatchkeyVerifier({ issuer: issuer.issuer }).verify(token)).resolves.toMatchObject({
      username: "JohnDoe",
    });
    expect(attacker.requests).toBe(0);
  });

  it.each(["../../../etc/passwd", "' OR 1=1 --", "x".repeat(2000), "\u0000"])(
    "an odd kid (%j) is just unknown",
    async (kid) => {
      await expectRefused(await sign(evilEc, latchkeyClaims(issuer.issuer), { kid }), "unknown_key");
    },
  );
});
