import { InvalidOptionsError, PasswordInvalidError, PasswordTooLongError, PasswordTooShortError } from "../errors.js";
import { utf8ByteLength } from "./hasher.js";

/**
 * Default minimum password length, in characters (Unicode code points): 8, so the original API's
 * own example `johnspassword` works. NIST SP 800-63B-4 asks for at least 15 where the password
 * is the only authentication factor, and at least 8 where it is one of several: raise it with
 * `minLength: 15` for single-factor deployments.
 */
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;

/** Rules a new password must meet before it is hashed. */
export interface PasswordPolicy {
  /** Minimum length in characters (Unicode code points), at least 1. Default {@link DEFAULT_MIN_PASSWORD_LENGTH}. */
  minLength?: number;
}

/** @throws {InvalidOptionsError} `INVALID_OPTIONS` for a minimum length that is not a positive integer. */
export function resolvePasswordPolicy(policy: PasswordPolicy = {}): Required<PasswordPolicy> {
  const minLength = policy.minLength ?? DEFAULT_MIN_PASSWORD_LENGTH;
  if (!Number.isInteger(minLength) || minLength < 1) {
    throw new InvalidOptionsError(`Password minLength must be a positive integer, got ${String(minLength)}`);
  }
  return { minLength };
}

/**
 * Checks a password chosen by a user against the policy and the hasher's input limit. Login never
 * calls this: existing passwords keep working when the policy is tightened.
 *
 * @throws {PasswordInvalidError} `PASSWORD_INVALID` if it is not a string.
 * @throws {PasswordTooShortError} `PASSWORD_TOO_SHORT` if empty or under `minLength` characters.
 * @throws {PasswordTooLongError} `PASSWORD_TOO_LONG` if over `maxBytes` UTF-8 bytes (never truncated).
 */
export function assertAcceptablePassword(
  password: unknown,
  policy: Required<PasswordPolicy>,
  maxBytes: number | undefined,
): asserts password is string {
  if (typeof password !== "string") throw new PasswordInvalidError();
  if ([...password].length < policy.minLength) throw new PasswordTooShortError(policy.minLength);
  if (maxBytes !== undefined && utf8ByteLength(password) > maxBytes) throw new PasswordTooLongError(maxBytes);
}
