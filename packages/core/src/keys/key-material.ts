import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { type ASYMMETRIC_ALGORITHMS, asymmetricJwsKey, type JwsKey } from "../tokens/jws.js";
import { jwkThumbprint } from "./thumbprint.js";

export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** A public key as JWKS publishes it (RFC 7517): never a private member. */
export interface PublicJwk {
  kty: string;
  kid: string;
  alg: AsymmetricAlgorithm;
  use: "sig";
  key_ops: ["verify"];
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
}

/** A freshly generated key pair: the public JWK to publish and the private key as PKCS#8 PEM to seal. */
export interface GeneratedKey {
  kid: string;
  alg: AsymmetricAlgorithm;
  publicJwk: PublicJwk;
  privatePem: string;
}

const GENERATE: Record<AsymmetricAlgorithm, () => { publicKey: KeyObject; privateKey: KeyObject }> = {
  ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256" }),
  EdDSA: () => generateKeyPairSync("ed25519"),
  // 2048 bits: NIST's minimum through 2030, and verification stays cheap (the public exponent is small).
  RS256: () => generateKeyPairSync("rsa", { modulusLength: 2048 }),
};

/** The public JWK of `publicKey`, with its RFC 7638 thumbprint as `kid`. */
export function publicJwkOf(alg: AsymmetricAlgorithm, publicKey: KeyObject): PublicJwk {
  const exported = publicKey.export({ format: "jwk" }) as Record<string, string>;
  const members = Object.fromEntries(
    ["kty", "crv", "x", "y", "n", "e"].filter((name) => exported[name] !== undefined).map((n) => [n, exported[n]]),
  );
  return { ...members, kid: jwkThumbprint(members), alg, use: "sig", key_ops: ["verify"] } as PublicJwk;
}

export function generateSigningKey(alg: AsymmetricAlgorithm): GeneratedKey {
  const { publicKey, privateKey } = GENERATE[alg]();
  const publicJwk = publicJwkOf(alg, publicKey);
  const privatePem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  return { kid: publicJwk.kid, alg, publicJwk, privatePem };
}

/** The JWS operations of a stored key: verify from its public JWK, sign too when its private PEM is given. */
export function jwsKeyOf(alg: AsymmetricAlgorithm, publicJwk: PublicJwk, privatePem?: string): JwsKey {
  const publicKey = createPublicKey({ key: { ...publicJwk } as import("node:crypto").JsonWebKey, format: "jwk" });
  const privateKey = privatePem === undefined ? undefined : createPrivateKey(privatePem);
  return asymmetricJwsKey(alg, publicKey, privateKey);
}
