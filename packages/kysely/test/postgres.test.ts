import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDatabase } from "../src/postgres.js";
import { createKyselyUserStore } from "../src/store.js";
import { postgresBackend, type TestDatabase, testDatabaseUrl } from "./support/backends.js";

describe("createPostgresDatabase options", () => {
  it.each(["mysql://user:hunter2-secret@host/db", "user:hunter2-secret@host/db", "not a url with hunter2-secret"])(
    "refuses %j with INVALID_OPTIONS and never repeats the URL's password",
    (url) => {
      let error: (Error & { code?: string }) | undefined;
      try {
        createPostgresDatabase(url);
      } catch (thrown) {
        error = thrown as Error & { code?: string };
      }
      expect(error?.code).toBe("INVALID_OPTIONS");
      expect(error?.message).not.toContain("hunter2-secret");
    },
  );

  it.each([
    { poolSize: 0 },
    { poolSize: 1.5 },
    { statementTimeoutMs: -1 },
    { connectionTimeoutMs: Number.NaN },
    { idleTimeoutMs: 0 },
    { schema: "public; drop schema public" },
  ])("refuses %j with INVALID_OPTIONS", (options) => {
    expect(() => createPostgresDatabase("postgresql://user:password@localhost:5432/dbname", options)).toThrow(
      expect.objectContaining({ code: "INVALID_OPTIONS" }),
    );
  });

  it("does not connect until the first query, so a server that is down cannot fail start-up", async () => {
    const db = createPostgresDatabase("postgresql://user:password@127.0.0.1:1/dbname");
    await db.destroy();
  });
});

if (testDatabaseUrl) {
  const url = testDatabaseUrl;
  const postgres = postgresBackend(url);

  describe("createPostgresDatabase on PostgreSQL", () => {
    let database: TestDatabase;

    beforeAll(async () => {
      database = await postgres.open();
    });

    afterAll(async () => {
      await database?.close();
    });

    async function settingsOf(options: Parameters<typeof postgres.openPool>[1] = {}) {
      const db = postgres.openPool(database.schema, options);
      try {
        const { rows } = await sql<{ statement_timeout: string; application_name: string; schema: string }>`
          select current_setting('statement_timeout') as statement_timeout,
                 current_setting('application_name') as application_name,
                 current_schema() as schema`.execute(db);
        return rows[0];
      } finally {
        await db.destroy();
      }
    }

    it("applies the defaults: 5 s statement timeout, application name latchkey", async () => {
      const db = createPostgresDatabase(url);
      try {
        const { rows } = await sql<{ statement_timeout: string; application_name: string }>`
          select current_setting('statement_timeout') as statement_timeout,
                 current_setting('application_name') as application_name`.execute(db);
        expect(rows).toEqual([{ statement_timeout: "5s", application_name: "latchkey" }]);
      } finally {
        await db.destroy();
      }
    });

    it("applies a chosen statement timeout, application name and schema", async () => {
      expect(await settingsOf({ statementTimeoutMs: 1234, applicationName: "my-app" })).toEqual({
        statement_timeout: "1234ms",
        application_name: "my-app",
        schema: database.schema,
      });
    });

    it("opens at most poolSize connections", async () => {
      const applicationName = `latchkey-pool-${database.schema}`;
      const db = postgres.openPool(database.schema, { poolSize: 3, applicationName });
      try {
        await Promise.all(Array.from({ length: 12 }, () => sql`select pg_sleep(0.05)`.execute(db)));
        const { rows } = await sql<{ count: number }>`
          select count(*)::int as count from pg_stat_activity where application_name = ${applicationName}`.execute(db);
        expect(rows[0]?.count).toBe(3);
      } finally {
        await db.destroy();
      }
    });

    it("accepts the original app's URL format, postgresql://user:password@host:port/dbname", async () => {
      const original = new URL(url);
      original.protocol = "postgresql:";
      original.password = "any-password-trust-auth-ignores";
      const db = createPostgresDatabase(original.toString(), { schema: database.schema });
      try {
        const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
        expect(rows).toEqual([{ one: 1 }]);
      } finally {
        await db.destroy();
      }
    });

    it("answers STORE_UNAVAILABLE after the Kysely instance has been destroyed", async () => {
      const db = postgres.openPool(database.schema);
      // Kysely only tears down a driver that has started, so use it once first.
      await sql`select 1`.execute(db);
      await db.destroy();
      await expect(createKyselyUserStore(db).findByUsername("anyone")).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
        message: "User store is unavailable (findByUsername): the database handle has been closed",
      });
    });
  });
}
