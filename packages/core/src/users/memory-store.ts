import { UsernameTakenError } from "../errors.js";
import type { StoredUser, UserStore } from "./store.js";

/**
 * A {@link UserStore} in a `Map`, for tests, examples and prototypes. Data lives as long as the
 * process. Operations are atomic because they never await between reading and writing.
 */
export function createMemoryUserStore(): UserStore {
  const users = new Map<string, StoredUser>();
  let lastId = 0;

  return {
    async findByUsername(username) {
      return users.get(username) ?? null;
    },

    async create({ username, passwordHash }) {
      if (users.has(username)) throw new UsernameTakenError();
      lastId += 1;
      const user: StoredUser = Object.freeze({ id: String(lastId), username, passwordHash });
      users.set(username, user);
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
      return users.delete(username);
    },
  };
}
