import { type Kysely, Migrator, sql } from "kysely";
import { MigrationFailedError } from "./errors.js";
import { createLatchkeyMigrations } from "./migrations/index.js";
import { migrationTableNames, resolveTableName } from "./schema.js";

/** Options of {@link migrateToLatest}. */
export interface MigrateOptions {
  /** The users table to create or adopt. Default `"users"`; give the store the same name. */
  tableName?: string;
}

function reasonOf(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : String(error);
}

/**
 * Brings the users table up to date; apps call it once at start-up, before serving. Creates the
 * original app's `users` table when missing, or keeps an existing one and all its rows and only
 * adds what Latchkey needs (see the README).
 *
 * Safe to run again and from several processes at once: Kysely's `Migrator` takes a PostgreSQL
 * advisory lock and runs each migration in a transaction, and every step is idempotent. Its
 * bookkeeping lives in `latchkey_<table>_migration` (and `_lock`) in the current schema, apart
 * from any migrations of the app's own.
 *
 * Resolves to the names of the migrations it applied (empty when already up to date).
 *
 * @throws {MigrationFailedError} `MIGRATION_FAILED` when a migration fails or the database cannot
 *   be reached; nothing of the failed migration is kept.
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a table name that is not a plain identifier.
 */
// biome-ignore lint/suspicious/noExplicitAny: accepts a Kysely instance typed for any app schema.
export async function migrateToLatest(db: Kysely<any>, options: MigrateOptions = {}): Promise<string[]> {
  const tableName = resolveTableName(options.tableName);

  // Kysely looks for its bookkeeping tables in every schema unless told which one, so another
  // schema's copy would hide a missing one here.
  let schema: string | null | undefined;
  try {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    schema = rows[0]?.schema;
  } catch (error) {
    throw new MigrationFailedError(`Latchkey migrations could not start: ${reasonOf(error)}`, undefined, {
      cause: error,
    });
  }
  if (!schema) {
    throw new MigrationFailedError(
      "Latchkey migrations have no schema to work in: no schema on the connection's search_path exists; create it first",
      undefined,
    );
  }

  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => createLatchkeyMigrations(tableName) },
    migrationTableSchema: schema,
    ...migrationTableNames(tableName),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((result) => result.status === "Error")?.migrationName;
    const which = failed ? `migration "${failed}"` : "migrations";
    throw new MigrationFailedError(`Latchkey ${which} on table "${tableName}" failed: ${reasonOf(error)}`, failed, {
      cause: error,
    });
  }
  return results.filter((result) => result.status === "Success").map((result) => result.migrationName);
}
