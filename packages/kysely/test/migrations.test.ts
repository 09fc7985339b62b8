import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MigrationFailedError } from "../src/errors.js";
import { migrateToLatest } from "../src/migrate.js";
import { createPostgresDatabase } from "../src/postgres.js";
import { createKyselyUserStore } from "../src/store.js";
import { type AnyKysely, backends, postgresBackend, type TestDatabase, testDatabaseUrl } from "./support/backends.js";
import { columnsOf, tableExists, usernameUniqueIndexes } from "./support/catalog.js";

const HASH = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";
/** Every migration Latchkey ships, in order. */
const ALL_MIGRATIONS = ["0001_users", "0002_username_keys", "0003_sessions", "0004_revocations", "0005_signing_keys"];

async function migrationFailure(promise: Promise<unknown>): Promise<MigrationFailedError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationFailedError);
    return error as MigrationFailedError;
  }
  throw new Error("expected the migration to fail");
}

for (const backend of backends) {
  describe(`migrateToLatest on ${backend.name}`, () => {
    let database: TestDatabase;
    let db: AnyKysely;
    let tables = 0;
    const nextTableName = () => {
      tables += 1;
      return `t${tables}_users`;
    };

    beforeAll(async () => {
      database = await backend.open();
      db = database.db;
    });

    afterAll(async () => {
      await database?.close();
    });

    it("creates the original's table with Latchkey's timestamps when it is missing", async () => {
      const tableName = nextTableName();
      expect(await migrateToLatest(db, { tableName })).toEqual(ALL_MIGRATIONS);
      expect(await columnsOf(db, tableName)).toEqual([
        { name: "id", type: "integer", nullable: false, default: `nextval('${tableName}_id_seq'::regclass)` },
        { name: "username", type: "character varying", nullable: false, default: null },
        { name: "password", type: "character varying", nullable: false, default: null },
        { name: "created_at", type: "timestamp with time zone", nullable: false, default: "now()" },
        { name: "updated_at", type: "timestamp with time zone", nullable: false, default: "now()" },
        { name: "username_key", type: "character varying", nullable: true, default: null },
      ]);
      expect(await tableExists(db, `latchkey_${tableName}_settings`)).toBe(true);
      expect(await tableExists(db, `latchkey_${tableName}_sessions`)).toBe(true);
      expect(await usernameUniqueIndexes(db, tableName)).toEqual([`${tableName}_username_key`]);
    });

    it("creates its tables in the schema the database was opened with", async () => {
      const tableName = nextTableName();
      await migrateToLatest(db, { tableName });
      const { rows } = await sql<{ schema: string }>`
        select table_schema as schema from information_schema.tables where table_name = ${tableName}`.execute(db);
      expect(rows).toEqual([{ schema: database.schema }]);
    });

    it("keeps its bookkeeping in latchkey_<table>_migration tables of the current schema", async () => {
      const tableName = nextTableName();
      await migrateToLatest(db, { tableName });
      expect(await tableExists(db, `latchkey_${tableName}_migration`)).toBe(true);
      expect(await tableExists(db, `latchkey_${tableName}_migration_lock`)).toBe(true);
      const { rows } = await sql<{
        name: string;
      }>`select name from ${sql.table(`latchkey_${tableName}_migration`)}`.execute(db);
      expect(rows).toEqual(ALL_MIGRATIONS.map((name) => ({ name })));
    });

    it("is harmless when run twice: nothing applied, nothing duplicated, rows kept", async () => {
      const tableName = nextTableName();
      await migrateToLatest(db, { tableName });
      await createKyselyUserStore(db, { tableName }).create({ username: "JohnDoe", passwordHash: HASH });
      const columns = await columnsOf(db, tableName);

      expect(await migrateToLatest(db, { tableName })).toEqual([]);
      expect(await columnsOf(db, tableName)).toEqual(columns);
      expect(await usernameUniqueIndexes(db, tableName)).toHaveLength(1);
      expect((await createKyselyUserStore(db, { tableName }).findByUsername("JohnDoe"))?.passwordHash).toBe(HASH);
    });

    it("re-applies cleanly when its bookkeeping row was lost", async () => {
      const tableName = nextTableName();
      await migrateToLatest(db, { tableName });
      await sql`delete from ${sql.table(`latchkey_${tableName}_migration`)}`.execute(db);
      expect(await migrateToLatest(db, { tableName })).toEqual(ALL_MIGRATIONS);
      expect(await usernameUniqueIndexes(db, tableName)).toHaveLength(1);
    });

    it("applies each migration once when several runs start at the same moment", async () => {
      const tableName = nextTableName();
      const applied = await Promise.all(Array.from({ length: 5 }, () => migrateToLatest(db, { tableName })));
      expect(applied.flat()).toEqual(ALL_MIGRATIONS);
      expect(await usernameUniqueIndexes(db, tableName)).toHaveLength(1);
    });

    it("adds a unique index to an existing table whose username index is not unique", async () => {
      const tableName = nextTableName();
      await sql`create table ${sql.table(tableName)} (id serial primary key, username varchar, password varchar)`.execute(
        db,
      );
      await sql`create index ${sql.id(`ix_${tableName}_username`)} on ${sql.table(tableName)} (username)`.execute(db);
      await migrateToLatest(db, { tableName });
      expect(await usernameUniqueIndexes(db, tableName)).toEqual([`${tableName}_username_key`]);

      const store = createKyselyUserStore(db, { tableName });
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      await expect(store.create({ username: "JohnDoe", passwordHash: HASH })).rejects.toMatchObject({
        code: "USERNAME_TAKEN",
      });
    });

    it("fails with MIGRATION_FAILED, and changes nothing, when existing rows share a username", async () => {
      const tableName = nextTableName();
      await sql`create table ${sql.table(tableName)} (id serial primary key, username varchar, password varchar)`.execute(
        db,
      );
      await sql`insert into ${sql.table(tableName)} (username, password) values ('twin', 'a'), ('twin', 'b')`.execute(
        db,
      );

      const error = await migrationFailure(migrateToLatest(db, { tableName }));
      expect(error.code).toBe("MIGRATION_FAILED");
      expect(error.migrationName).toBe("0001_users");
      expect(error.message).toContain(`migration "0001_users" on table "${tableName}" failed`);
      expect(error.message).toContain("could not create unique index");
      expect(error.cause).toBeDefined();
      // The migration's transaction rolled back: no columns added, every row still there.
      expect((await columnsOf(db, tableName)).map((column) => column.name)).toEqual(["id", "username", "password"]);
      const { rows } = await sql`select * from ${sql.table(tableName)}`.execute(db);
      expect(rows).toHaveLength(2);
    });

    it("refuses to adopt a table of that name that is not a users table", async () => {
      const tableName = nextTableName();
      await sql`create table ${sql.table(tableName)} (id serial primary key, email varchar)`.execute(db);
      const error = await migrationFailure(migrateToLatest(db, { tableName }));
      expect(error.message).toContain(`table "${tableName}" exists but has no column username, password`);
    });

    it("keeps its bookkeeping apart from another schema's copy of the same tables", async () => {
      const tableName = nextTableName();
      const other = `${database.schema}_other`;
      await sql`create schema ${sql.id(other)}`.execute(db);
      try {
        await db.connection().execute(async (connection) => {
          await sql`set search_path to ${sql.id(other)}`.execute(connection);
          try {
            await migrateToLatest(connection, { tableName });
          } finally {
            await sql`set search_path to ${sql.id(database.schema)}`.execute(connection);
          }
        });
        expect(await migrateToLatest(db, { tableName })).toEqual(ALL_MIGRATIONS);
        expect(await tableExists(db, `latchkey_${tableName}_migration`)).toBe(true);
      } finally {
        await sql`drop schema ${sql.id(other)} cascade`.execute(db);
      }
    });

    it("fails with a clear message when no schema on the search_path exists", async () => {
      await db.connection().execute(async (connection) => {
        await sql`set search_path to latchkey_no_such_schema`.execute(connection);
        try {
          const error = await migrationFailure(migrateToLatest(connection, { tableName: nextTableName() }));
          expect(error.message).toContain("no schema on the connection's search_path exists");
        } finally {
          await sql`set search_path to ${sql.id(database.schema)}`.execute(connection);
        }
      });
    });
  });
}

