import { WeakSecretError } from "../errors.js";

/** HMAC algorithms for access tokens. */
export type HmacAlgorithm = "HS256" | "HS384" | "HS512";

/**
 * Minimum secret size per algorithm: RFC 7518 section 3.2 requires a key at least as long as the
 * hash output. 32 bytes for HS256 is also what `openssl rand -hex 32` gives.
 */
export const MIN_SECRET_BYTES: Readonly<Record<HmacAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/**
 * Placeholders from documentation that people paste unchanged; compared case-insensitively.
 * `YOUR_SECRET_KEY` is the original FastAPI app's.
 */
export const PLACEHOLDER_SECRETS: readonly string[] = [
  "YOUR_SECRET_KEY",
  "change-me-to-the-output-of-openssl-rand-hex-32",
];

/**
 * Refuses a signing secret that is too short for the algorithm or a known placeholder.
 * A string secret is used as its UTF-8 bytes (as python-jose does), so its length counts bytes.
 *
 * @throws {WeakSecretError} `WEAK_SECRET`, with a message that says how to make a good key.
 */
export function assertStrongSecret(
  secret: unknown,
  algorithm: HmacAlgorithm = "HS256",
): asserts secret is string | Uint8Array {
  const minBytes = MIN_SECRET_BYTES[algorithm];
  const advice = `generate one with: openssl rand -hex ${minBytes}`;
  if (typeof secret === "string") {
    if (PLACEHOLDER_SECRETS.some((placeholder) => placeholder.toLowerCase() === secret.trim().toLowerCase())) {
      throw new WeakSecretError(`The secret key is a documentation placeholder; ${advice}`);
    }
    if (Buffer.byteLength(secret, "utf8") < minBytes) {
      throw new WeakSecretError(`The secret key must be at least ${minBytes} bytes for ${algorithm}; ${advice}`);
    }
    return;
  }
  if (secret instanceof Uint8Array) {
    if (secret.byteLength < minBytes) {
      throw new WeakSecretError(`The secret key must be at least ${minBytes} bytes for ${algorithm}; ${advice}`);
    }
    return;
  }
  throw new WeakSecretError(`A secret key (string or bytes) is required; ${advice}`);
}
