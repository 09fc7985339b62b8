import { createHash } from "node:crypto";

/** The members RFC 7638 section 3.2 hashes, per key type, in lexicographic order. */
const REQUIRED_MEMBERS: Record<string, readonly string[]> = {
  EC: ["crv", "kty", "x", "y"],
  OKP: ["crv", "kty", "x"],
  RSA: ["e", "kty", "n"],
  oct: ["k", "kty"],
};

/**
 * The RFC 7638 SHA-256 thumbprint of a JWK, base64url: the `kid` of a key. Only the required public
 * members count, so the same key always gets the same `kid`, whatever else its JWK carries.
 *
 * @throws {TypeError} for a key type or member set RFC 7638 does not define.
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string {
  const members = REQUIRED_MEMBERS[String(jwk.kty)];
  if (members === undefined) throw new TypeError(`No RFC 7638 thumbprint for key type ${String(jwk.kty)}`);
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== "string") throw new TypeError(`A ${String(jwk.kty)} JWK needs a string "${name}"`);
    canonical[name] = value;
  }
  // JSON.stringify of an object built in this order is the canonical form: no white space, members sorted.
  return createHash("sha256").update(JSON.stringify(canonical), "utf8").digest("base64url");
}
