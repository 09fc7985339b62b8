import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
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
