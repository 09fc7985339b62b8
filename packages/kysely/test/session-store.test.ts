import { createSessionService, type SessionStore, type UserStore } from "@latchkey/core";
import { describeSessionStoreContract } from "@latchkey/core/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/migrate.js";
import { createKyselySessionStore } from "../src/session-store.js";
import { createKyselyUserStore } from "../src/store.js";
import { type AnyKysely, backends, type TestDatabase } from "./support/backends.js";

const HASH = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";

for (const backend of backends) {
  describe(`Kysely session store on ${backend.name}`, () => {
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

    /** A migrated table of its own with one user, and a session store on it. */
    async function fresh(): Promise<{
      tableName: string;
      store: SessionStore;
      users: UserStore;
      user: { id: string; username: string; passwordHash: string };
    }> {
      tables += 1;
      const tableName = `sessions_${tables}`;
      await migrateToLatest(db, { tableName });
      const users = createKyselyUserStore(db, { tableName });
      const user = await users.create({ username: "JohnDoe", passwordHash: HASH });
      return { tableName, store: createKyselySessionStore(db, { tableName }), users, user };
    }

    describeSessionStoreContract(backend.name, async () => {
      const { store, users, user } = await fresh();
      return { store, users, user };
    });

    it("stores no refresh token, only the salt and generation it is derived from", async () => {
      const { tableName, store, user } = await fresh();
      const sessions = createSessionService({ store, secret: "k".repeat(32) });
      const { refreshToken } = await sessions.start({ userId: user.id, username: user.username });
      const { rows } = await sql<Record<string, unknown>>`
        select * from ${sql.table(`latchkey_${tableName}_sessions`)}`.execute(db);
      const dump = JSON.stringify(rows, (_key, value) =>
        value instanceof Uint8Array ? Buffer.from(value).toString("base64url") : value,
      );
      expect(dump).not.toContain(refreshToken.slice("lkr1.".length));
      expect(dump).not.toContain(refreshToken.slice("lkr1.".length + 24, "lkr1.".length + 40));
    });

    it("deletes a user's sessions with the user", async () => {
      const { store, user, tableName } = await fresh();
      const sessions = createSessionService({ store, secret: "k".repeat(32) });
      const { session } = await sessions.start({ userId: user.id, username: user.username });
      await createKyselyUserStore(db, { tableName }).deleteByUsername("JohnDoe");
      expect(await store.findSession(session.id)).toBeNull();
    });

    it("honours a revocation an operator writes in SQL with now()", async () => {
      const { tableName, store, user } = await fresh();
      const sessions = createSessionService({ store, secret: "k".repeat(32) });
      const { session, refreshToken } = await sessions.start({ userId: user.id, username: user.username });
      await sql`update ${sql.table(`latchkey_${tableName}_sessions`)} set revoked_at = now() where id = ${session.id}`.execute(
        db,
      );
      await expect(sessions.refresh(refreshToken)).rejects.toMatchObject({ code: "REFRESH_TOKEN_INVALID" });
      expect((await store.findSession(session.id))?.revokedAt).toBeInstanceOf(Date);
    });

    it("answers STORE_UNAVAILABLE, not a driver error, when the table is missing", async () => {
      const store = createKyselySessionStore(db, { tableName: "no_such_table" });
      await expect(store.findSession("00000000-0000-4000-8000-000000000000")).rejects.toMatchObject({
        code: "STORE_UNAVAILABLE",
      });
    });
  });
}
