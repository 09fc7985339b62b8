import type { Migration } from "kysely";
import { createUsersMigration } from "./0001_users.js";
import { createUsernameKeysMigration } from "./0002_username_keys.js";
import { createSessionsMigration } from "./0003_sessions.js";
import { createRevocationsMigration } from "./0004_revocations.js";
import { createSigningKeysMigration } from "./0005_signing_keys.js";

/**
 * Latchkey's migrations for one users table, listed in code rather than read from a folder so
 * that they survive bundling. Names sort in the order they must run; never rename or reorder one
 * that has shipped, only append.
 */
export function createLatchkeyMigrations(tableName: string): Record<string, Migration> {
  return {
    "0001_users": createUsersMigration(tableName),
    "0002_username_keys": createUsernameKeysMigration(tableName),
    "0003_sessions": createSessionsMigration(tableName),
    "0004_revocations": createRevocationsMigration(tableName),
    "0005_signing_keys": createSigningKeysMigration(tableName),
  };
}
