import pg from "pg";

/**
 * Runs once before all test files. With `TEST_DATABASE_URL` set, the PostgreSQL half of the suite
 * must run, so an unreachable server fails the whole run here with a message saying why; without
 * it, one visible line says that half is not running.
 */
export default async function setup(): Promise<void> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    console.log(
      "[latchkey/kysely] Not running the PostgreSQL half of the suite: TEST_DATABASE_URL is unset (PGlite half runs).",
    );
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("select 1");
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new Error(
      `TEST_DATABASE_URL is set but the PostgreSQL server it names is unreachable (${reason}). ` +
        "Start the server, or unset TEST_DATABASE_URL to run the PGlite half only.",
      { cause: error },
    );
  } finally {
    await client.end().catch(() => {});
  }
  console.log("[latchkey/kysely] Running the suite against PGlite and the PostgreSQL at TEST_DATABASE_URL.");
}
