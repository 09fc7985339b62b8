import { LatchkeyError, StoreUnavailableError, UsernameTakenError } from "@latchkey/core";

/** What a store was doing when the database failed; named in error messages for the logs. */
export type StoreOperation =
  | "findByUsername"
  | "findByUsernameKey"
  | "create"
  | "updatePasswordHash"
  | "deleteByUsername"
  | "prepareUsernameKeys"
  | "createSession"
  | "findSession"
  | "updateSessionLocked"
  | "listSessions"
  | "endUserAccess"
  | "revokeAccessToken"
  | "readRevocations"
  | "isAccessRevoked"
  | "deleteEndedSessions"
  | "listKeys"
  | "insertKey"
  | "revokeKey";

const UNIQUE_VIOLATION = "23505";

// Fixed phrases only: driver messages can quote query parameters (a password hash among them), so
// they stay on `cause` and never reach our message.
const SQLSTATE_REASONS: Record<string, string> = {
  "57014": "the statement timed out or was cancelled",
  "57P01": "the server terminated the connection",
  "57P02": "the server crashed",
  "57P03": "the server is starting up or shutting down",
  "53300": "the server has too many connections",
  "25P02": "the transaction was aborted",
};

// Node's socket error codes: a connection that broke, as opposed to one that never opened.
const CONNECTION_LOST_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

const MESSAGE_REASONS: [RegExp, string][] = [
  [/^timeout exceeded when trying to connect$/, "no connection became free in time (pool exhausted or database slow)"],
  [/^Connection terminated due to connection timeout$/, "connecting to the database timed out"],
  [/^Connection terminated( unexpectedly)?$/, "the connection to the database was lost"],
  [/^Client has encountered a connection error and is not queryable$/, "the connection to the database was lost"],
  [/^Cannot use a pool after calling end on the pool$/, "the database handle has been closed"],
  [/^driver has already been destroyed$/, "the database handle has been closed"],
  [/^PGlite is clos(ed|ing)$/, "the embedded database is closed"],
];

/** Whether the driver refused a row for a unique constraint (any). */
export function isUniqueViolation(error: unknown): boolean {
  return sqlStateOf(error) === UNIQUE_VIOLATION;
}

function sqlStateOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function reasonFor(error: unknown): string {
  const sqlState = sqlStateOf(error);
  if (sqlState) {
    const known = SQLSTATE_REASONS[sqlState] ?? (sqlState.startsWith("08") ? "connection failure" : "database error");
    return `${known} (SQLSTATE ${sqlState})`;
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) {
    const reason = CONNECTION_LOST_CODES.has(code)
      ? "the connection to the database was lost"
      : "cannot reach the database";
    return `${reason} (${code})`;
  }
  const message = error instanceof Error ? error.message : "";
  for (const [pattern, reason] of MESSAGE_REASONS) if (pattern.test(message)) return reason;
  return "unexpected database error";
}

// A 23505 on another unique index (typically the primary key, when rows were copied in with
// explicit ids and the id sequence was left behind) is no reason to tell a user their name is taken.
function isUsernameConflict(error: unknown): boolean {
  if (sqlStateOf(error) !== UNIQUE_VIOLATION) return false;
  const detail = (error as { detail?: unknown }).detail;
  return !(typeof detail === "string" && detail.startsWith("Key (id)="));
}

/**
 * Turns whatever a driver threw into a core error, so that no raw driver error leaves the store:
 * a unique violation on the username becomes {@link UsernameTakenError} (`USERNAME_TAKEN`), anything
 * else {@link StoreUnavailableError} (`STORE_UNAVAILABLE`). The original error is kept as `cause`;
 * the message names the operation and a fixed reason, never a value from the query.
 */
export function toStoreError(error: unknown, operation: StoreOperation): LatchkeyError {
  if (error instanceof LatchkeyError) return error;
  if (operation === "create" && isUsernameConflict(error)) return new UsernameTakenError({ cause: error });
  return new StoreUnavailableError(`User store is unavailable (${operation}): ${reasonFor(error)}`, { cause: error });
}

/**
 * `MIGRATION_FAILED`: {@link migrateToLatest} could not bring the schema up to date. The message
 * names the migration and the database's reason; `cause` holds the original error.
 */
export class MigrationFailedError extends LatchkeyError {
  /** The migration that failed, when one had started. */
  readonly migrationName: string | undefined;

  constructor(message: string, migrationName: string | undefined, options?: ErrorOptions) {
    super("MIGRATION_FAILED", message, options);
    this.migrationName = migrationName;
  }
}
