import { InvalidOptionsError } from "@latchkey/core";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { discardBrokenConnections } from "./pg-pool.js";
import { resolveSchemaName, type UsersDatabase } from "./schema.js";

/** Options of {@link createPostgresDatabase}. */
export interface PostgresDatabaseOptions {
  /** Most connections the pool opens. Default 10. */
  poolSize?: number;
  /**
   * Server-side `statement_timeout` in milliseconds: the server cancels a longer statement, so a
   * stuck query (waiting on a lock, say) frees its connection. Default 5000.
   */
  statementTimeoutMs?: number;
  /**
   * How long to wait for a connection, in milliseconds: both for opening a new one and for a free
   * one when the pool is exhausted. Requests fail with `STORE_UNAVAILABLE` instead of queueing
   * forever. Default 5000.
   */
  connectionTimeoutMs?: number;
  /** How long an unused connection stays open, in milliseconds. Default 10000. */
  idleTimeoutMs?: number;
  /**
   * Schema for unqualified table names (sets `search_path` on each connection). It must exist
   * before migrations run. Default: the server's `search_path` (usually `public`).
   */
  schema?: string;
  /** `application_name` shown in `pg_stat_activity`. Default `"latchkey"`. */
  applicationName?: string;
  /**
   * Called when a connection fails while nobody is using it (the server restarted, the network
   * dropped). Such errors do not crash the process either way; the broken connection is discarded
   * and the next query opens a fresh one. Use it to log. Default: ignore.
   */
  onConnectionError?: (error: Error) => void;
}

/** Default {@link PostgresDatabaseOptions.poolSize}: node-postgres's own default. */
export const DEFAULT_POOL_SIZE = 10;
/**
 * Default {@link PostgresDatabaseOptions.statementTimeoutMs}. Every store statement is a
 * single-row lookup or write by unique key, normally well under a millisecond, so 5 s only cuts
 * off statements stuck behind a lock or a sick server.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
/** Default {@link PostgresDatabaseOptions.connectionTimeoutMs}: fail a request rather than hang it. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/** Default {@link PostgresDatabaseOptions.idleTimeoutMs}: node-postgres's own default. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    throw new InvalidOptionsError(`${name} must be a positive integer`);
  }
  return resolved;
}

function checkUrl(url: unknown): string {
  // The URL carries the password, so no message here repeats it.
  let parsed: URL | undefined;
  try {
    parsed = typeof url === "string" ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")) {
    throw new InvalidOptionsError(
      "The database URL must look like postgresql://user:password@host:5432/dbname (postgres:// works too)",
    );
  }
  return url as string;
}

/**
 * A Kysely instance on a PostgreSQL server through a node-postgres (`pg`) pool, from a URL in the
 * original app's format, `postgresql://user:password@host:5432/dbname` (libpq query parameters
 * such as `sslmode` work as in `pg`).
 *
 * Connections open lazily, so this never fails because the server is down; the first query does
 * (as `STORE_UNAVAILABLE` through the store). A connection that breaks while idle is dropped
 * without crashing the process, and later queries reconnect on their own. `db.destroy()` closes
 * the pool.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a malformed URL or an out-of-range option.
 */
export function createPostgresDatabase<DB = UsersDatabase>(
  url: string,
  options: PostgresDatabaseOptions = {},
): Kysely<DB> {
  const connectionString = checkUrl(url);
  const schema = options.schema === undefined ? undefined : resolveSchemaName(options.schema);
  const onConnectionError = options.onConnectionError ?? (() => {});
  const pool = new pg.Pool({
    connectionString,
    max: positiveInteger(options.poolSize, DEFAULT_POOL_SIZE, "poolSize"),
    statement_timeout: positiveInteger(options.statementTimeoutMs, DEFAULT_STATEMENT_TIMEOUT_MS, "statementTimeoutMs"),
    connectionTimeoutMillis: positiveInteger(
      options.connectionTimeoutMs,
      DEFAULT_CONNECTION_TIMEOUT_MS,
      "connectionTimeoutMs",
    ),
    idleTimeoutMillis: positiveInteger(options.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS, "idleTimeoutMs"),
    application_name: options.applicationName ?? "latchkey",
    // Without keep-alive a connection whose peer vanished (no FIN, no RST) looks healthy for hours.
    keepAlive: true,
    ...(schema !== undefined && { options: `-c search_path="${schema}"` }),
  });
  // An unhandled `error` event would crash the process. A client emits one on itself whenever its
  // connection breaks outside a query — idle in the pool, or checked out between a transaction's
  // statements — and the pool re-emits the idle case. The pool discards broken clients itself; the
  // error only needs reporting, once, which the client's own listener does.
  pool.on("connect", (client) => {
    // A dying connection emits twice (the socket error, then the unexpected end); report it once.
    let reported = false;
    client.on("error", (error) => {
      if (reported) return;
      reported = true;
      onConnectionError(error);
    });
  });
  pool.on("error", () => {});
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool: discardBrokenConnections(pool) }) });
}
