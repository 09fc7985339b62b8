import { describe } from "vitest";

/** The PostgreSQL server of TEST_DATABASE_URL, when one is named. */
export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;

const NEEDS_POSTGRES = "TEST_DATABASE_URL is not set: these tests need a real PostgreSQL server and did not run";

/**
 * `describe` for suites that need a real PostgreSQL server. Without TEST_DATABASE_URL they are
 * reported as skipped, with the reason in their name and on stderr, never left out silently
 * (vitest fails a file that registers no test at all).
 */
export function describeOnPostgres(file: string): (name: string, suite: () => void) => void {
  if (!testDatabaseUrl) console.warn(`[latchkey/server] ${NEEDS_POSTGRES}: ${file}`);
  return (name, suite) =>
    describe.skipIf(!testDatabaseUrl)(testDatabaseUrl ? name : `${name} (${NEEDS_POSTGRES})`, suite);
}
