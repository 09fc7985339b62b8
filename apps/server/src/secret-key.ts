import { randomBytes } from "node:crypto";
import { link, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { assertStrongSecret } from "@latchkey/core";
import { prepareDataDir, readPrivateFile } from "./data-dir.js";

/** Name of the file in DATA_DIR that holds a generated key. */
export const GENERATED_KEY_FILE = "secret-key";

/** Where the secret key came from, for the start-up log. */
export interface SecretKeySource {
  secretKey: string;
  /** Path of the generated key file, when the key was generated now or earlier. */
  generatedFile?: string;
  /** True when this start made the file. */
  created?: boolean;
}

/**
 * The signing key: `SECRET_KEY` when set; otherwise (never in production: config refuses that)
 * a 256-bit random key generated once and kept in DATA_DIR with mode 0600, so tokens stay valid
 * across restarts. The key is written to a temporary file and then linked into place, which is
 * atomic: a process starting at the same moment either wins or reads the winner's complete key.
 */
export async function resolveSecretKey(configured: string | undefined, dataDir: string): Promise<SecretKeySource> {
  if (configured !== undefined) return { secretKey: configured };
  const file = resolve(join(dataDir, GENERATED_KEY_FILE));
  await prepareDataDir(dataDir);
  const generated = randomBytes(32).toString("hex");
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(draft, `${generated}\n`, { flag: "wx", mode: 0o600 });
  try {
    await link(draft, file);
    return { secretKey: generated, generatedFile: file, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(draft);
  }
  // Refuse a key anyone else on the machine could have read or planted: they could forge tokens.
  const stored = (await readPrivateFile(file)).trim();
  assertStrongSecret(stored);
  return { secretKey: stored, generatedFile: file, created: false };
}
