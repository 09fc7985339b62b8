import { PGlite } from "@electric-sql/pglite";
import { CompiledQuery, Kysely } from "kysely";
import { PGliteDialect } from "./pglite-dialect.js";
import { resolveSchemaName, type UsersDatabase } from "./schema.js";

/** Options of {@link createPgliteDatabase}. */
export interface PgliteDatabaseOptions {
  /**
   * Folder holding the database files; created on first use and reopened on later starts.
   * Without it the database lives in memory and is gone when closed (handy for tests).
   */
  dataDir?: string;
  /**
   * Schema for unqualified table names (sets `search_path`). It must exist before migrations
   * run. Default: PostgreSQL's own (`public`).
   */
  schema?: string;
}

/**
 * A Kysely instance on embedded PGlite — real PostgreSQL compiled to WebAssembly, running inside
 * this process — so Latchkey needs no database server. Data persists in `dataDir`.
 *
 * PGlite starts on the first query, not here. It is a single session, so queries and transactions
 * take turns (see {@link PGliteDialect}); one process at a time may open a `dataDir`.
 * `db.destroy()` closes PGlite and flushes it to disk.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a schema name that is not a plain identifier.
 */
export function createPgliteDatabase<DB = UsersDatabase>(options: PgliteDatabaseOptions = {}): Kysely<DB> {
  const { dataDir } = options;
  const schema = options.schema === undefined ? undefined : resolveSchemaName(options.schema);
  return new Kysely<DB>({
    dialect: new PGliteDialect({
      pglite: () => (dataDir === undefined ? new PGlite() : new PGlite({ dataDir })),
      // The one session keeps this setting for its whole life, so it is set once.
      ...(schema !== undefined && {
        onCreateConnection: async (connection) => {
          await connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`));
        },
      }),
    }),
  });
}
