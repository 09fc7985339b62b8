import { randomBytes } from "node:crypto";
import { link, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { assertStrongSecret, parseKeyEncryptionKey } from "@latchkey/core";
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
  const { key, file, created } = await generatedKey(dataDir, GENERATED_KEY_FILE, assertStrongSecret);
  return { secretKey: key, generatedFile: file, created };
}

/** Name of the file in DATA_DIR that holds a generated key-encryption key. */
export const GENERATED_KEK_FILE = "key-encryption-key";

/**
 * The key-encryption key: `KEY_ENCRYPTION_KEY` when set; otherwise (not in production, where keys
 * are then refused until it is set) one generated and kept in DATA_DIR like the secret key.
 */
export async function resolveKeyEncryptionKey(
  configured: Buffer | undefined,
  dataDir: string,
  production: boolean,
): Promise<{ key: Buffer | undefined; generatedFile?: string }> {
  if (configured !== undefined) return { key: configured };
  if (production) return { key: undefined };
  const { key, file } = await generatedKey(dataDir, GENERATED_KEK_FILE, (text) => parseKeyEncryptionKey(text));
  return { key: parseKeyEncryptionKey(key), generatedFile: file };
}

/** A 256-bit random key kept in `dataDir/name` (mode 0600), made by the first process that needs it. */
async function generatedKey(
  dataDir: string,
  name: string,
  check: (stored: string) => unknown,
): Promise<{ key: string; file: string; created: boolean }> {
  const file = resolve(join(dataDir, name));
  await prepareDataDir(dataDir);
  const generated = randomBytes(32).toString("hex");
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await writeFile(draft, `${generated}\n`, { flag: "wx", mode: 0o600 });
  try {
    await link(draft, file);
    return { key: generated, file, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await unlink(draft);
  }
  // Refuse a key anyone else on the machine could have read or planted: they could forge tokens.
  const stored = (await readPrivateFile(file)).trim();
  check(stored);
  return { key: stored, file, created: false };
}
