import { constants } from "node:fs";
import { chmod, lstat, mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** Thrown when DATA_DIR or a file in it is unsafe to use; the message says how to fix it. */
export class UnsafeDataDirError extends Error {
  override name = "UnsafeDataDirError";
}

const currentUid = () => (typeof process.getuid === "function" ? process.getuid() : undefined);

function describeMode(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/**
 * Makes sure DATA_DIR exists and only this user can enter it: created with mode 0700 when
 * missing; refused (one message saying what to run) when it is owned by another user, or when
 * its group or others may read, write or enter it. A bcrypt hash read out of PGlite's WAL, or a
 * signing key read by another local user, is what this prevents.
 *
 * Folders and files the server creates itself are owner-only (it sets its umask to 077), but
 * PGlite sets the modes of its files explicitly (0666, its WebAssembly file system's default);
 * {@link tightenDataDir} takes those back once PGlite has opened.
 *
 * @throws {UnsafeDataDirError}
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if (!info.isDirectory()) throw new UnsafeDataDirError(`DATA_DIR ${dir} is not a directory`);
  const uid = currentUid();
  if (uid !== undefined && info.uid !== uid) {
    throw new UnsafeDataDirError(
      `DATA_DIR ${dir} belongs to another user (uid ${info.uid}, this process runs as ${uid}); ` +
        `use a folder of your own, or run: chown ${uid} ${dir}`,
    );
  }
  if ((info.mode & 0o077) !== 0) {
    throw new UnsafeDataDirError(
      `DATA_DIR ${dir} can be read or written by other users (mode ${describeMode(info.mode)}); ` +
        `it holds password hashes and the signing key. Run: chmod 700 ${dir}`,
    );
  }
}

/**
 * Removes group and other permissions from everything below `root` (PGlite's folder), which
 * PGlite writes with mode 0666. Run at every start, after PGlite opened and migrated: about a
 * thousand files, a few tens of milliseconds. Files PGlite adds while running (a new WAL segment)
 * are 0666 again until the next start, but sit in owner-only folders no other user can enter.
 */
export async function tightenDataDir(root: string): Promise<void> {
  const info = await lstat(root).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) return;
  const walk = async (path: string): Promise<void> => {
    const entry = await lstat(path);
    if (entry.isSymbolicLink()) return;
    if ((entry.mode & 0o077) !== 0) await chmod(path, entry.mode & 0o700);
    if (entry.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
}

/**
 * Reads a file that holds a secret: never through a symbolic link (a planted link could point at
 * a key the attacker chose), only if this user owns it and nobody else may read or write it.
 *
 * @throws {UnsafeDataDirError} for a link, another owner or loose permissions.
 */
export async function readPrivateFile(file: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") {
      throw new UnsafeDataDirError(`${file} is a symbolic link; refusing to read a signing key through one`);
    }
    throw error;
  }
  try {
    const info = await handle.stat();
    const uid = currentUid();
    if (!info.isFile()) throw new UnsafeDataDirError(`${file} is not a regular file`);
    if (uid !== undefined && info.uid !== uid) {
      throw new UnsafeDataDirError(
        `${file} belongs to another user (uid ${info.uid}); refusing a key someone else planted`,
      );
    }
    if ((info.mode & 0o077) !== 0) {
      throw new UnsafeDataDirError(`${file} is readable by other users; run: chmod 600 ${file}`);
    }
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/** Name of the file in DATA_DIR that says which process has the embedded database open. */
export const LOCK_FILE = "pglite.pid";

/**
 * Takes DATA_DIR's embedded database for this process: creates `pglite.pid` with this pid, or
 * refuses when a live process holds it (a stale file of a process that died is taken over).
 * Resolves to the function that releases it.
 *
 * @throws {Error} naming the process that holds it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return async () => {
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `The embedded database in ${dataDir} is open in another process (pid ${holder}); stop it first, ` +
          `or use PostgreSQL (DATABASE_URL), which any number of processes can share (if pid ${holder} is not ` +
          `a Latchkey process, delete ${file})`,
      );
    }
    await rm(file, { force: true });
  }
  throw new Error(`Could not take ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
