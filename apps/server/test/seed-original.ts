import { join } from "node:path";
import { createPgliteDatabase, createPostgresDatabase } from "@latchkey/kysely";
import { sql } from "kysely";
import type { TestDatabase } from "../src/testing/databases.js";

/** A hash the original FastAPI app stored (passlib, cost 12) for the password `johnspassword`. */
export const ORIGINAL_HASH = "$2b$12$DBt5ZYBrP0PyipdqAu3Uq.0VyGRuupETGXrOEOpX7ZgpNgIAscGUe";

/** Creates the `users` table exactly as the original's SQLAlchemy model did, with one user in it. */
export async function seedOriginalDatabase(database: TestDatabase, username: string): Promise<void> {
  const db =
    database.name === "postgres"
      ? createPostgresDatabase(database.url as string)
      : createPgliteDatabase({ dataDir: join(database.env.DATA_DIR as string, "pglite") });
  try {
    await sql`CREATE TABLE users (id SERIAL NOT NULL, username VARCHAR, password VARCHAR, PRIMARY KEY (id))`.execute(
      db,
    );
    await sql`CREATE UNIQUE INDEX ix_users_username ON users (username)`.execute(db);
    await sql`CREATE INDEX ix_users_id ON users (id)`.execute(db);
    await sql`INSERT INTO users (username, password) VALUES (${username}, ${ORIGINAL_HASH})`.execute(db);
  } finally {
    await db.destroy();
  }
}