if (testDatabaseUrl) {
  const postgres = postgresBackend(testDatabaseUrl);

  describe("migrateToLatest from several pools at once on PostgreSQL", () => {
    let database: TestDatabase;

    beforeAll(async () => {
      database = await postgres.open();
    });

    afterAll(async () => {
      await database?.close();
    });

    it("applies the migration once and lets every pool finish, even on a schema never migrated", async () => {
      const pools = Array.from({ length: 4 }, () => postgres.openPool(database.schema));
      try {
        const applied = await Promise.all(pools.map((pool) => migrateToLatest(pool)));
        expect(applied.flat()).toEqual(ALL_MIGRATIONS);
        expect(await usernameUniqueIndexes(database.db, "users")).toEqual(["users_username_key"]);
        const { rows } = await sql`select name from latchkey_users_migration`.execute(database.db);
        expect(rows).toHaveLength(ALL_MIGRATIONS.length);
      } finally {
        await Promise.all(pools.map((pool) => pool.destroy()));
      }
    });
  });
}

describe("migrateToLatest when the database cannot be reached", () => {
  it("fails with MIGRATION_FAILED and the connection error as cause", async () => {
    // Port 1 on the loopback interface: nothing listens there, so the connection is refused.
    const db = createPostgresDatabase("postgresql://latchkey:secret-password@127.0.0.1:1/latchkey", {
      connectionTimeoutMs: 1_000,
    });
    try {
      const error = await migrationFailure(migrateToLatest(db));
      expect(error.code).toBe("MIGRATION_FAILED");
      expect(error.message).toMatch(/^Latchkey migrations could not start: .*ECONNREFUSED/);
      expect(error.message).not.toContain("secret-password");
      expect((error.cause as { code?: string }).code).toBe("ECONNREFUSED");
    } finally {
      await db.destroy();
    }
  });

  it("refuses a table name that is not a plain identifier before touching the database", async () => {
    await expect(migrateToLatest({} as AnyKysely, { tableName: "users; drop table users" })).rejects.toMatchObject({
      code: "INVALID_OPTIONS",
    });
  });
});
