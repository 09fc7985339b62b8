import { describeKeyStoreContract } from "@latchkey/core/testing";
import { afterAll, beforeAll, describe } from "vitest";
import { createKyselyKeyStore } from "../src/key-store.js";
import { migrateToLatest } from "../src/migrate.js";
import { createPostgresRevocationListener } from "../src/revocation-listener.js";
import { type AnyKysely, backends, type TestDatabase } from "./support/backends.js";

for (const backend of backends) {
  describe(`Kysely key store on ${backend.name}`, () => {
    let database: TestDatabase;
    let db: AnyKysely;
    let tables = 0;
    beforeAll(async () => {
      database = await backend.open();
      db = database.db;
    });
    afterAll(async () => {
      await database?.close();
    });

    describeKeyStoreContract(backend.name, async () => {
      tables += 1;
      const tableName = `keys_${tables}`;
      await migrateToLatest(db, { tableName });
      // On PostgreSQL, changes are announced through LISTEN/NOTIFY on a connection of its own.
      const url = process.env.TEST_DATABASE_URL;
      const listener =
        backend.name === "PostgreSQL" && url !== undefined ? createPostgresRevocationListener(url) : undefined;
      return { store: createKyselyKeyStore(db, { tableName, ...(listener && { listener }) }) };
    });
  });
}
