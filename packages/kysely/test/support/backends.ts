import { randomBytes } from "node:crypto";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import { createPgliteDatabase } from "../../src/pglite.js";
import { createPostgresDatabase, type PostgresDatabaseOptions } from "../../src/postgres.js";

// biome-ignore lint/suspicious/noExplicitAny: tests use untyped Kysely instances on purpose.
export type AnyKysely = Kysely<any>;

/** A database opened for one test file: its own schema, dropped again by `close`. */
export interface TestDatabase {
  readonly db: AnyKysely;
  readonly schema: string;
  /** Drops the schema with everything in it and closes every connection. */
  close(): Promise<void>;
}

/** One kind of database the whole store suite runs against. */
export interface TestBackend {
  readonly name: "PGlite" | "PostgreSQL";
  open(): Promise<TestDatabase>;
}

/** A fresh schema name, random so that parallel runs (and files) never collide. */
export function randomSchemaName(): string {
  return `latchkey_test_${randomBytes(6).toString("hex")}`;
}

/** PGlite in memory; the schema makes it run the same code path as the server. */
export const pgliteBackend: TestBackend = {
  name: "PGlite",
  async open() {
    const schema = randomSchemaName();
    const db = createPgliteDatabase({ schema });
    await sql`create schema ${sql.id(schema)}`.execute(db);
    return {
      db,
      schema,
      async close() {
        await sql`drop schema ${sql.id(schema)} cascade`.execute(db);
        await db.destroy();
      },
    };
  },
};

/** Runs one statement on a connection of its own, outside any pool under test. */
export async function adminQuery(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** PostgreSQL at `url`, in a schema created for the file and dropped after it. */
export function postgresBackend(url: string): TestBackend & {
  openPool(schema: string, options?: PostgresDatabaseOptions & { url?: string }): AnyKysely;
} {
  return {
    name: "PostgreSQL",
    async open() {
      const schema = randomSchemaName();
      await adminQuery(url, `create schema "${schema}"`);
      const db = createPostgresDatabase(url, { schema });
      return {
        db,
        schema,
        async close() {
          await db.destroy();
          await adminQuery(url, `drop schema "${schema}" cascade`);
        },
      };
    },
    openPool(schema, options = {}) {
      const { url: poolUrl = url, ...rest } = options;
      return createPostgresDatabase(poolUrl, { schema, ...rest });
    },
  };
}

/** The PostgreSQL server the suite runs against, if `TEST_DATABASE_URL` names one. */
export const testDatabaseUrl: string | undefined = process.env.TEST_DATABASE_URL || undefined;

/**
 * Every backend the store suite runs against: PGlite always, PostgreSQL when
 * `TEST_DATABASE_URL` is set (the global setup has already checked it is reachable, and says so
 * once when it is not set).
 */
export const backends: TestBackend[] = testDatabaseUrl
  ? [pgliteBackend, postgresBackend(testDatabaseUrl)]
  : [pgliteBackend];
