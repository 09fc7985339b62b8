import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { calculateJwkThumbprint, type JWK } from "jose";

/** A signing key pair as the Latchkey server has one: its public JWK carries the RFC 7638 thumbprint as `kid`. */
export interface TestKey {
  alg: "RS256" | "ES256" | "EdDSA";
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public JWK exactly as the server publishes it in its JWKS. */
  jwk: JWK;
}

function pair(alg: TestKey["alg"]): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === "RS256") return generateKeyPairSync("rsa", { modulusLength: 2048 });
  if (alg === "ES256") return generateKeyPairSync("ec", { namedCurve: "P-256" });
  return generateKeyPairSync("ed25519");
}

export async function createTestKey(alg: TestKey["alg"]): Promise<TestKey> {
  const { privateKey, publicKey } = pair(alg);
  const exported = publicKey.export({ format: "jwk" }) as JWK;
  const kid = await calculateJwkThumbprint(exported, "sha256");
  return { alg, kid, privateKey, publicKey, jwk: { ...exported, kid, alg, use: "sig" } };
}
