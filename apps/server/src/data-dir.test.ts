import { access, chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCK_FILE, lockDataDir, prepareDataDir, readPrivateFile, tightenDataDir } from "./data-dir.js";
import { GENERATED_KEY_FILE, resolveSecretKey } from "./secret-key.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "latchkey-datadir-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// Making a file another user owns needs root (CI runs as root); elsewhere these say they did not run.
const isRoot = process.getuid?.() === 0;
const OTHER_UID = 65534; // nobody
const NEEDS_ROOT = "not running as root: cannot make files another user owns, so these did not run";
if (!isRoot) console.warn(`[latchkey/server] ${NEEDS_ROOT}: src/data-dir.test.ts`);

describe("prepareDataDir", () => {
  it("creates a missing DATA_DIR with mode 0700", async () => {
    const dir = join(root, "new", "data");
    await prepareDataDir(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
  });

  it.each([0o755, 0o750, 0o707, 0o777])(
    "refuses an existing DATA_DIR with mode %s, saying how to fix it",
    async (mode) => {
      const dir = join(root, "data");
      await mkdir(dir);
      await chmod(dir, mode);
      await expect(prepareDataDir(dir)).rejects.toThrow(/can be read or written by other users .*Run: chmod 700/);
    },
  );

  it("tightens the files PGlite wrote world-readable", async () => {
    const dir = join(root, "data");
    await mkdir(join(dir, "pglite", "pg_wal"), { recursive: true });
    await chmod(dir, 0o700);
    await chmod(join(dir, "pglite"), 0o755);
    await writeFile(join(dir, "pglite", "pg_wal", "000000010000000000000001"), "a bcrypt hash in here");
    await chmod(join(dir, "pglite", "pg_wal", "000000010000000000000001"), 0o666);
    await prepareDataDir(dir);
    await tightenDataDir(join(dir, "pglite"));
    for (const path of ["pglite", "pglite/pg_wal", "pglite/pg_wal/000000010000000000000001"]) {
      expect((await stat(join(dir, path))).mode & 0o077, path).toBe(0);
    }
  });

  describe.skipIf(!isRoot)(isRoot ? "owned by someone else" : `owned by someone else (${NEEDS_ROOT})`, () => {
    it("refuses a DATA_DIR another user owns", async () => {
      const dir = join(root, "data");
      await mkdir(dir, { mode: 0o700 });
      await chown(dir, OTHER_UID, OTHER_UID);
      await expect(prepareDataDir(dir)).rejects.toThrow(/belongs to another user \(uid 65534/);
    });

    it("refuses a key file another user planted, even with mode 0600", async () => {
      const dir = join(root, "data");
      await resolveSecretKey(undefined, dir);
      await chown(join(dir, GENERATED_KEY_FILE), OTHER_UID, OTHER_UID);
      await expect(resolveSecretKey(undefined, dir)).rejects.toThrow(/belongs to another user .*planted/);
    });
  });
});

describe("readPrivateFile", () => {
  it("refuses to follow a symbolic link to a key", async () => {
    const dir = join(root, "data");
    await mkdir(dir, { mode: 0o700 });
    const chosen = join(root, "attackers-key");
    await writeFile(chosen, `${"a".repeat(64)}\n`, { mode: 0o600 });
    await symlink(chosen, join(dir, GENERATED_KEY_FILE));
    await expect(resolveSecretKey(undefined, dir)).rejects.toThrow(/symbolic link/);
    await expect(readPrivateFile(join(dir, GENERATED_KEY_FILE))).rejects.toThrow(/symbolic link/);
  });

  it("reads a file of its own with mode 0600", async () => {
    const file = join(root, "key");
    await writeFile(file, "secret\n", { mode: 0o600 });
    expect(await readPrivateFile(file)).toBe("secret\n");
  });
});

describe("lockDataDir", () => {
  it("lets one process hold the embedded database, refuses a live holder and takes over a dead one's", async () => {
    const release = await lockDataDir(root);
    await release();
    await expect(access(join(root, LOCK_FILE))).rejects.toThrow();
    // pid 1 is always alive: another process holds it.
    await writeFile(join(root, LOCK_FILE), "1\n");
    await expect(lockDataDir(root)).rejects.toThrow(/open in another process \(pid 1\); stop it first/);
    // A pid no process has: the file of one that died (kill -9) is taken over.
    await writeFile(join(root, LOCK_FILE), "4194999\n");
    const again = await lockDataDir(root);
    await again();
  });
});
