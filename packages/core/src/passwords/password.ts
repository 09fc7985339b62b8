import { createBcryptHasher } from "./bcrypt-hasher.js";
import type { PasswordHasher } from "./hasher.js";
import { normalizePassword, passwordCandidates } from "./normalize.js";
import { assertAcceptablePassword, type PasswordPolicy, resolvePasswordPolicy } from "./password-policy.js";

/** Options of {@link hashPassword}. */
export interface HashPasswordOptions extends PasswordPolicy {
  /** Hasher to use. Default: bcrypt at cost 12. */
  hasher?: PasswordHasher;
}

let defaultHasher: PasswordHasher | undefined;

/** The shared default hasher: bcrypt at cost 12, made on first use. */
export function getDefaultHasher(): PasswordHasher {
  defaultHasher ??= createBcryptHasher();
  return defaultHasher;
}

/**
 * Hashes a new password (the original's `hash_password`), after checking it against the password
 * policy. Resolves to a `$2b$` bcrypt hash at cost 12 unless another hasher is given. The password
 * is hashed in NFKC form (see `normalizePassword`), and the policy applies to that form.
 *
 * @throws {PasswordTooShortError} `PASSWORD_TOO_SHORT` for an empty or too short password.
 * @throws {PasswordTooLongError} `PASSWORD_TOO_LONG` for a password over 72 UTF-8 bytes.
 * @throws {PasswordInvalidError} `PASSWORD_INVALID` if it is not a string.
 */
export async function hashPassword(password: string, options: HashPasswordOptions = {}): Promise<string> {
  const hasher = options.hasher ?? getDefaultHasher();
  const normalized = typeof password === "string" ? normalizePassword(password) : password;
  assertAcceptablePassword(normalized, resolvePasswordPolicy(options), hasher.maxPasswordBytes);
  return hasher.hash(normalized);
}

/**
 * Whether `plain` matches `hash` (the original's `verify_password`). Accepts bcrypt hashes from
 * other implementations (`$2a$`, `$2b$`, `$2y$`, any cost), of the NFKC form of `plain` or of
 * `plain` as typed (hashes made without normalization). Resolves to `false`, and never rejects,
 * for a wrong password, a malformed or foreign hash, or a password over 72 bytes.
 */
export async function verifyPassword(
  plain: string,
  hash: string,
  options: { hasher?: PasswordHasher } = {},
): Promise<boolean> {
  const hasher = options.hasher ?? getDefaultHasher();
  if (typeof plain !== "string") return false;
  for (const candidate of passwordCandidates(plain)) if (await hasher.verify(candidate, hash)) return true;
  return false;
}
