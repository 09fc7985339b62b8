import { readFileSync } from "node:fs";
import { authenticateUser } from "@latchkey/core";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateToLatest } from "../src/migrate.js";
import { createKyselyUserStore } from "../src/store.js";
import { type AnyKysely, backends, type TestDatabase } from "./support/backends.js";
import { columnsOf, usernameUniqueIndexes } from "./support/catalog.js";

interface PythonFixtures {
  hashes: { password: string; hash: string; made_with: string }[];
}

const fixtures = JSON.parse(
  readFileSync(new URL("../../core/test/fixtures/python-fixtures.json", import.meta.url), "utf8"),
) as PythonFixtures;
// The first fixture is what the original app stored: passlib's bcrypt at cost 12.
const original = fixtures.hashes[0] as PythonFixtures["hashes"][number];

/** The DDL the original app's SQLAlchemy model (`Base.metadata.create_all`) emits on PostgreSQL. */
async function createTableAsSqlAlchemyDoes(db: AnyKysely): Promise<void> {
  await sql`
    CREATE TABLE users (
      id SERIAL NOT NULL,
      username VARCHAR,
      password VARCHAR,
      PRIMARY KEY (id)
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX ix_users_username ON users (username)`.execute(db);
}

interface UserRow {
  id: number;
  username: string;
  password: string;
}

for (const backend of backends) {
  describe(`a database made by the original SQLAlchemy app, on ${backend.name}`, () => {
    let database: TestDatabase;
    let db: AnyKysely;
    let before: UserRow[];

    beforeAll(async () => {
      database = await backend.open();
      db = database.db;
      await createTableAsSqlAlchemyDoes(db);
      // A deleted user first, so JohnDoe's id is not simply 1 and a renumbering would show.
      await sql`INSERT INTO users (username, password) VALUES ('gone', 'x')`.execute(db);
      await sql`DELETE FROM users WHERE username = 'gone'`.execute(db);
      await sql`INSERT INTO users (username, password) VALUES ('JohnDoe', ${original.hash})`.execute(db);
      before = (await sql<UserRow>`SELECT id, username, password FROM users`.execute(db)).rows;
      await migrateToLatest(db);
    });

    afterAll(async () => {
      await database?.close();
    });

    it("keeps the row and its id intact", async () => {
      expect(before).toEqual([{ id: 2, username: "JohnDoe", password: original.hash }]);
      const { rows } = await sql<UserRow>`SELECT id, username, password FROM users`.execute(db);
      expect(rows).toEqual(before);
    });

    it("adds created_at, updated_at (filled in for the existing row) and a nullable username_key", async () => {
      const columns = await columnsOf(db, "users");
      expect(columns.map((column) => column.name)).toEqual([
        "id",
        "username",
        "password",
        "created_at",
        "updated_at",
        "username_key",
      ]);
      for (const name of ["created_at", "updated_at"]) {
        expect(columns.find((column) => column.name === name)).toMatchObject({
          type: "timestamp with time zone",
          nullable: false,
          default: "now()",
        });
      }
      const { rows } = await sql<{ created_at: Date }>`SELECT created_at FROM users`.execute(db);
      expect(rows[0]?.created_at).toBeInstanceOf(Date);
    });

    it("keeps SQLAlchemy's unique index as the only one on username", async () => {
      expect(await usernameUniqueIndexes(db, "users")).toEqual(["ix_users_username"]);
    });

    it("logs the original's user in with the original's password, and refuses a wrong one", async () => {
      const store = createKyselyUserStore(db);
      const user = await authenticateUser(store, "JohnDoe", original.password);
      expect(user).toEqual({ id: "2", username: "JohnDoe", passwordHash: original.hash });
      expect(await authenticateUser(store, "JohnDoe", "not johnspassword")).toBeNull();
    });

    it("refuses a second JohnDoe through SQLAlchemy's index", async () => {
      const store = createKyselyUserStore(db);
      await expect(store.create({ username: "JohnDoe", passwordHash: original.hash })).rejects.toMatchObject({
        code: "USERNAME_TAKEN",
      });
    });

    it("still accepts the original app's inserts, which name only username and password", async () => {
      await sql`INSERT INTO users (username, password) VALUES ('FromPython', ${original.hash})`.execute(db);
      const user = await createKyselyUserStore(db).findByUsername("FromPython");
      expect(Number(user?.id)).toBeGreaterThan(2);
      const { rows } = await sql<{ created_at: Date | null }>`
        SELECT created_at FROM users WHERE username = 'FromPython'`.execute(db);
      expect(rows[0]?.created_at).toBeInstanceOf(Date);
    });
  });
}
