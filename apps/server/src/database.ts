import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { UserStore } from "@latchkey/core";
import { createKyselyUserStore, createPgliteDatabase, createPostgresDatabase, migrateToLatest } from "@latchkey/kysely";
import { type Kysely, sql } from "kysely";
import type { ServerConfig } from "./config.js";

/** The database the server runs on, opened and migrated. */
export interface Database {
  kind: "postgres" | "pglite";
  /** Where it is, for the start-up log: a URL without its password, or a folder. */
  location: string;
  store: UserStore;
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
 * Opens PostgreSQL through `pg` when DATABASE_URL is set, otherwise embedded PGlite persisted in
 * DATA_DIR, then runs the migrations (which keep an existing table of the original app intact).
 */
export async function openDatabase(config: ServerConfig): Promise<Database> {
  const kind = config.databaseUrl ? "postgres" : "pglite";
  // PGlite creates its own folder but not the parents; with SECRET_KEY set nothing else has made DATA_DIR.
  if (!config.databaseUrl) await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  // biome-ignore lint/suspicious/noExplicitAny: the store owns the table types; the server only pings.
  const db: Kysely<any> = config.databaseUrl
    ? createPostgresDatabase(config.databaseUrl)
    : await createPgliteDatabase({ dataDir: join(config.dataDir, "pglite") });
  try {
    await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    kind,
    location: config.databaseUrl ? withoutPassword(config.databaseUrl) : join(config.dataDir, "pglite"),
    store: createKyselyUserStore(db),
    async ping() {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}
