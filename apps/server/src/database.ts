import { join } from "node:path";
import type { KeyStore, SessionStore, UsernameUniqueness, UserStore } from "@latchkey/core";
import {
  createKyselyKeyStore,
  createKyselySessionStore,
  createKyselyUserStore,
  createPgliteDatabase,
  createPostgresDatabase,
  createPostgresRevocationListener,
  inspectUsernameKeys,
  migrateToLatest,
} from "@latchkey/kysely";
import { type Kysely, sql } from "kysely";
import type { ServerConfig } from "./config.js";
import { lockDataDir, prepareDataDir, tightenDataDir } from "./data-dir.js";

/** The database the server runs on, opened and migrated. */
export interface Database {
  kind: "postgres" | "pglite";
  /** Where it is, for the start-up log: a URL without its password, or a folder. */
  location: string;
  store: UserStore;
  /** Sessions (logins and their refresh tokens), in `latchkey_users_sessions`. */
  sessionStore: SessionStore;
  /** The keyring, in `latchkey_users_signing_keys`. */
  keyStore: KeyStore;
  /** Whether the users table had users when this process opened it (a taken-over or older install). */
  hadUsers: boolean;
  /** The username uniqueness policy to serve with, and why it was chosen (for the start-up log). */
  usernameUniqueness: UsernameUniqueness;
  usernameUniquenessReason: string;
  /** Resolves when the database answers a query; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}

/**
 * `USERNAME_UNIQUENESS` when set; else the policy the table's keys were made under; else, for a
 * table no policy was ever recorded for, `confusable` when it is empty (a new install: look-alike
 * names are refused from the first sign-up) and `exact` when it has users (the original app's, or
 * Latchkey 0.1's, whose names were only ever unique byte for byte and may not survive a stricter rule).
 */
async function chooseUniqueness(
  // biome-ignore lint/suspicious/noExplicitAny: the store owns the table types.
  db: Kysely<any>,
  configured: UsernameUniqueness | undefined,
): Promise<{ uniqueness: UsernameUniqueness; reason: string; empty: boolean }> {
  const { scheme, empty } = await inspectUsernameKeys(db);
  if (configured !== undefined) return { uniqueness: configured, reason: "USERNAME_UNIQUENESS", empty };
  const recorded = scheme?.split(":")[0] as UsernameUniqueness | undefined;
  if (recorded) return { uniqueness: recorded, reason: "the policy this database was set up with", empty };
  return empty
    ? { uniqueness: "confusable", reason: "a new database", empty }
    : { uniqueness: "exact", reason: "existing users with no recorded policy (the original app's rule)", empty };
}

/**
 * Opens PostgreSQL through `pg` when DATABASE_URL is set, otherwise embedded PGlite persisted in
 * DATA_DIR (which must be this user's alone), then runs the migrations (which keep an existing
 * table of the original app intact) and chooses the username uniqueness policy.
 */
export async function openDatabase(config: ServerConfig): Promise<Database> {
  const kind = config.databaseUrl ? "postgres" : "pglite";
  // PGlite creates its own folder but not the parents; with SECRET_KEY set nothing else has made DATA_DIR.
  if (!config.databaseUrl) await prepareDataDir(config.dataDir);
  // PGlite has no lock of its own: a second process on the same files would see and write another copy.
  const releaseLock = config.databaseUrl ? async () => {} : await lockDataDir(config.dataDir);
  // biome-ignore lint/suspicious/noExplicitAny: the store owns the table types; the server only pings.
  const db: Kysely<any> = config.databaseUrl
    ? createPostgresDatabase(config.databaseUrl)
    : await createPgliteDatabase({ dataDir: join(config.dataDir, "pglite") });
  let chosen: Awaited<ReturnType<typeof chooseUniqueness>>;
  try {
    await migrateToLatest(db);
    chosen = await chooseUniqueness(db, config.usernameUniqueness);
    if (!config.databaseUrl) await tightenDataDir(join(config.dataDir, "pglite"));
  } catch (error) {
    await db.destroy();
    await releaseLock();
    throw error;
  }
  const listener =
    config.listenDatabaseUrl === undefined ? undefined : createPostgresRevocationListener(config.listenDatabaseUrl);
  return {
    keyStore: createKyselyKeyStore(db, listener === undefined ? {} : { listener }),
    hadUsers: !chosen.empty,
    usernameUniqueness: chosen.uniqueness,
    usernameUniquenessReason: chosen.reason,
    kind,
    location: config.databaseUrl ? withoutPassword(config.databaseUrl) : join(config.dataDir, "pglite"),
    store: createKyselyUserStore(db),
    sessionStore: createKyselySessionStore(db, {
      // PGlite: one process holds the data, so this process's own cache is all there is.
      ...(listener !== undefined && { listener }),
    }),
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
      await releaseLock();
    },
  };
}
