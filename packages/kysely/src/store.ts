import { findUsernameKeyConflicts, type StoredUser, UsernameKeyConflictError, type UserStore } from "@latchkey/core";
import { type Kysely, sql, type Transaction } from "kysely";
import { type StoreOperation, toStoreError } from "./errors.js";
import { resolveTableName, type SettingsTable, settingsTableName, type UsersDatabase } from "./schema.js";

/** The settings row that records which scheme the username keys were made under (read by `inspectUsernameKeys`). */
const KEY_SCHEME_SETTING = "username_key_scheme";

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
 * concurrent sign-ups of one name give one row and one `USERNAME_TAKEN`; the one on `username_key`
 * does the same for two names with one uniqueness key (`case-insensitive` and `confusable`
 * policies). Usernames are compared exactly as stored (core normalizes them first); `id` is the
 * `SERIAL` integer as a string.
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
  const settings = settingsTableName(table) as "settings";
  const users = db as Kysely<UsersDatabase & { settings: SettingsTable }>;

  async function run<T>(operation: StoreOperation, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }

  /** The user whose `column` is exactly `value`: both columns have a unique index. */
  function findOne(operation: StoreOperation, column: "username" | "username_key", value: string) {
    return run(operation, async () => {
      const row = await users
        .selectFrom(table)
        .select(["id", "username", "password"])
        .where(column, "=", value)
        .executeTakeFirst();
      return row ? toStoredUser(row) : null;
    });
  }

  return {
    findByUsername: (username) => findOne("findByUsername", "username", username),

    findByUsernameKey: (usernameKey) => findOne("findByUsernameKey", "username_key", usernameKey),

    create({ username, passwordHash, usernameKey = username }) {
      return run("create", async () => {
        const row = await users
          .insertInto(table)
          .values({ username, password: passwordHash, username_key: usernameKey })
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

    prepareUsernameKeys(scheme, keyOf) {
      return run("prepareUsernameKeys", () =>
        users.transaction().execute(async (trx) => {
          // Writers wait while keys are made (reads go on), so no sign-up slips in with a stale key;
          // a second instance starting at once waits here, then finds nothing to do.
          await sql`lock table ${sql.table(table)} in share row exclusive mode`.execute(trx);
          const recorded = await trx
            .selectFrom(settings)
            .select("value")
            .where("name", "=", KEY_SCHEME_SETTING)
            .executeTakeFirst();
          if (recorded?.value === scheme) {
            await fillMissingKeys(trx, scheme, keyOf);
            return;
          }
          const rows = await trx.selectFrom(table).select(["id", "username"]).execute();
          const conflicts = findUsernameKeyConflicts(
            rows.map((row) => row.username),
            keyOf,
          );
          if (conflicts.length > 0) throw new UsernameKeyConflictError(scheme, conflicts);
          await trx.updateTable(table).set({ username_key: null }).where("username_key", "is not", null).execute();
          await writeKeys(trx, rows, keyOf);
          await trx
            .insertInto(settings)
            .values({ name: KEY_SCHEME_SETTING, value: scheme })
            .onConflict((conflict) => conflict.column("name").doUpdateSet({ value: scheme }))
            .execute();
        }),
      );
    },
  };

  type Trx = Transaction<UsersDatabase & { settings: SettingsTable }>;

  /** Keys for rows another app inserted since the last start (their `username_key` is `NULL`). */
  async function fillMissingKeys(trx: Trx, scheme: string, keyOf: (username: string) => string): Promise<void> {
    const missing = await trx.selectFrom(table).select(["id", "username"]).where("username_key", "is", null).execute();
    if (missing.length === 0) return;
    const keys = missing.map((row) => keyOf(row.username));
    const taken = await trx
      .selectFrom(table)
      .select(["username", "username_key"])
      .where("username_key", "in", [...new Set(keys)])
      .execute();
    const conflicts = findUsernameKeyConflicts(
      [...taken.map((row) => row.username), ...missing.map((row) => row.username)],
      keyOf,
    );
    if (conflicts.length > 0) throw new UsernameKeyConflictError(scheme, conflicts);
    await writeKeys(trx, missing, keyOf);
  }

  /** Sets `username_key` of each row, a few thousand rows per statement. */
  async function writeKeys(
    trx: Trx,
    rows: readonly { id: number; username: string }[],
    keyOf: (username: string) => string,
  ): Promise<void> {
    for (let start = 0; start < rows.length; start += KEY_BATCH) {
      const batch = rows
        .slice(start, start + KEY_BATCH)
        .map((row) => ({ id: String(row.id), key: keyOf(row.username) }));
      await sql`
        update ${sql.table(table)} as u set username_key = v.key
        from json_to_recordset(${JSON.stringify(batch)}::json) as v(id text, key text)
        where u.id::text = v.id`.execute(trx);
    }
  }
}

/** Rows per key-writing statement. */
const KEY_BATCH = 2000;
