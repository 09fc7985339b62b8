import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type pg from "pg";

// After these the session cannot be trusted: the server ended it (FATAL, e.g. 57P01 on shutdown or
// pg_terminate_backend), the connection failed (class 08), or the driver failed without any
// SQLSTATE (socket errors). An ordinary SQL error (ERROR severity) leaves the session usable.
function breaksSession(error: unknown): boolean {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (severity === "FATAL" || severity === "PANIC") return true;
  return typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith("08");
}

class DiscardingPoolClient implements PostgresPoolClient {
  readonly #client: pg.PoolClient;
  #broken = false;

  constructor(client: pg.PoolClient) {
    this.#client = client;
  }

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters: ReadonlyArray<unknown> = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== "string") {
      return this.#client.query(sqlOrCursor as unknown as pg.Submittable) as unknown as PostgresCursor<R>;
    }
    return (this.#client.query(sqlOrCursor, [...parameters]) as unknown as Promise<PostgresQueryResult<R>>).catch(
      (error: unknown) => {
        if (breaksSession(error)) this.#broken = true;
        throw error;
      },
    );
  }

  release(destroy?: boolean): void {
    const discard = destroy === true || this.#broken;
    this.#broken = false;
    this.#client.release(discard);
  }
}

/**
 * Wraps a node-postgres pool for Kysely so that a connection whose session broke during a query
 * is destroyed on release instead of going back to the pool. Kysely releases clients without
 * saying why, and the socket's close can arrive only after the next query took the dead client,
 * which would then fail as well.
 */
export function discardBrokenConnections(pool: pg.Pool): PostgresPool {
  // One wrapper per client, so that Kysely, which keys its connections by client, sees the same one.
  const wrappers = new WeakMap<pg.PoolClient, DiscardingPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = new DiscardingPoolClient(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}
