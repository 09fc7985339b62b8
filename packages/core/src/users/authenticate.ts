import { randomBytes } from "node:crypto";
import type { PasswordHasher } from "../passwords/hasher.js";
import { passwordCandidates } from "../passwords/normalize.js";
import { getDefaultHasher } from "../passwords/password.js";
import { createFailureTimer, type FailureTimer, hashClass } from "./failure-timing.js";
import type { StoredUser, UserStore } from "./store.js";
import { assertStoreSupportsUniqueness, usernameKey } from "./username-keys.js";
import { normalizeLoginName, resolveUsernamePolicy, type UsernamePolicy } from "./usernames.js";

/** Options of {@link authenticateUser}. */
export interface AuthenticateOptions {
  /** Hasher that verifies and, when its `needsRehash` says so, upgrades stored hashes. Default: bcrypt, cost 12. */
  hasher?: PasswordHasher;
  /** `maxLength` (a longer name cannot exist and is not looked up) and `uniqueness` (how the user is found). */
  usernamePolicy?: UsernamePolicy;
  /**
   * Hold every failed login back until the slowest verification seen has passed (see
   * {@link FailureTimer}), so its time tells nothing about the stored hash. Default `true`.
   */
  equalizeFailureTime?: boolean;
  /**
   * Called when upgrading a weak hash after a successful login fails (the login still succeeds).
   * Receives the error only; never the password or hash.
   */
  onRehashError?: (error: unknown) => void;
}

// Per hasher: a dummy hash made at its configured cost on first use, so that an unknown username
// costs the same hash comparison as a wrong password, and the timer that pads failures.
const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();
const failureTimers = new WeakMap<PasswordHasher, FailureTimer>();
const DUMMY_CLASS = "dummy";

function dummyHashFor(hasher: PasswordHasher): Promise<string> {
  let dummy = dummyHashes.get(hasher);
  if (!dummy) {
    dummy = hasher.hash(randomBytes(16).toString("base64url"));
    dummyHashes.set(hasher, dummy);
    // A failed attempt must not be cached forever.
    dummy.catch(() => dummyHashes.delete(hasher));
  }
  return dummy;
}

function failureTimerFor(hasher: PasswordHasher): FailureTimer {
  let timer = failureTimers.get(hasher);
  if (!timer) {
    timer = createFailureTimer();
    failureTimers.set(hasher, timer);
  }
  return timer;
}

/**
 * Tries each candidate form of the password against `hash` (see `passwordCandidates`), timing
 * every comparison for the failure timer. Resolves to the candidate that matched, or `undefined`.
 */
async function matchingCandidate(
  hasher: PasswordHasher,
  timer: FailureTimer,
  candidates: readonly string[],
  hash: string,
  cls: string,
): Promise<string | undefined> {
  for (const candidate of candidates) {
    const started = performance.now();
    const matched = await hasher.verify(candidate, hash);
    timer.record(cls, performance.now() - started);
    if (matched) return candidate;
  }
  return undefined;
}

/**
 * Checks a username and password against the store (the original's `authenticate_user`).
 * Resolves to the user, or `null` for an unknown username or a wrong password.
 *
 * - Unknown usernames still cost one hash comparison, against a dummy hash of the configured
 *   cost, and every failure is held back to the slowest verification seen (`equalizeFailureTime`),
 *   so response time reveals neither which usernames exist nor how their hashes are stored.
 * - The login name is trimmed of surrounding white space (no stored name has any) and
 *   NFC-normalized; under `case-insensitive` or `confusable` uniqueness the user is found by the
 *   name's key, so `johndoe` logs in as `JohnDoe`. Login applies no password policy, so
 *   tightening the policy never locks anyone out.
 * - The password is compared in NFKC form, then as typed when that differs (hashes made before
 *   normalization). After a successful login, a hash weaker than the hasher's settings
 *   (`needsRehash`) or made from the unnormalized password is replaced by a fresh one of the NFKC
 *   form, as passlib's `verify_and_update` does. The replacement only applies if the stored hash
 *   has not changed meanwhile, and its failure does not fail the login.
 *
 * @throws {StoreUnavailableError} `STORE_UNAVAILABLE` if the store cannot answer the lookup.
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a uniqueness policy the store cannot serve.
 */
export async function authenticateUser(
  store: UserStore,
  username: string,
  password: string,
  options: AuthenticateOptions = {},
): Promise<StoredUser | null> {
  const hasher = options.hasher ?? getDefaultHasher();
  const { maxLength, uniqueness } = resolveUsernamePolicy(options.usernamePolicy);
  assertStoreSupportsUniqueness(store, uniqueness);
  const timer = failureTimerFor(hasher);
  const started = performance.now();
  const name = typeof username === "string" ? normalizeLoginName(username) : "";
  const candidates = passwordCandidates(typeof password === "string" ? password : "");
  // NUL can be in no stored name (PostgreSQL text cannot hold it, and registration refuses
  // control characters), so such a name is an unknown user, not a store error.
  const mayExist = name.length > 0 && [...name].length <= maxLength && name.isWellFormed() && !name.includes("\u0000");

  let user: StoredUser | null = null;
  if (mayExist) {
    user =
      uniqueness === "exact"
        ? await store.findByUsername(name)
        : await (store.findByUsernameKey as (key: string) => Promise<StoredUser | null>)(usernameKey(name, uniqueness));
  }
  const matched = user
    ? await matchingCandidate(hasher, timer, candidates, user.passwordHash, hashClass(user.passwordHash))
    : await matchingCandidate(hasher, timer, candidates, await dummyHashFor(hasher), DUMMY_CLASS);
  if (!user || matched === undefined) {
    if (options.equalizeFailureTime !== false) await timer.padFailure(started, candidates.length);
    return null;
  }

  const [normalized] = candidates;
  if (matched !== normalized || hasher.needsRehash(user.passwordHash)) {
    try {
      const upgraded = await hasher.hash(normalized);
      await store.updatePasswordHash(user.username, upgraded, { ifCurrentHash: user.passwordHash });
      return { ...user, passwordHash: upgraded };
    } catch (error) {
      options.onRehashError?.(error);
    }
  }
  return user;
}
