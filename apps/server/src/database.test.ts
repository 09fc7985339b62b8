import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { usernameKey, usernameKeyScheme } from "@latchkey/core";
import { createPgliteDatabase } from "@latchkey/kysely";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

it("opens PGlite in a DATA_DIR that does not exist yet (SECRET_KEY set, so no key file made it)", async () => {
  root = await mkdtemp(join(tmpdir(), "latchkey-db-"));
  const config = loadConfig({ SECRET_KEY: "s".repeat(32), DATA_DIR: join(root, "not", "yet", "there") });
  const database = await openDatabase(config);
  try {
    await database.ping();
    expect(database.kind).toBe("pglite");
  } finally {
    await database.close();
  }
});

describe("the username uniqueness policy chosen at start", () => {
  const open = async (env: Record<string, string> = {}) => {
    const database = await openDatabase(loadConfig({ SECRET_KEY: "s".repeat(32), DATA_DIR: dataDir(), ...env }));
    await database.store.prepareUsernameKeys?.(usernameKeyScheme(database.usernameUniqueness), (name) =>
      usernameKey(name, database.usernameUniqueness),
    );
    return database;
  };
  const dataDir = () => join(root as string, "data");
  const seedOriginal = async (username: string) => {
    const db = createPgliteDatabase({ dataDir: join(dataDir(), "pglite") });
    await sql`create table users (id serial primary key, username varchar unique, password varchar)`.execute(db);
    await sql`insert into users (username, password) values (${username}, 'x')`.execute(db);
    await db.destroy();
  };

  it("is confusable for a new database, and stays what it was set up with", async () => {
    root = await mkdtemp(join(tmpdir(), "latchkey-db-"));
    const first = await open();
    expect(first.usernameUniqueness).toBe("confusable");
    await first.store.create({
      username: "JohnDoe",
      passwordHash: "x",
      usernameKey: usernameKey("JohnDoe", "confusable"),
    });
    await first.close();
    const again = await open();
    expect(again.usernameUniqueness).toBe("confusable");
    expect(again.usernameUniquenessReason).toMatch(/set up with/);
    await again.close();
  });

  it("is exact for a database taken over with users in it (the original's rule)", async () => {
    root = await mkdtemp(join(tmpdir(), "latchkey-db-"));
    await mkdir(dataDir(), { mode: 0o700 });
    await seedOriginal("JohnDoe");
    const database = await open();
    expect(database.usernameUniqueness).toBe("exact");
    await database.close();
  });

  it("is USERNAME_UNIQUENESS when set", async () => {
    root = await mkdtemp(join(tmpdir(), "latchkey-db-"));
    const database = await open({ USERNAME_UNIQUENESS: "case-insensitive" });
    expect(database.usernameUniqueness).toBe("case-insensitive");
    await database.close();
  });
});
