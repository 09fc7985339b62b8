import type { StoredUser, UserStore } from "@latchkey/core";
import { type Kysely, sql } from "kysely";
import { type StoreOperation, toStoreError } from "./errors.js";
import { resolveTableName, type UsersDatabase } from "./schema.js";

/** Options of {@link createKyselyUserStore}. */
export interface KyselyUserStoreOptions {
  /**
   * The users table; must be the one {@link migrateToLatest} was run with. Default `"users"`,
   * the original app's. A plain identifier; the schema comes from the connection's `search_path`.
   */
  tableName?: string;
}

interface UserRow {
  id: number;
  username: string;
  password: string;
}

function toStoredUser(row: UserRow): StoredUser {
  return { id: String(row.id), username: row.username, passwordHash: row.password };
}

/**
 * A {@link UserStore} on PostgreSQL through Kysely: server Postgres (see
 * {@link createPostgresDatabase}), embedded PGlite (see {@link createPgliteDatabase}) or any other
 * Kysely instance on a Postgres dialect. Run {@link migrateToLatest} first.
 *
 * Every operation is one SQL statement. The unique index on `username` decides races, so two
 * concurrent sign-ups of one name give one row and one `USERNAME_TAKEN`. Usernames are compared
 * exactly as stored (core normalizes them first); `id` is the `SERIAL` integer as a string.
 *
 * No driver error escapes: `create` throws {@link UsernameTakenError} (`USERNAME_TAKEN`) on a taken
 * username, and every operation throws {@link StoreUnavailableError} (`STORE_UNAVAILABLE`) when the
 * database fails, with the driver's error as `cause`. The store holds no connection of its own, so
 * it works again as soon as the database does.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a table name that is not a plain identifier.
 */
export function createKyselyUserStore(
  // biome-ignore lint/suspicious/noExplicitAny: accepts a Kysely instance typed for any app schema.
  db: Kysely<any>,
  options: KyselyUserStoreOptions = {},
): UserStore {
  // The table's name is only known at run time; typing it as the default name lets every query be
  // checked against UsersTable while the SQL uses the real name.
  const table = resolveTableName(options.tableName) as "users";
  const users = db as Kysely<UsersDatabase>;

  async function run<T>(operation: StoreOperation, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  return {
    findByUsername(username) {
      return run("findByUsername", async () => {
        const row = await users
          .selectFrom(table)
          .select(["id", "username", "password"])
          .where("username", "=", username)
          .executeTakeFirst();
        return row ? toStoredUser(row) : null;
      });
    },

    create({ username, passwordHash }) {
      return run("create", async () => {
        const row = await users
          .insertInto(table)
          .values({ username, password: passwordHash })
          .returning(["id", "username", "password"])
          .executeTakeFirstOrThrow();
        return toStoredUser(row);
      });
    },

    updatePasswordHash(username, passwordHash, updateOptions = {}) {
      return run("updatePasswordHash", async () => {
        const { ifCurrentHash } = updateOptions;
        let query = users
          .updateTable(table)
          .set({ password: passwordHash, updated_at: sql<Date>`now()` })
          .where("username", "=", username);
        // The compare-and-swap lives in the same UPDATE, so nothing can change the hash in between.
        if (ifCurrentHash !== undefined) query = query.where("password", "=", ifCurrentHash);
        const result = await query.executeTakeFirst();
        return result.numUpdatedRows > 0n;
      });
    },

    deleteByUsername(username) {
      return run("deleteByUsername", async () => {
        const result = await users.deleteFrom(table).where("username", "=", username).executeTakeFirst();
        return result.numDeletedRows > 0n;
      });
    },
  };
}
