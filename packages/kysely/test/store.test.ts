import { usernameKey, usernameKeyScheme } from "@latchkey/core";
import { describeUserStoreContract } from "@latchkey/core/testing";
import { type KyselyPlugin, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/migrate.js";
import { createKyselyUserStore } from "../src/store.js";
import { inspectUsernameKeys } from "../src/username-keys.js";
import { type AnyKysely, backends, type TestDatabase } from "./support/backends.js";

const HASH = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";
const OTHER_HASH = "$2y$05$KG//e9dEwJfUYumfatFIXu4Oi3QXwDe61mNiLXZ841HhXjKwewIU2";

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

for (const backend of backends) {
  describe(`Kysely user store on ${backend.name}`, () => {
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

    /** A migrated, empty table of its own for one test. */
    async function freshTable(): Promise<string> {
      tables += 1;
      const tableName = `users_${tables}`;
      await migrateToLatest(db, { tableName });
      return tableName;
    }

    describeUserStoreContract(backend.name, async () => {
      const tableName = await freshTable();
      return { store: createKyselyUserStore(db, { tableName }) };
    });

    describe("username keys", () => {
      const folded = (name: string) => usernameKey(name, "case-insensitive");
      const scheme = usernameKeyScheme("case-insensitive");

      it("records the scheme for inspectUsernameKeys, which also says whether the table is empty", async () => {
        const tableName = await freshTable();
        const store = createKyselyUserStore(db, { tableName });
        expect(await inspectUsernameKeys(db, { tableName })).toEqual({ scheme: undefined, empty: true });
        await store.create({ username: "JohnDoe", passwordHash: HASH });
        await store.prepareUsernameKeys?.(scheme, folded);
        expect(await inspectUsernameKeys(db, { tableName })).toEqual({ scheme, empty: false });
      });

      it("gives keys to rows another app inserted since, and refuses one that collides", async () => {
        const tableName = await freshTable();
        const store = createKyselyUserStore(db, { tableName });
        await store.create({ username: "JohnDoe", passwordHash: HASH, usernameKey: "johndoe" });
        await store.prepareUsernameKeys?.(scheme, folded);
        // The original app (or psql) writes rows without a key.
        await sql`insert into ${sql.table(tableName)} (username, password) values ('Alice', ${HASH})`.execute(db);
        await store.prepareUsernameKeys?.(scheme, folded);
        expect((await store.findByUsernameKey?.("alice"))?.username).toBe("Alice");
        await sql`insert into ${sql.table(tableName)} (username, password) values ('JOHNDOE', ${HASH})`.execute(db);
        await expect(store.prepareUsernameKeys?.(scheme, folded)).rejects.toMatchObject({
          code: "USERNAME_KEY_CONFLICT",
          conflicts: [["JohnDoe", "JOHNDOE"]],
        });
      });

      it("makes keys for many users in batches", async () => {
        const tableName = await freshTable();
        await sql`
          insert into ${sql.table(tableName)} (username, password)
          select 'User' || n, ${HASH} from generate_series(1, 4500) as n`.execute(db);
        const store = createKyselyUserStore(db, { tableName });
        await store.prepareUsernameKeys?.(scheme, folded);
        const { rows } = await sql<{ missing: number }>`
          select count(*)::int as missing from ${sql.table(tableName)}
          where username_key is distinct from lower(username)`.execute(db);
        expect(rows).toEqual([{ missing: 0 }]);
        expect((await store.findByUsernameKey?.("user4500"))?.username).toBe("User4500");
      });
    });

    it("hands out the SERIAL id as its decimal string", async () => {
      const tableName = await freshTable();
      const store = createKyselyUserStore(db, { tableName });
      const created = await store.create({ username: "JohnDoe", passwordHash: HASH });
      const { rows } = await sql<{ id: number }>`select id from ${sql.table(tableName)}`.execute(db);
      expect(created.id).toBe(String(rows[0]?.id));
      expect(created.id).toMatch(/^[1-9][0-9]*$/);
    });

    it("keeps the hash in the original's password column", async () => {
      const tableName = await freshTable();
      await createKyselyUserStore(db, { tableName }).create({ username: "JohnDoe", passwordHash: HASH });
      const { rows } = await sql<{ password: string }>`
        select password from ${sql.table(tableName)} where username = 'JohnDoe'`.execute(db);
      expect(rows).toEqual([{ password: HASH }]);
    });

    it("moves updated_at when the hash changes, and only then; created_at stays", async () => {
      const tableName = await freshTable();
      const store = createKyselyUserStore(db, { tableName });
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      const past = "2001-02-03T04:05:06Z";
      await sql`update ${sql.table(tableName)} set created_at = ${past}, updated_at = ${past}`.execute(db);
      const stamps = async () =>
        (
          await sql<{ created_at: Date; updated_at: Date }>`
            select created_at, updated_at from ${sql.table(tableName)}`.execute(db)
        ).rows[0];

      expect(await store.updatePasswordHash("JohnDoe", OTHER_HASH, { ifCurrentHash: "not the hash" })).toBe(false);
      expect((await stamps())?.updated_at.toISOString()).toBe("2001-02-03T04:05:06.000Z");

      expect(await store.updatePasswordHash("JohnDoe", OTHER_HASH)).toBe(true);
      const after = await stamps();
      expect(after?.created_at.toISOString()).toBe("2001-02-03T04:05:06.000Z");
      expect(after?.updated_at.getTime()).toBeGreaterThan(Date.now() - 60_000);
    });

    it("lets exactly one of two concurrent compare-and-swap updates win", async () => {
      const tableName = await freshTable();
      const store = createKyselyUserStore(db, { tableName });
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      const results = await Promise.all(
        ["first", "second", "third", "fourth"].map((hash) =>
          store.updatePasswordHash("JohnDoe", hash, { ifCurrentHash: HASH }),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = ["first", "second", "third", "fourth"][results.indexOf(true)];
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(winner);
    });

    it("runs every operation as exactly one SQL statement", async () => {
      const tableName = await freshTable();
      const statements: string[] = [];
      const recorder: KyselyPlugin = {
        transformQuery(args) {
          statements.push(args.node.kind);
          return args.node;
        },
        transformResult: async (args) => args.result,
      };
      const store = createKyselyUserStore(db.withPlugin(recorder), { tableName });
      const counts: number[] = [];
      const count = async (operation: () => Promise<unknown>) => {
        statements.length = 0;
        await operation();
        counts.push(statements.length);
      };
      await count(() => store.create({ username: "JohnDoe", passwordHash: HASH }));
      await count(() => store.findByUsername("JohnDoe"));
      await count(() => store.updatePasswordHash("JohnDoe", OTHER_HASH, { ifCurrentHash: HASH }));
      await count(() => store.deleteByUsername("JohnDoe"));
      expect(counts).toEqual([1, 1, 1, 1]);
    });

    it("keeps tables apart: the same username may exist once in each", async () => {
      const one = createKyselyUserStore(db, { tableName: await freshTable() });
      const two = createKyselyUserStore(db, { tableName: await freshTable() });
      await one.create({ username: "JohnDoe", passwordHash: HASH });
      await two.create({ username: "JohnDoe", passwordHash: OTHER_HASH });
      expect((await one.findByUsername("JohnDoe"))?.passwordHash).toBe(HASH);
      expect((await two.findByUsername("JohnDoe"))?.passwordHash).toBe(OTHER_HASH);
    });

    it("gives USERNAME_TAKEN the unique violation as cause and no hash in the message", async () => {
      const tableName = await freshTable();
      const store = createKyselyUserStore(db, { tableName });
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      const error = await rejection(store.create({ username: "JohnDoe", passwordHash: OTHER_HASH }));
      expect(error.code).toBe("USERNAME_TAKEN");
      expect((error.cause as { code?: string }).code).toBe("23505");
      expect(error.message).not.toContain(OTHER_HASH);
    });

    it("reports a clash on id (sequence behind copied rows) as STORE_UNAVAILABLE, not USERNAME_TAKEN", async () => {
      const tableName = await freshTable();
      await sql`insert into ${sql.table(tableName)} (id, username, password) values (1, 'copied', ${HASH})`.execute(db);
      const error = await rejection(
        createKyselyUserStore(db, { tableName }).create({ username: "JohnDoe", passwordHash: OTHER_HASH }),
      );
      expect(error.code).toBe("STORE_UNAVAILABLE");
      expect((error.cause as { code?: string }).code).toBe("23505");
    });

    it("answers STORE_UNAVAILABLE, without the hash, when the table is missing", async () => {
      const store = createKyselyUserStore(db, { tableName: "never_migrated" });
      for (const operation of [
        () => store.findByUsername("JohnDoe"),
        () => store.create({ username: "JohnDoe", passwordHash: HASH }),
        () => store.updatePasswordHash("JohnDoe", OTHER_HASH, { ifCurrentHash: HASH }),
        () => store.deleteByUsername("JohnDoe"),
      ]) {
        const error = await rejection(operation());
        expect(error.code).toBe("STORE_UNAVAILABLE");
        expect(error.message).toMatch(/SQLSTATE 42P01/);
        expect(error.message).not.toContain(HASH);
        expect(error.message).not.toContain(OTHER_HASH);
        expect((error.cause as { code?: string }).code).toBe("42P01");
      }
    });
  });
}

describe("createKyselyUserStore options", () => {
  it.each(["users; drop table users", "public.users", "", "1users", "x".repeat(40)])(
    "refuses the table name %j with INVALID_OPTIONS",
    (tableName) => {
      expect(() => createKyselyUserStore({} as AnyKysely, { tableName })).toThrow(
        expect.objectContaining({ code: "INVALID_OPTIONS" }),
      );
    },
  );

  it("accepts a plain identifier of up to 39 characters", () => {
    expect(() => createKyselyUserStore({} as AnyKysely, { tableName: `U${"x".repeat(38)}` })).not.toThrow();
  });
});
