import { createKyselyUserStore, createPgliteDatabase, migrateToLatest } from "@latchkey/kysely";
import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll } from "vitest";
import { describeLatchkeyRoutes } from "./fixtures/route-suite.js";

// Real PostgreSQL (PGlite, in memory), migrated as an app would. PGlite takes seconds to start
// (more on a busy machine), so the file starts one database and empties the table before each test.
// biome-ignore lint/suspicious/noExplicitAny: the store accepts a Kysely of any app schema.
let db: Kysely<any>;

beforeAll(async () => {
  db = createPgliteDatabase();
  await migrateToLatest(db);
}, 120_000);

afterAll(async () => {
  await db?.destroy();
});

describeLatchkeyRoutes("the Kysely store on PGlite", async () => {
  await sql`truncate table users restart identity`.execute(db);
  return { store: createKyselyUserStore(db) };
});
