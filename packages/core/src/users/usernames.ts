import { InvalidOptionsError, UsernameInvalidError } from "../errors.js";
import { resolveUsernameUniqueness, type UsernameUniqueness } from "./username-keys.js";

/** Rules for usernames. Lengths count characters (Unicode code points) after NFC normalization. */
export interface UsernamePolicy {
  /** Default 1. */
  minLength?: number;
  /** Default 150. */
  maxLength?: number;
  /**
   * When two names are one account: `exact` (default, the original's), `case-insensitive` or
   * `confusable` (look-alikes too). See {@link UsernameUniqueness}; needs a store with username keys.
   */
  uniqueness?: UsernameUniqueness;
}

export const DEFAULT_USERNAME_MIN_LENGTH = 1;
export const DEFAULT_USERNAME_MAX_LENGTH = 150;

/**
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for lengths that are not 1 <= min <= max integers
 *   or an unknown uniqueness policy.
 */
export function resolveUsernamePolicy(policy: UsernamePolicy = {}): Required<UsernamePolicy> {
  const minLength = policy.minLength ?? DEFAULT_USERNAME_MIN_LENGTH;
  const maxLength = policy.maxLength ?? DEFAULT_USERNAME_MAX_LENGTH;
  if (!Number.isInteger(minLength) || !Number.isInteger(maxLength) || minLength < 1 || maxLength < minLength) {
    throw new InvalidOptionsError(
      `Username lengths must be integers with 1 <= minLength <= maxLength, got ${minLength}..${maxLength}`,
    );
  }
  return { minLength, maxLength, uniqueness: resolveUsernameUniqueness(policy.uniqueness) };
}

// Characters no username may contain: controls (Cc), invisible format characters such as
// zero-width spaces and bidi overrides (Cf, used to spoof names that look alike), lone
// surrogates (Cs, not encodable in UTF-8), line/paragraph separators (Zl, Zp), and every other
// code point Unicode says renders as nothing (Default_Ignorable_Code_Point: the combining grapheme
// joiner, variation selectors, Mongolian and Khmer invisible marks, the Hangul fillers) plus the
// braille blank U+2800, which renders as a blank cell. Each of them makes a second account that
// displays exactly like the first.
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;
const SURROUNDING_WHITESPACE = /^[\s\p{Z}]|[\s\p{Z}]$/u;
const SURROUNDING_WHITESPACE_RUNS = /^[\s\p{Z}]+|[\s\p{Z}]+$/gu;

/**
 * A login name as typed, made ready for lookup: white space around it removed (mobile keyboards
 * and autocomplete append a space) and NFC-normalized. A stored name never starts or ends with
 * white space ({@link normalizeUsername} refuses it), so trimming can only find the intended user.
 */
export function normalizeLoginName(username: string): string {
  return username.replace(SURROUNDING_WHITESPACE_RUNS, "").normalize("NFC");
}

/**
 * Normalizes a username for storage and lookup: Unicode NFC, so that the composed and decomposed
 * spellings of one name are one user. Case is kept: `JohnDoe` and `johndoe` are two users, as in
 * the original API.
 *
 * @throws {UsernameInvalidError} `USERNAME_INVALID` if it is not a string, is too short or too
 *   long, starts or ends with white space, or contains control or invisible characters
 *   (including every default-ignorable code point and the braille blank).
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
