import {
  AbortedTransactionError,
  CompiledQuery,
  createQueryId,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  IdentifierNode,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  RawNode,
  type TransactionSettings,
} from "kysely";

/**
 * The part of a PGlite instance (`@electric-sql/pglite`) the dialect uses. Structural, so an
 * instance from any compatible PGlite version or copy fits.
 */
export interface PGliteLike {
  /** Whether `close()` has run. */
  readonly closed: boolean;
  /** Settles once the database has started. */
  readonly waitReady: Promise<void>;
  /** Shuts the database down, flushing it to its data folder. */
  close(): Promise<void>;
  /** Runs one parameterized statement. */
  query<T>(
    query: string,
    params?: unknown[],
    options?: { rowMode?: "object" | "array" },
  ): Promise<{ rows: T[]; affectedRows?: number; command?: string }>;
}

/** Configuration of {@link PGliteDialect}. */
export interface PGliteDialectConfig {
  /**
   * The PGlite instance, or a function making it on first use (so that merely building a Kysely
   * instance does not start a database). Once a query has run, destroying the Kysely instance
   * closes it.
   */
  pglite: PGliteLike | (() => PGliteLike | Promise<PGliteLike>);
  /** Runs once on the connection before any other query, e.g. to `SET search_path`. */
  onCreateConnection?: (connection: DatabaseConnection) => Promise<void>;
}

/**
 * A Kysely dialect for PGlite, PostgreSQL compiled to WebAssembly and running in-process.
 * It reuses Kysely's PostgreSQL compiler, adapter and introspector; only the driver is PGlite's.
 *
 * PGlite is one database session. The driver therefore hands that session to one Kysely
 * connection at a time and queues the rest, so a transaction's statements never interleave with
 * anything else, and concurrent calls simply wait their turn.
 */
export class PGliteDialect implements Dialect {
  readonly #config: PGliteDialectConfig;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
  }

  /** The driver that owns the PGlite session; see the class notes. */
  createDriver(): Driver {
    return new PGliteDriver(this.#config);
  }

  /** Kysely's PostgreSQL compiler: PGlite speaks PostgreSQL's SQL. */
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  /** Kysely's PostgreSQL adapter, whose migration lock (an advisory lock) PGlite supports. */
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  /** Kysely's PostgreSQL introspector: PGlite has PostgreSQL's catalogs. */
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's Dialect signature.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

/** A FIFO lock: `lock()` resolves when the caller holds it; `unlock()` hands it to the next waiter. */
class Mutex {
  #locked = false;
  readonly #waiters: (() => void)[] = [];

  async lock(): Promise<void> {
    if (!this.#locked) {
      this.#locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  unlock(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#locked = false;
  }
}

class PGliteConnection implements DatabaseConnection {
  readonly #pglite: PGliteLike;

  constructor(pglite: PGliteLike) {
    this.#pglite = pglite;
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { command, affectedRows, rows } = await this.command<R>(compiledQuery.sql, compiledQuery.parameters);
    const changesRows = command === "INSERT" || command === "UPDATE" || command === "DELETE" || command === "MERGE";
    return changesRows ? { rows, numAffectedRows: BigInt(affectedRows ?? 0) } : { rows };
  }

  command<R>(sql: string, parameters: readonly unknown[] = []) {
    return this.#pglite.query<R>(sql, [...parameters], { rowMode: "object" });
  }

  // biome-ignore lint/correctness/useYield: the interface requires a generator; PGlite cannot stream.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("PGlite does not support streaming queries");
  }
}

function savepointCommand(command: string, savepointName: string): RawNode {
  // The identifier node makes Kysely quote the name, as its own drivers do.
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(savepointName)]);
}

class PGliteDriver implements Driver {
  readonly #config: PGliteDialectConfig;
  readonly #mutex = new Mutex();
  #pglite: PGliteLike | undefined;
  #connection: PGliteConnection | undefined;

  constructor(config: PGliteDialectConfig) {
    this.#config = config;
  }

  async init(): Promise<void> {
    const { pglite } = this.#config;
    const instance = typeof pglite === "function" ? await pglite() : pglite;
    this.#pglite = instance;
    if (instance.closed) throw new Error("PGlite is closed");
    await instance.waitReady;
    const connection = new PGliteConnection(instance);
    await this.#config.onCreateConnection?.(connection);
    this.#connection = connection;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.#mutex.lock();
    if (!this.#connection) {
      this.#mutex.unlock();
      throw new Error("driver has already been destroyed");
    }
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    this.#mutex.unlock();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = "begin";
    if (settings.isolationLevel || settings.accessMode) {
      statement = "start transaction";
      if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
      if (settings.accessMode) statement += ` ${settings.accessMode}`;
    }
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    // PostgreSQL answers COMMIT with ROLLBACK when an earlier statement failed inside the
    // transaction; reporting success then would silently lose the transaction's writes.
    const { command } = await (connection as PGliteConnection).command("commit");
    if (command === "ROLLBACK") throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler["compileQuery"],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand("savepoint", savepointName), createQueryId()));
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler["compileQuery"],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand("rollback to", savepointName), createQueryId()));
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler["compileQuery"],
  ): Promise<void> {
    await connection.executeQuery(compileQuery(savepointCommand("release", savepointName), createQueryId()));
  }

  async destroy(): Promise<void> {
    // Wait for the connection so that work already under way finishes before PGlite closes.
    await this.#mutex.lock();
    try {
      this.#connection = undefined;
      if (this.#pglite && !this.#pglite.closed) await this.#pglite.close();
    } finally {
      this.#mutex.unlock();
    }
  }
}
