import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GENERATED_KEY_FILE, resolveSecretKey } from "./secret-key.js";

let dataDir: string;
beforeEach(async () => {
  dataDir = join(await mkdtemp(join(tmpdir(), "latchkey-key-")), "data");
});
afterEach(async () => {
  await rm(join(dataDir, ".."), { recursive: true, force: true });
});

describe("resolveSecretKey", () => {
  it("uses SECRET_KEY when set and writes nothing", async () => {
    expect(await resolveSecretKey("s".repeat(32), dataDir)).toEqual({ secretKey: "s".repeat(32) });
    await expect(stat(dataDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("generates a 256-bit key once, stores it with mode 0600, and reuses it", async () => {
    const first = await resolveSecretKey(undefined, dataDir);
    expect(first.created).toBe(true);
    expect(first.secretKey).toMatch(/^[0-9a-f]{64}$/);
    const file = join(dataDir, GENERATED_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, "utf8")).trim()).toBe(first.secretKey);
    const second = await resolveSecretKey(undefined, dataDir);
    expect(second).toMatchObject({ secretKey: first.secretKey, created: false });
  });

  it("gives two processes starting at once the same key", async () => {
    const [a, b] = await Promise.all([resolveSecretKey(undefined, dataDir), resolveSecretKey(undefined, dataDir)]);
    expect(a.secretKey).toBe(b.secretKey);
  });

  it("refuses a stored key that other users can read", async () => {
    await resolveSecretKey(undefined, dataDir);
    await chmod(join(dataDir, GENERATED_KEY_FILE), 0o644);
    await expect(resolveSecretKey(undefined, dataDir)).rejects.toThrow(/readable by other users; run: chmod 600/);
  });

  it("refuses a stored key that is too weak", async () => {
    await resolveSecretKey(undefined, dataDir);
    await writeFile(join(dataDir, GENERATED_KEY_FILE), "short\n");
    await expect(resolveSecretKey(undefined, dataDir)).rejects.toMatchObject({ code: "WEAK_SECRET" });
  });
});
