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
}
