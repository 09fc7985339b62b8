import type { AccessTokenClaims } from "./tokens.js";

/**
 * Tokens that passed verification, by their exact text, until their `exp`: a token presented
 * again costs a map lookup instead of an HMAC and two JSON parses. Least recently used entries
 * go first once `maxEntries` is reached. Keyed by the token itself rather than a hash of it: a
 * hash costs about as much as the HMAC it saves, and a process holding the signing secret gains
 * nothing from hiding the tokens it has seen.
 *
 * Once full, it admits one new token in {@link ADMIT_ONE_IN}: when more distinct tokens are in use
 * than it holds (many users), inserting every one would only churn it (each entry evicted before
 * it is asked for again, and kept just long enough to cost the garbage collector); a token that is
 * used often still gets in within a few uses.
 */
export interface VerifiedTokenCache {
  /**
   * The claims of `token` if it was verified before, `now` (ms) is not past its expiry, and it was
   * verified under the same `keys` (any value compared by identity; a changed key set re-verifies).
   */
  get(token: string, now: number, keys?: unknown): AccessTokenClaims | undefined;
  /** Remembers verified `claims` of `token` until `expiresAt` (ms since the epoch). */
  set(token: string, claims: AccessTokenClaims, expiresAt: number, keys?: unknown): void;
  readonly size: number;
}

export const ADMIT_ONE_IN = 8;

export function createVerifiedTokenCache(maxEntries: number): VerifiedTokenCache {
  const entries = new Map<string, { claims: AccessTokenClaims; expiresAt: number; keys: unknown }>();
  let refusedSinceLastAdmission = 0;
  return {
    get(token, now, keys) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      entries.delete(token);
      if (now > entry.expiresAt || entry.keys !== keys) return undefined;
      // Re-inserting moves the entry to the end of the Map's order: most recently used.
      entries.set(token, entry);
      return entry.claims;
    },
    set(token, claims, expiresAt, keys) {
      const known = entries.delete(token);
      if (!known && entries.size >= maxEntries) {
        refusedSinceLastAdmission += 1;
        if (refusedSinceLastAdmission < ADMIT_ONE_IN) return;
        refusedSinceLastAdmission = 0;
        const oldest = entries.keys().next();
        if (!oldest.done) entries.delete(oldest.value);
      }
      entries.set(token, { claims, expiresAt, keys });
    },
    get size() {
      return entries.size;
    },
  };
}

/** Freezes verified claims all the way down, so no caller can change what the next one is given. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
