import { InvalidOptionsError } from "@latchkey/core";
import type { ColumnType, Generated } from "kysely";

/**
 * The users table as the original FastAPI app defined it (`id`, `username`, `password`) plus the
 * two timestamps Latchkey's migration adds. The hash column keeps the original's name `password`
 * so that a database can be shared with, or moved from, the original app unchanged.
 */
export interface UsersTable {
  /** `SERIAL PRIMARY KEY`; Latchkey hands it out as a string. */
  id: Generated<number>;
  /** Unique (enforced by an index); compared exactly as stored. */
  username: string;
  /** The password hash (bcrypt `$2b$...` or any other format the hasher understands). */
  password: string;
  /** When the row was inserted; rows that predate the migration carry the migration's time. */
  created_at: ColumnType<Date, never, never>;
  /** When the password hash last changed (or the row was created). */
  updated_at: ColumnType<Date, never, Date>;
  /**
   * The username's uniqueness key under the configured policy (unique when set). `NULL` on rows
   * written by another app; the store fills those in at start-up.
   */
  username_key: ColumnType<string | null, string | undefined, string | null>;
}

/** `latchkey_<table>_settings`: what the store records about its table, such as the username key scheme. */
export interface SettingsTable {
  name: string;
  value: string;
}

/** A Kysely database type holding Latchkey's users table under its default name. */
export interface UsersDatabase {
  users: UsersTable;
}

/** The table name used when none is given: the original app's. */
export const DEFAULT_TABLE_NAME = "users";

// Latchkey derives the migration tables' names from the users table's name
// (`latchkey_<table>_migration_lock` is 24 characters longer), and PostgreSQL silently truncates
// identifiers beyond 63 bytes, which could make two derived names collide.
const MAX_TABLE_NAME_LENGTH = 39;
const MAX_IDENTIFIER_LENGTH = 63;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function assertIdentifier(value: unknown, what: string, maxLength: number): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value) || value.length > maxLength) {
    throw new InvalidOptionsError(
      `${what} must be 1 to ${maxLength} letters, digits or underscores, not starting with a digit`,
    );
  }
  return value;
}

/**
 * Checks a users table name and returns it (the default when `undefined`).
 * Plain identifiers only, so a name can never be read as SQL or as a `schema.table` pair.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for anything else.
 */
export function resolveTableName(tableName: string | undefined): string {
  return assertIdentifier(tableName ?? DEFAULT_TABLE_NAME, "tableName", MAX_TABLE_NAME_LENGTH);
}

/**
 * Checks a PostgreSQL schema name and returns it.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` unless it is a plain identifier.
 */
export function resolveSchemaName(schema: string): string {
  return assertIdentifier(schema, "schema", MAX_IDENTIFIER_LENGTH);
}

/** `latchkey_<table>_sessions`: one row per login; see the `0003_sessions` migration. */
export interface SessionsTable {
  id: string;
  user_id: string | number;
  username: string;
  family_salt: Uint8Array;
  generation: ColumnType<number, number | undefined, number>;
  rotated_at: Date | null;
  created_at: Date;
  last_used_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

/** The sessions table of one users table. */
export function sessionsTableName(tableName: string): string {
  return `latchkey_${tableName}_sessions`;
}

/** `latchkey_<table>_revocations`; see the `0004_revocations` migration. */
export interface RevocationsTable {
  kind: "session" | "user" | "token";
  key: string;
  not_before: Date | null;
  expires_at: Date;
  created_at: ColumnType<Date, never, never>;
}

/** The revocations table of one users table. */
export function revocationsTableName(tableName: string): string {
  return `latchkey_${tableName}_revocations`;
}

/** The `NOTIFY` channel on which new revocations of one users table are announced. */
export function revocationsChannel(tableName: string): string {
  return `latchkey_${tableName}_revocations`;
}

/** `latchkey_<table>_signing_keys`; see the `0005_signing_keys` migration. */
export interface SigningKeysTable {
  kid: string;
  alg: string;
  generation: number;
  created_at: Date;
  activates_at: Date;
  revoked_at: Date | null;
  /** JSON text of the public JWK; null for the HMAC key. */
  public_jwk: string | null;
  sealed_private_key: string | null;
}

/** The signing keys table of one users table, and the `NOTIFY` channel its changes are announced on. */
export function signingKeysTableName(tableName: string): string {
  return `latchkey_${tableName}_signing_keys`;
}

/** The settings table of one users table. */
export function settingsTableName(tableName: string): string {
  return `latchkey_${tableName}_settings`;
}

/** The Kysely migration bookkeeping tables for one users table, so several never share history. */
export function migrationTableNames(tableName: string): { migrationTableName: string; migrationLockTableName: string } {
  return {
    migrationTableName: `latchkey_${tableName}_migration`,
    migrationLockTableName: `latchkey_${tableName}_migration_lock`,
  };
}
