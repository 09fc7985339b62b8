import { InvalidOptionsError, UsernameInvalidError } from "../errors.js";

/** Rules for usernames. Lengths count characters (Unicode code points) after NFC normalization. */
export interface UsernamePolicy {
  /** Default 1. */
  minLength?: number;
  /** Default 150. */
  maxLength?: number;
}

export const DEFAULT_USERNAME_MIN_LENGTH = 1;
export const DEFAULT_USERNAME_MAX_LENGTH = 150;

/** @throws {InvalidOptionsError} `INVALID_OPTIONS` for lengths that are not 1 <= min <= max integers. */
export function resolveUsernamePolicy(policy: UsernamePolicy = {}): Required<UsernamePolicy> {
  const minLength = policy.minLength ?? DEFAULT_USERNAME_MIN_LENGTH;
  const maxLength = policy.maxLength ?? DEFAULT_USERNAME_MAX_LENGTH;
  if (!Number.isInteger(minLength) || !Number.isInteger(maxLength) || minLength < 1 || maxLength < minLength) {
    throw new InvalidOptionsError(
      `Username lengths must be integers with 1 <= minLength <= maxLength, got ${minLength}..${maxLength}`,
    );
  }
  return { minLength, maxLength };
}

// Characters no username may contain: controls (Cc), invisible format characters such as
// zero-width spaces and bidi overrides (Cf, used to spoof names that look alike), lone
// surrogates (Cs, not encodable in UTF-8), and line/paragraph separators (Zl, Zp).
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const SURROUNDING_WHITESPACE = /^[\s\p{Z}]|[\s\p{Z}]$/u;

/**
 * Normalizes a username for storage and lookup: Unicode NFC, so that the composed and decomposed
 * spellings of one name are one user. Case is kept: `JohnDoe` and `johndoe` are two users, as in
 * the original API.
 *
 * @throws {UsernameInvalidError} `USERNAME_INVALID` if it is not a string, is too short or too
 *   long, starts or ends with white space, or contains control or invisible characters.
 */
export function normalizeUsername(username: unknown, policy: UsernamePolicy = {}): string {
  const { minLength, maxLength } = resolveUsernamePolicy(policy);
  if (typeof username !== "string") throw new UsernameInvalidError("not_a_string", "Username must be a string");
  // Checked before normalizing so a huge input costs nothing; NFC never grows a string past 3x.
  if (username.length > maxLength * 4) {
    throw new UsernameInvalidError("too_long", `Username must be at most ${maxLength} characters long`);
  }
  if (FORBIDDEN_CHARACTER.test(username)) {
    throw new UsernameInvalidError("forbidden_character", "Username must not contain control or invisible characters");
  }
  const normalized = username.normalize("NFC");
  const length = [...normalized].length;
  if (length < minLength) {
    throw new UsernameInvalidError("too_short", `Username must be at least ${minLength} characters long`);
  }
  if (length > maxLength) {
    throw new UsernameInvalidError("too_long", `Username must be at most ${maxLength} characters long`);
  }
  if (SURROUNDING_WHITESPACE.test(normalized)) {
    throw new UsernameInvalidError("surrounding_whitespace", "Username must not start or end with white space");
  }
  return normalized;
}
