import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import { StoreUnavailableError, type UserStore } from "@latchkey/core";
import { type FaultProxy, startFaultProxy } from "@latchkey/core/testing";
import { Kysely, sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/migrate.js";
import { PGliteDialect } from "../src/pglite-dialect.js";
import { createKyselyUserStore } from "../src/store.js";
import { type AnyKysely, adminQuery, postgresBackend, type TestDatabase, testDatabaseUrl } from "./support/backends.js";

const HASH = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";
const OTHER_HASH = "$2y$05$KG//e9dEwJfUYumfatFIXu4Oi3QXwDe61mNiLXZ841HhXjKwewIU2";

/** Awaits a store call that must fail with STORE_UNAVAILABLE, and returns the error. */
async function unavailable(promise: Promise<unknown>): Promise<StoreUnavailableError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const typed = error as StoreUnavailableError;
    expect(typed.code).toBe("STORE_UNAVAILABLE");
    expect(typed.cause).toBeDefined();
    expect(typed.message).not.toContain(HASH);
    expect(typed.message).not.toContain(OTHER_HASH);
    return typed;
  }
  throw new Error("expected STORE_UNAVAILABLE");
}

async function waitFor(condition: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

if (testDatabaseUrl) {
  const url = testDatabaseUrl;
  const postgres = postgresBackend(url);

  describe("PostgreSQL store when the database fails (through a fault-injecting proxy)", () => {
    let database: TestDatabase;
    let proxy: FaultProxy;
    let proxyUrl: string;
    const pools: AnyKysely[] = [];

    /** A pool through the proxy, tagged so its server backends can be found in pg_stat_activity. */
    function faultyPool(options: Parameters<typeof postgres.openPool>[1] = {}) {
      const applicationName = `latchkey-fault-${randomBytes(4).toString("hex")}`;
      const db = postgres.openPool(database.schema, { url: proxyUrl, applicationName, ...options });
      pools.push(db);
      return { db, store: createKyselyUserStore(db), applicationName };
    }

    async function backendsOf(applicationName: string) {
      const { rows } = await adminQuery(
        url,
        "select pid, wait_event_type from pg_stat_activity where application_name = $1",
        [applicationName],
      );
      return rows as { pid: number; wait_event_type: string | null }[];
    }

    /** Holds an exclusive lock on the users table until the returned function is called. */
    async function lockUsersTable(): Promise<() => Promise<void>> {
      const trx = await database.db.startTransaction().execute();
      await sql`lock table users in access exclusive mode`.execute(trx);
      return () => trx.rollback().execute();
    }

    async function rowsNamed(username: string) {
      const { rows } = await sql<{ password: string }>`select password from users where username = ${username}`.execute(
        database.db,
      );
      return rows;
    }

    beforeAll(async () => {
      database = await postgres.open();
      await migrateToLatest(database.db);
      const target = new URL(url);
      proxy = await startFaultProxy(target.hostname, Number(target.port || 5432));
      const viaProxy = new URL(url);
      viaProxy.hostname = "127.0.0.1";
      viaProxy.port = String(proxy.port);
      proxyUrl = viaProxy.toString();
    });

    afterEach(async () => {
      await proxy.restore();
    });

    afterAll(async () => {
      // The proxy first: once it has cut every connection, nothing can hold up the cleanup.
      await proxy?.close();
      await database?.close();
      await Promise.all(pools.map((pool) => pool.destroy().catch(() => {})));
    });

    it("answers STORE_UNAVAILABLE while connections are refused, and works again once they are not", async () => {
      const { store } = faultyPool();
      await proxy.cut();
      const error = await unavailable(store.create({ username: "refused", passwordHash: HASH }));
      expect(error.message).toBe("User store is unavailable (create): cannot reach the database (ECONNREFUSED)");
      expect((error.cause as { code?: string }).code).toBe("ECONNREFUSED");
      await unavailable(store.findByUsername("refused"));

      await proxy.restore();
      await store.create({ username: "refused", passwordHash: HASH });
      expect(await rowsNamed("refused")).toEqual([{ password: HASH }]);
    });

    it("answers STORE_UNAVAILABLE when the connection is cut mid-query, and writes nothing half-way", async () => {
      const { store, applicationName } = faultyPool({ statementTimeoutMs: 1_000 });
      const unlock = await lockUsersTable();
      try {
        // Handled from the start: it may fail before the test gets round to awaiting it.
        const pending = unavailable(store.create({ username: "cut", passwordHash: HASH }));
        await waitFor(
          async () => (await backendsOf(applicationName)).some((backend) => backend.wait_event_type === "Lock"),
          "the insert waits for the lock",
        );
        await proxy.cut();
        const error = await pending;
        expect(error.message).toMatch(/^User store is unavailable \(create\): the connection to the database was lost/);
        // The orphaned statement cannot outlive the statement timeout; then its backend exits.
        await waitFor(async () => (await backendsOf(applicationName)).length === 0, "the orphaned backend exits");
      } finally {
        await unlock();
      }
      expect(await rowsNamed("cut")).toEqual([]);

      await proxy.restore();
      await store.create({ username: "cut", passwordHash: HASH });
      expect(await rowsNamed("cut")).toEqual([{ password: HASH }]);
    });

    it("answers STORE_UNAVAILABLE when the server ends the session mid-query, keeps the old hash, and recovers at once", async () => {
      // One connection only, so the query right after the failure would get the dead one if it
      // went back to the pool.
      const { store, applicationName } = faultyPool({ poolSize: 1 });
      await store.create({ username: "terminated", passwordHash: HASH });
      proxy.delayServerClose(300);
      // A row lock: it holds up the UPDATE but not the SELECT that follows the failure.
      const trx = await database.db.startTransaction().execute();
      try {
        await sql`select 1 from users where username = 'terminated' for update`.execute(trx);
        const pending = unavailable(store.updatePasswordHash("terminated", OTHER_HASH, { ifCurrentHash: HASH }));
        await waitFor(
          async () => (await backendsOf(applicationName)).some((backend) => backend.wait_event_type === "Lock"),
          "the update waits for the row lock",
        );
        for (const backend of await backendsOf(applicationName)) {
          await adminQuery(url, "select pg_terminate_backend($1)", [backend.pid]);
        }
        const error = await pending;
        expect(error.message).toBe(
          "User store is unavailable (updatePasswordHash): the server terminated the connection (SQLSTATE 57P01)",
        );
        expect((await store.findByUsername("terminated"))?.passwordHash).toBe(HASH);
      } finally {
        await trx.rollback().execute();
      }
      expect(await store.updatePasswordHash("terminated", OTHER_HASH, { ifCurrentHash: HASH })).toBe(true);
    });

    it("answers STORE_UNAVAILABLE when a statement runs past the statement timeout, and writes nothing", async () => {
      const { store } = faultyPool({ statementTimeoutMs: 200 });
      const unlock = await lockUsersTable();
      try {
        const error = await unavailable(store.create({ username: "slow", passwordHash: HASH }));
        expect(error.message).toBe(
          "User store is unavailable (create): the statement timed out or was cancelled (SQLSTATE 57014)",
        );
      } finally {
        await unlock();
      }
      expect(await rowsNamed("slow")).toEqual([]);
      await store.create({ username: "slow", passwordHash: HASH });
    });

    it("answers STORE_UNAVAILABLE when the pool is exhausted past the connection timeout", async () => {
      const { db, store } = faultyPool({ poolSize: 1, connectionTimeoutMs: 200 });
      let release = () => {};
      const held = db.connection().execute(async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      });
      try {
        await sleep(50);
        const error = await unavailable(store.findByUsername("anyone"));
        expect(error.message).toBe(
          "User store is unavailable (findByUsername): no connection became free in time (pool exhausted or database slow)",
        );
      } finally {
        release();
        await held;
      }
      expect(await store.findByUsername("anyone")).toBeNull();
    });

    it("answers STORE_UNAVAILABLE when the server accepts but never answers, within the connection timeout", async () => {
      const { store } = faultyPool({ connectionTimeoutMs: 300 });
      proxy.stall();
      const started = Date.now();
      const error = await unavailable(store.findByUsername("anyone"));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(error.message).toBe("User store is unavailable (findByUsername): connecting to the database timed out");

      await proxy.restore();
      expect(await store.findByUsername("anyone")).toBeNull();
    });

    it("survives connections breaking outside a query, reports each once, and reconnects", async () => {
      const reported: Error[] = [];
      const { db, store } = faultyPool({ onConnectionError: (error) => reported.push(error) });
      const silent = faultyPool();
      // Two connections at once, so that the pool then holds two.
      const hold = (pool: AnyKysely) =>
        pool.connection().execute(async (connection) => {
          await sql`select 1`.execute(connection);
          await sleep(50);
        });
      await Promise.all([hold(db), hold(db), hold(silent.db)]);
      // One connection checked out between a transaction's statements, the other idle in the pool.
      const trx = await db.startTransaction().execute();
      await sql`select 1`.execute(trx);

      await proxy.cut();
      await waitFor(() => reported.length >= 2, "both broken connections are reported");
      await sleep(100);
      expect(reported).toHaveLength(2);
      await expect(trx.rollback().execute()).rejects.toThrow();

      await proxy.restore();
      expect(await store.findByUsername("anyone")).toBeNull();
      expect(await silent.store.findByUsername("anyone")).toBeNull();
    });
  });
}

