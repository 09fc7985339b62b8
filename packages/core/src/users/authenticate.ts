import { randomBytes } from "node:crypto";
import type { PasswordHasher } from "../passwords/hasher.js";
import { getDefaultHasher } from "../passwords/password.js";
import type { StoredUser, UserStore } from "./store.js";
import { resolveUsernamePolicy, type UsernamePolicy } from "./usernames.js";

/** Options of {@link authenticateUser}. */
export interface AuthenticateOptions {
  /** Hasher that verifies and, when its `needsRehash` says so, upgrades stored hashes. Default: bcrypt, cost 12. */
  hasher?: PasswordHasher;
  /** Only `maxLength` matters here: a longer name cannot exist and is not looked up. */
  usernamePolicy?: UsernamePolicy;
  /**
   * Called when upgrading a weak hash after a successful login fails (the login still succeeds).
   * Receives the error only; never the password or hash.
   */
  onRehashError?: (error: unknown) => void;
}

// One dummy hash per hasher, made at its configured cost on first use, so that an unknown
// username costs the same hash comparison as a wrong password.
const dummyHashes = new WeakMap<PasswordHasher, Promise<string>>();

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

/**
 * Checks a username and password against the store (the original's `authenticate_user`).
 * Resolves to the user, or `null` for an unknown username or a wrong password.
 *
 * - Unknown usernames still cost one hash comparison, against a dummy hash of the configured
 *   cost, so response time does not reveal which usernames exist.
 * - The username is NFC-normalized before lookup, as it was before it was stored. Login applies
 *   no password policy, so tightening the policy never locks anyone out.
 * - After a successful login, a hash weaker than the hasher's settings (`needsRehash`) is
 *   replaced by a fresh one, as passlib's `verify_and_update` does. The replacement only applies
 *   if the stored hash has not changed meanwhile, and its failure does not fail the login.
 *
 * @throws {StoreUnavailableError} `STORE_UNAVAILABLE` if the store cannot answer the lookup.
 */
export async function authenticateUser(
  store: UserStore,
  username: string,
  password: string,
  options: AuthenticateOptions = {},
): Promise<StoredUser | null> {
  const hasher = options.hasher ?? getDefaultHasher();
  const { maxLength } = resolveUsernamePolicy(options.usernamePolicy);
  const name = typeof username === "string" ? username.normalize("NFC") : "";
  // NUL can be in no stored name (PostgreSQL text cannot hold it, and registration refuses
  // control characters), so such a name is an unknown user, not a store error.
  const mayExist = name.length > 0 && [...name].length <= maxLength && name.isWellFormed() && !name.includes("\u0000");

  const user = mayExist ? await store.findByUsername(name) : null;
  if (!user) {
    await hasher.verify(typeof password === "string" ? password : "", await dummyHashFor(hasher));
    return null;
  }
  if (!(await hasher.verify(password, user.passwordHash))) return null;

  if (hasher.needsRehash(user.passwordHash)) {
    try {
      const upgraded = await hasher.hash(password);
      await store.updatePasswordHash(user.username, upgraded, { ifCurrentHash: user.passwordHash });
      return { ...user, passwordHash: upgraded };
    } catch (error) {
      options.onRehashError?.(error);
    }
  }
  return user;
}
