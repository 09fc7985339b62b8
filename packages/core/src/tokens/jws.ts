import { createHmac, createSecretKey, type KeyObject, sign as signBytes, verify as verifyBytes } from "node:crypto";

/** JWS algorithms Latchkey signs and verifies access tokens with (RFC 7518, RFC 8037). */
export type JwsAlgorithm = "HS256" | "HS384" | "HS512" | "ES256" | "EdDSA" | "RS256";

export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const ASYMMETRIC_ALGORITHMS = ["RS256", "ES256", "EdDSA"] as const;

export const isHmacAlgorithm = (alg: string): alg is (typeof HMAC_ALGORITHMS)[number] =>
  (HMAC_ALGORITHMS as readonly string[]).includes(alg);
export const isAsymmetricAlgorithm = (alg: string | undefined): alg is (typeof ASYMMETRIC_ALGORITHMS)[number] =>
  (ASYMMETRIC_ALGORITHMS as readonly (string | undefined)[]).includes(alg);

/**
 * One key's compact-JWS operations, bound to its algorithm at construction: the algorithm of a
 * token is never taken from the token, so no header can make an RSA public key an HMAC secret.
 */
export interface JwsKey {
  readonly alg: JwsAlgorithm;
  /** The signature segment (base64url) of `signingInput` (`header.payload`); absent on verify-only keys. */
  readonly sign?: (signingInput: string) => string;
  /** Whether `signature` is this key's canonical signature segment of `signingInput`. */
  verify(signingInput: string, signature: string): boolean;
}

const HMAC_HASH = { HS256: "sha256", HS384: "sha384", HS512: "sha512" } as const;

/** An HMAC key: `secret` as bytes (a string counts as UTF-8, as python-jose does). */
export function hmacJwsKey(alg: (typeof HMAC_ALGORITHMS)[number], secret: string | Uint8Array): JwsKey {
  const key = createSecretKey(typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret));
  const hash = HMAC_HASH[alg];
  // Token text is base64url, so latin1 is its exact bytes without a UTF-8 encoding pass.
  const mac = (signingInput: string) => createHmac(hash, key).update(signingInput, "latin1").digest("base64url");
  return {
    alg,
    sign: mac,
    verify(signingInput, signature) {
      // Comparing the base64url text also refuses non-canonical encodings of the right bytes.
      return constantTimeEqual(signature, mac(signingInput));
    },
  };
}

/**
 * Whether two ASCII strings are equal, in time that depends only on their length: no early exit
 * on the first differing character, so a forger cannot learn a signature one byte at a time. On
 * strings rather than Buffers because the signature is text already: no allocation per request.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

const ASYMMETRIC = {
  // ECDSA signatures in JWS are r || s (RFC 7518 section 3.4), not DER.
  ES256: { hash: "sha256", options: { dsaEncoding: "ieee-p1363" }, keyType: "ec", bytes: 64 },
  EdDSA: { hash: null, options: {}, keyType: "ed25519", bytes: 64 },
  RS256: { hash: "sha256", options: {}, keyType: "rsa", bytes: undefined },
} as const;

/**
 * An asymmetric key: `publicKey` verifies, `privateKey` (when given) signs. The key type must
 * match the algorithm (P-256 for ES256, Ed25519 for EdDSA, RSA of 2048 bits or more for RS256).
 */
export function asymmetricJwsKey(
  alg: (typeof ASYMMETRIC_ALGORITHMS)[number],
  publicKey: KeyObject,
  privateKey?: KeyObject,
): JwsKey {
  const { hash, options, keyType, bytes } = ASYMMETRIC[alg];
  assertKeyFits(alg, publicKey, keyType);
  if (privateKey !== undefined) assertKeyFits(alg, privateKey, keyType);
  const signatureBytes = bytes ?? (publicKey.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  const key: JwsKey = {
    alg,
    verify(signingInput, signature) {
      const raw = Buffer.from(signature, "base64url");
      if (raw.length !== signatureBytes || raw.toString("base64url") !== signature) return false;
      return verifyBytes(hash, Buffer.from(signingInput, "latin1"), { key: publicKey, ...options }, raw);
    },
  };
  if (privateKey === undefined) return key;
  return {
    ...key,
    sign: (signingInput) =>
      signBytes(hash, Buffer.from(signingInput, "latin1"), { key: privateKey, ...options }).toString("base64url"),
  };
}

function assertKeyFits(alg: string, key: KeyObject, keyType: string): void {
  const details = key.asymmetricKeyDetails;
  const fits =
    key.asymmetricKeyType === keyType &&
    (keyType !== "ec" || details?.namedCurve === "prime256v1") &&
    (keyType !== "rsa" || (details?.modulusLength ?? 0) >= 2048);
  if (!fits) throw new TypeError(`A ${alg} key must be ${ASYMMETRIC_KEY_NAMES[alg as keyof typeof ASYMMETRIC]}`);
}

const ASYMMETRIC_KEY_NAMES = { ES256: "P-256 (EC)", EdDSA: "Ed25519", RS256: "RSA of at least 2048 bits" } as const;

/**
 * The header segment Latchkey signs with: kid-less `{"alg", "typ": "JWT"}` for the HMAC key (byte
 * for byte what the original's python-jose wrote), `{"alg", "typ": "at+jwt", "kid"}` (RFC 9068)
 * for a keyring key.
 */
export const tokenHeader = (alg: JwsAlgorithm, kid?: string): string =>
  encodeSegment(kid === undefined ? { alg, typ: "JWT" } : { alg, typ: "at+jwt", kid });

/** base64url of the JSON text of `value`: a header or payload segment. */
export const encodeSegment = (value: unknown): string =>
  Buffer.from(JSON.stringify(value), "utf8").toString("base64url");

/** The three segments of a compact JWS, or undefined when it does not have exactly three. */
export function splitCompact(token: string): [header: string, payload: string, signature: string] | undefined {
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0 || token.indexOf(".", second + 1) >= 0) return undefined;
  return [token.slice(0, first), token.slice(first + 1, second), token.slice(second + 1)];
}

/**
 * The JSON object a segment holds, or undefined for anything else (bad base64url, bad JSON, not an
 * object). `trusted`: the text is covered by a verified signature, so its characters need no check.
 */
export function decodeSegment(segment: string, trusted = false): Record<string, unknown> | undefined {
  if (segment.length === 0 || (!trusted && !BASE64URL.test(segment))) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