describe("PGlite store when the database is closed", () => {
  let pglite: PGlite;
  let db: AnyKysely;
  let store: UserStore;

  beforeAll(async () => {
    pglite = new PGlite();
    db = new Kysely({ dialect: new PGliteDialect({ pglite }) });
    await migrateToLatest(db);
    store = createKyselyUserStore(db);
    await store.create({ username: "JohnDoe", passwordHash: HASH });
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it("answers STORE_UNAVAILABLE once PGlite has been closed under it", async () => {
    await pglite.close();
    const error = await unavailable(store.updatePasswordHash("JohnDoe", OTHER_HASH, { ifCurrentHash: HASH }));
    expect(error.message).toBe("User store is unavailable (updatePasswordHash): the embedded database is closed");
    expect((error.cause as Error).message).toBe("PGlite is closed");
    await unavailable(store.findByUsername("JohnDoe"));
    await unavailable(store.create({ username: "other", passwordHash: HASH }));
    await unavailable(store.deleteByUsername("JohnDoe"));
  });

  it("answers STORE_UNAVAILABLE once the Kysely instance has been destroyed", async () => {
    await db.destroy();
    const error = await unavailable(store.findByUsername("JohnDoe"));
    expect(error.message).toBe("User store is unavailable (findByUsername): the database handle has been closed");
  });
});
