import bcrypt from "bcrypt";
import { InvalidOptionsError, PasswordTooLongError } from "../errors.js";
import { type PasswordHasher, utf8ByteLength } from "./hasher.js";

/** bcrypt reads at most 72 bytes of a password and silently ignores the rest. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

/** Default bcrypt cost: 12, as passlib uses (about a quarter of a second per hash on a server core). */
export const DEFAULT_BCRYPT_COST = 12;

/** Options of {@link createBcryptHasher}. */
export interface BcryptHasherOptions {
  /** log2 of the number of rounds, 4 to 31. Default {@link DEFAULT_BCRYPT_COST}. */
  cost?: number;
}

// `$2a$`, `$2b$` and `$2y$` are the same algorithm for passwords of at most 72 bytes; `$2y$` is
// PHP's name and `$2x$` marks the old buggy variant, which we refuse rather than guess at.
const BCRYPT_HASH = /^\$2([aby])\$(\d\d)\$[./A-Za-z0-9]{53}$/;

function parseBcryptHash(hash: string): { variant: string; cost: number } | null {
  const match = BCRYPT_HASH.exec(hash);
  if (!match) return null;
  const cost = Number(match[2]);
  if (cost < 4 || cost > 31) return null;
  return { variant: match[1] as string, cost };
}

/**
 * The default {@link PasswordHasher}: bcrypt through the native `bcrypt` package's async API,
 * which runs in libuv's thread pool and never blocks the event loop.
 *
 * - `hash` makes `$2b$` hashes at the configured cost and refuses, with `PASSWORD_TOO_LONG`,
 *   a password over 72 UTF-8 bytes instead of letting bcrypt truncate it.
 * - `verify` accepts `$2a$`, `$2b$` and `$2y$` hashes of any cost (Python passlib/bcrypt, PHP,
 *   other Node libraries) and resolves to `false` for anything else, never rejecting.
 * - `needsRehash` is true for a bcrypt hash whose cost is below the configured one.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a cost outside 4..31.
 */
export function createBcryptHasher(options: BcryptHasherOptions = {}): PasswordHasher {
  const cost = options.cost ?? DEFAULT_BCRYPT_COST;
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new InvalidOptionsError(`bcrypt cost must be an integer from 4 to 31, got ${String(cost)}`);
  }

  return {
    maxPasswordBytes: BCRYPT_MAX_PASSWORD_BYTES,

    async hash(password) {
      if (utf8ByteLength(password) > BCRYPT_MAX_PASSWORD_BYTES) {
        throw new PasswordTooLongError(BCRYPT_MAX_PASSWORD_BYTES);
      }
      return bcrypt.hash(password, cost);
    },

    async verify(password, hash) {
      if (typeof password !== "string" || typeof hash !== "string") return false;
      // A longer password was never hashed by us, and comparing it would compare only its first
      // 72 bytes: answering false keeps "password + anything" from matching "password".
      if (utf8ByteLength(password) > BCRYPT_MAX_PASSWORD_BYTES) return false;
      const parsed = parseBcryptHash(hash);
      if (!parsed) return false;
      // The native binding knows `$2a$`/`$2b$` only; `$2y$` is byte-for-byte the same algorithm.
      const comparable = parsed.variant === "y" ? `$2b$${hash.slice(4)}` : hash;
      try {
        return await bcrypt.compare(password, comparable);
      } catch {
        return false;
      }
    },

    needsRehash(hash) {
      const parsed = parseBcryptHash(hash);
      return parsed !== null && parsed.cost < cost;
    },
  };
}
