import type { PasswordHasher } from "../passwords/hasher.js";
import { getDefaultHasher } from "../passwords/password.js";
import { assertAcceptablePassword, type PasswordPolicy, resolvePasswordPolicy } from "../passwords/password-policy.js";
import type { StoredUser, UserStore } from "./store.js";
import { normalizeUsername, type UsernamePolicy } from "./usernames.js";

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
 * before any hashing, so a refused request costs no bcrypt work.
 *
 * @throws {UsernameInvalidError} `USERNAME_INVALID` for a username that breaks the policy.
 * @throws {PasswordTooShortError} `PASSWORD_TOO_SHORT` / {@link PasswordTooLongError} `PASSWORD_TOO_LONG` /
 *   {@link PasswordInvalidError} `PASSWORD_INVALID` for an unacceptable password.
 * @throws {UsernameTakenError} `USERNAME_TAKEN` if the store already has the username.
 * @throws {StoreUnavailableError} `STORE_UNAVAILABLE` if the store cannot answer.
 */
export async function registerUser(
  store: UserStore,
  username: string,
  password: string,
  options: RegisterUserOptions = {},
): Promise<StoredUser> {
  const hasher = options.hasher ?? getDefaultHasher();
  const name = normalizeUsername(username, options.usernamePolicy);
  assertAcceptablePassword(password, resolvePasswordPolicy(options.passwordPolicy), hasher.maxPasswordBytes);
  return store.create({ username: name, passwordHash: await hasher.hash(password) });
}
