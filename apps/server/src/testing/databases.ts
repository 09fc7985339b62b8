import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** How a test server gets its database, and how the test cleans it up afterwards. */
export interface TestDatabase {
  name: "pglite" | "postgres";
  /** Environment for the server process (DATA_DIR always; DATABASE_URL for Postgres). */
  env: Record<string, string>;
  /** A `psql`-style URL for the test to look inside, Postgres only. */
  url?: string;
  dispose(): Promise<void>;
}

/** Embedded PGlite in a fresh temporary DATA_DIR. */
export async function pgliteDatabase(): Promise<TestDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), "latchkey-e2e-"));
  return {
    name: "pglite",
    env: { DATA_DIR: dataDir },
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
}

/**
 * A fresh database on the PostgreSQL server of TEST_DATABASE_URL, dropped afterwards, so runs never
 * collide. Fails loudly when the server does not answer.
 */
export async function postgresDatabase(testDatabaseUrl: string): Promise<TestDatabase> {
  const admin = new pg.Client({ connectionString: testDatabaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `TEST_DATABASE_URL is set but PostgreSQL does not answer there (${(error as Error).message}); ` +
        "start it or unset TEST_DATABASE_URL to run on PGlite only",
    );
  }
  const database = `latchkey_e2e_${randomBytes(6).toString("hex")}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${database}`;
  const dataDir = await mkdtemp(join(tmpdir(), "latchkey-e2e-"));
  return {
    name: "postgres",
    env: { DATABASE_URL: url.toString(), DATA_DIR: dataDir },
    url: url.toString(),
    async dispose() {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The databases this run covers: PGlite always, PostgreSQL when TEST_DATABASE_URL is set. */
export function testDatabases(): { name: string; open(): Promise<TestDatabase> }[] {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    console.warn("TEST_DATABASE_URL is not set: the server e2e suite runs on PGlite only");
  }
  return [
    { name: "pglite", open: pgliteDatabase },
    ...(url ? [{ name: "postgres", open: () => postgresDatabase(url) }] : []),
  ];
}
