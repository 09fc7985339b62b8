/** A user as a {@link UserStore} holds it. */
export interface StoredUser {
  /** The store's identifier for the row, as a string (SQL stores convert their integer ids). */
  readonly id: string;
  /** The username, NFC-normalized by core before it reached the store. */
  readonly username: string;
  /** The password hash, e.g. a bcrypt `$2b$...` string. Never send it to a client. */
  readonly passwordHash: string;
}

/** What {@link UserStore.create} receives. */
export interface NewUser {
  readonly username: string;
  readonly passwordHash: string;
  /**
   * The username's uniqueness key under the username policy (core's `usernameKey`; absent means
   * the username itself, as under `exact`). A store that implements {@link UserStore.findByUsernameKey}
   * must refuse a second user with the same key, atomically, as it refuses a second username.
   */
  readonly usernameKey?: string;
}

/** Options of {@link UserStore.updatePasswordHash}. */
export interface UpdatePasswordHashOptions {
  /**
   * Only update if the stored hash is still this one (compare-and-swap). Rehash-on-login sets it,
   * so a rehash of the old password can never overwrite a password changed in the meantime.
   */
  ifCurrentHash?: string;
}

/**
 * Where users live. Core normalizes usernames before calling a store, so a store compares them
 * exactly (byte for byte, case-sensitive). Each method is shaped to be one SQL statement.
 *
 * The username uniqueness policies other than `exact` (`case-insensitive`, `confusable`) need the
 * two optional methods, which keep a uniqueness key beside each user: {@link UserStore.findByUsernameKey}
 * and {@link UserStore.prepareUsernameKeys}. A store without them serves `exact` only.
 *
 * Stores must throw {@link UsernameTakenError} (`USERNAME_TAKEN`) from `create` when the username
 * exists — decided by the store atomically (a unique index), never by a prior lookup — and
 * {@link StoreUnavailableError} (`STORE_UNAVAILABLE`) when the backing database cannot answer.
 */
export interface UserStore {
  /** The user with exactly this username, or `null`. */
  findByUsername(username: string): Promise<StoredUser | null>;
  /** Inserts a user and returns it. @throws {UsernameTakenError} `USERNAME_TAKEN` */
  create(user: NewUser): Promise<StoredUser>;
  /** Replaces a user's password hash. Resolves to `false` if no row was updated. */
  updatePasswordHash(username: string, passwordHash: string, options?: UpdatePasswordHashOptions): Promise<boolean>;
  /** Deletes a user. Resolves to `false` if there was none. */
  deleteByUsername(username: string): Promise<boolean>;
  /** The user whose uniqueness key ({@link NewUser.usernameKey}) is exactly `usernameKey`, or `null`. */
  findByUsernameKey?(usernameKey: string): Promise<StoredUser | null>;
  /**
   * Makes every stored user's uniqueness key the one `keyOf(username)` gives under the policy
   * named `scheme`, unless the store's keys were already made under `scheme`. Atomic: on failure
   * nothing changes. Called once at start-up; cheap when nothing needs doing.
   *
   * @throws {UsernameKeyConflictError} `USERNAME_KEY_CONFLICT` when two stored users would get the
   *   same key (nothing is changed then).
   * @throws {StoreUnavailableError} `STORE_UNAVAILABLE` if the store cannot answer.
   */
  prepareUsernameKeys?(scheme: string, keyOf: (username: string) => string): Promise<void>;
}
