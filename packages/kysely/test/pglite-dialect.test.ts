import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import { isAbortedTransactionError, Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/migrate.js";
import { createPgliteDatabase } from "../src/pglite.js";
import { PGliteDialect } from "../src/pglite-dialect.js";
import { createKyselyUserStore } from "../src/store.js";
import type { AnyKysely } from "./support/backends.js";

const HASH = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";

describe("PGliteDialect", () => {
  let pglite: PGlite;
  let db: AnyKysely;
  let tables = 0;

  /** A fresh `(id serial, label text)` table for one test. */
  async function freshTable(): Promise<string> {
    tables += 1;
    const name = `log_${tables}`;
    await sql`create table ${sql.table(name)} (id serial primary key, label text not null)`.execute(db);
    return name;
  }

  async function labels(table: string): Promise<string[]> {
    const { rows } = await sql<{ label: string }>`select label from ${sql.table(table)} order by id`.execute(db);
    return rows.map((row) => row.label);
  }

  beforeAll(async () => {
    pglite = new PGlite();
    db = new Kysely({ dialect: new PGliteDialect({ pglite }) });
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it("runs concurrent transactions one after the other, never interleaved", async () => {
    const table = await freshTable();
    const transaction = (name: string) =>
      db.transaction().execute(async (trx) => {
        for (const step of [1, 2, 3]) {
          await sql`insert into ${sql.table(table)} (label) values (${`${name}${step}`})`.execute(trx);
          await sleep(5);
        }
      });
    await Promise.all([transaction("a"), transaction("b"), transaction("c")]);
    expect(await labels(table)).toEqual(["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]);
  });

  it("keeps a query issued during a transaction out of it, so a rollback cannot take it along", async () => {
    const table = await freshTable();
    const rolledBack = db.transaction().execute(async (trx) => {
      await sql`insert into ${sql.table(table)} (label) values ('inside')`.execute(trx);
      await sleep(20);
      throw new Error("roll back");
    });
    await sleep(5);
    const outside = sql`insert into ${sql.table(table)} (label) values ('outside')`.execute(db);
    await expect(rolledBack).rejects.toThrow("roll back");
    await outside;
    expect(await labels(table)).toEqual(["outside"]);
  });

  it("rolls back a failed transaction, after which the session works", async () => {
    const table = await freshTable();
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`insert into ${sql.table(table)} (label) values ('lost')`.execute(trx);
        await sql`select 1 / 0`.execute(trx);
      }),
    ).rejects.toMatchObject({ code: "22012" });
    expect(await labels(table)).toEqual([]);
    // Were the session still inside the aborted transaction, this would fail with 25P02.
    await sql`insert into ${sql.table(table)} (label) values ('after')`.execute(db);
    expect(await labels(table)).toEqual(["after"]);
  });

  it("reports a commit that PostgreSQL turned into a rollback instead of pretending success", async () => {
    const table = await freshTable();
    const error = await db
      .transaction()
      .execute(async (trx) => {
        await sql`insert into ${sql.table(table)} (label) values ('lost')`.execute(trx);
        await sql`select 1 / 0`.execute(trx).catch(() => {});
      })
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(isAbortedTransactionError(error)).toBe(true);
    expect(await labels(table)).toEqual([]);
  });

  it("applies the transaction's access mode", async () => {
    const table = await freshTable();
    await expect(
      db
        .transaction()
        .setAccessMode("read only")
        .execute((trx) => sql`insert into ${sql.table(table)} (label) values ('x')`.execute(trx)),
    ).rejects.toMatchObject({ code: "25006" });
    const { rows } = await db
      .transaction()
      .setIsolationLevel("serializable")
      .execute((trx) => sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(trx));
    expect(rows).toEqual([{ level: "serializable" }]);
  });

  it("rolls back to a savepoint and keeps what came before it", async () => {
    const table = await freshTable();
    const trx = await db.startTransaction().execute();
    await sql`insert into ${sql.table(table)} (label) values ('kept')`.execute(trx);
    const afterKept = await trx.savepoint("after_kept").execute();
    await sql`insert into ${sql.table(table)} (label) values ('undone')`.execute(afterKept);
    const back = await afterKept.rollbackToSavepoint("after_kept").execute();
    const released = await back.releaseSavepoint("after_kept").execute();
    await released.commit().execute();
    expect(await labels(table)).toEqual(["kept"]);
  });

  it("reports affected rows so Kysely's update and delete results are right", async () => {
    const table = await freshTable();
    await sql`insert into ${sql.table(table)} (label) values ('a'), ('b'), ('c')`.execute(db);
    const updated = await db.updateTable(table).set({ label: "z" }).where("label", "!=", "c").executeTakeFirst();
    expect(updated.numUpdatedRows).toBe(2n);
    const deleted = await db.deleteFrom(table).executeTakeFirst();
    expect(deleted.numDeletedRows).toBe(3n);
  });
});

describe("PGliteDialect lifecycle", () => {
  it("starts PGlite lazily, on the first query, and closes it with the Kysely instance", async () => {
    let made: PGlite | undefined;
    const db = new Kysely({
      dialect: new PGliteDialect({
        pglite: () => {
          made = new PGlite();
          return made;
        },
      }),
    });
    expect(made).toBeUndefined();
    await sql`select 1`.execute(db);
    expect(made?.closed).toBe(false);
    await db.destroy();
    expect(made?.closed).toBe(true);
  });

  it("lets work under way finish before closing", async () => {
    const pglite = new PGlite();
    const db = new Kysely({ dialect: new PGliteDialect({ pglite }) });
    await sql`select 1`.execute(db);
    const slow = sql<{ done: number }>`select 1 as done from pg_sleep(0.2)`.execute(db);
    await sleep(10);
    await db.destroy();
    expect((await slow).rows).toEqual([{ done: 1 }]);
    expect(pglite.closed).toBe(true);
  });
});

describe("createPgliteDatabase with a data folder", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = join(await mkdtemp(join(tmpdir(), "latchkey-pglite-")), "data");
  });

  afterAll(async () => {
    await rm(join(dataDir, ".."), { recursive: true, force: true });
  });

  it("keeps users across a close and a reopen", async () => {
    const first = createPgliteDatabase({ dataDir });
    await migrateToLatest(first);
    const created = await createKyselyUserStore(first).create({ username: "JohnDoe", passwordHash: HASH });
    await first.destroy();

    const second = createPgliteDatabase({ dataDir });
    try {
      expect(await migrateToLatest(second)).toEqual([]);
      expect(await createKyselyUserStore(second).findByUsername("JohnDoe")).toEqual(created);
    } finally {
      await second.destroy();
    }
  });
});
