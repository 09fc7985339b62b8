import { UsernameKeyConflictError, UsernameTakenError } from "../errors.js";
import type { StoredUser, UserStore } from "./store.js";
import { findUsernameKeyConflicts } from "./username-keys.js";

/**
 * A {@link UserStore} in a `Map`, for tests, examples and prototypes. Data lives as long as the
 * process. Operations are atomic because they never await between reading and writing. It keeps
 * username keys, so every uniqueness policy works on it.
 */
export function createMemoryUserStore(): UserStore {
  const users = new Map<string, StoredUser>();
  // username → its uniqueness key, and key → username; both change together.
  const keyOfUser = new Map<string, string>();
  const userOfKey = new Map<string, string>();
  let scheme: string | undefined;
  let lastId = 0;

  const forget = (username: string) => {
    const key = keyOfUser.get(username);
    if (key !== undefined) userOfKey.delete(key);
    keyOfUser.delete(username);
  };

  return {
    async findByUsername(username) {
      return users.get(username) ?? null;
    },

    async findByUsernameKey(usernameKey) {
      const username = userOfKey.get(usernameKey);
      return username === undefined ? null : (users.get(username) ?? null);
    },

    async create({ username, passwordHash, usernameKey = username }) {
      if (users.has(username) || userOfKey.has(usernameKey)) throw new UsernameTakenError();
      lastId += 1;
      const user: StoredUser = Object.freeze({ id: String(lastId), username, passwordHash });
      users.set(username, user);
      keyOfUser.set(username, usernameKey);
      userOfKey.set(usernameKey, username);
      return user;
    },

    async updatePasswordHash(username, passwordHash, options = {}) {
      const user = users.get(username);
      if (!user) return false;
      if (options.ifCurrentHash !== undefined && user.passwordHash !== options.ifCurrentHash) return false;
      users.set(username, Object.freeze({ ...user, passwordHash }));
      return true;
    },

    async deleteByUsername(username) {
      forget(username);
      return users.delete(username);
    },

    async prepareUsernameKeys(wanted, keyOf) {
      if (scheme === wanted) return;
      const conflicts = findUsernameKeyConflicts(users.keys(), keyOf);
      if (conflicts.length > 0) throw new UsernameKeyConflictError(wanted, conflicts);
      keyOfUser.clear();
      userOfKey.clear();
      for (const username of users.keys()) {
        const key = keyOf(username);
        keyOfUser.set(username, key);
        userOfKey.set(key, username);
      }
      scheme = wanted;
    },
  };
}
