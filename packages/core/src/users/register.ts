import type { PasswordHasher } from "../passwords/hasher.js";
import { normalizePassword } from "../passwords/normalize.js";
import { getDefaultHasher } from "../passwords/password.js";
import { assertAcceptablePassword, type PasswordPolicy, resolvePasswordPolicy } from "../passwords/password-policy.js";
import type { StoredUser, UserStore } from "./store.js";
import { assertStoreSupportsUniqueness, usernameKey } from "./username-keys.js";
import { normalizeUsername, resolveUsernamePolicy, type UsernamePolicy } from "./usernames.js";

/** Options of {@link registerUser}. */
export interface RegisterUserOptions {
  /** Default: bcrypt, cost 12. */
  hasher?: PasswordHasher;
  usernamePolicy?: UsernamePolicy;
  passwordPolicy?: PasswordPolicy;
}

/**
 * Creates a user (the original's `POST /users/`): normalizes and checks the username, checks
 * the password against the policy, hashes it and inserts the user. Both inputs are checked
 * before any hashing, so a refused request costs no bcrypt work. The password is hashed, and
 * checked, in NFKC form; the store gets the name's uniqueness key under the username policy.
 *
 * @throws {UsernameInvalidError} `USERNAME_INVALID` for a username that breaks the policy.
 * @throws {PasswordTooShortError} `PASSWORD_TOO_SHORT` / {@link PasswordTooLongError} `PASSWORD_TOO_LONG` /
 *   {@link PasswordInvalidError} `PASSWORD_INVALID` for an unacceptable password.
 * @throws {UsernameTakenError} `USERNAME_TAKEN` if the store already has the username (or, under
 *   `case-insensitive` or `confusable` uniqueness, one with the same key).
 * @throws {StoreUnavailableError} `STORE_UNAVAILABLE` if the store cannot answer.
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a uniqueness policy the store cannot serve.
 */
export async function registerUser(
  store: UserStore,
  username: string,
  password: string,
  options: RegisterUserOptions = {},
): Promise<StoredUser> {
  const hasher = options.hasher ?? getDefaultHasher();
  const policy = resolveUsernamePolicy(options.usernamePolicy);
  assertStoreSupportsUniqueness(store, policy.uniqueness);
  const name = normalizeUsername(username, policy);
  const normalized = typeof password === "string" ? normalizePassword(password) : password;
  assertAcceptablePassword(normalized, resolvePasswordPolicy(options.passwordPolicy), hasher.maxPasswordBytes);
  const key = usernameKey(name, policy.uniqueness);
  return store.create({ username: name, passwordHash: await hasher.hash(normalized), usernameKey: key });
}
