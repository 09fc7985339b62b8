import type { SessionStore, StoredSession } from "@latchkey/core";
import type { Kysely, Selectable } from "kysely";
import { type StoreOperation, toStoreError } from "./errors.js";
import { resolveTableName, type SessionsTable, sessionsTableName } from "./schema.js";

/** Options of {@link createKyselySessionStore}. */
export interface KyselySessionStoreOptions {
  /** The users table the sessions belong to (as given to `migrateToLatest`). Default `"users"`. */
  tableName?: string;
}

function toStoredSession(row: Selectable<SessionsTable>): StoredSession {
  return {
    id: row.id,
    userId: String(row.user_id),
    username: row.username,
    // pg hands bytea out as a Buffer, PGlite as a Uint8Array.
    familySalt: Uint8Array.from(row.family_salt),
    generation: Number(row.generation),
    rotatedAt: row.rotated_at,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    absoluteExpiresAt: row.absolute_expires_at,
    revokedAt: row.revoked_at,
    revokeReason: row.revoke_reason,
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

/** Thrown by a `decide` callback: passed on as it is, not turned into a store error. */
class DecisionFailed {
  constructor(readonly error: unknown) {}
}

/** How often a decision is made again when another one changed the session first, at most. */
const MAX_ATTEMPTS = 100;

/**
 * A {@link SessionStore} on PostgreSQL or PGlite through Kysely, in `latchkey_<table>_sessions`
 * (made by `migrateToLatest`).
 *
 * `updateSessionLocked` is optimistic: it reads the row, runs the decision, and writes the change
 * with one `UPDATE … WHERE id = … AND generation = … AND revoked_at IS [NOT] NULL`, a
 * compare-and-swap that PostgreSQL runs under the row's lock. If another decision (on this instance
 * or another) changed the session in between, the `UPDATE` matches nothing and the decision runs
 * again on the new state. Two statements, no transaction held open across round trips, so no lock is
 * ever waited on past a statement and racers never deadlock or time out; a refresh racing another
 * sees the rotation and takes the reuse-window answer. A failure at any point leaves the row as it
 * was: no generation consumed, nothing half revoked.
 */
export function createKyselySessionStore(
  // biome-ignore lint/suspicious/noExplicitAny: accepts a Kysely instance typed for any app schema.
  db: Kysely<any>,
  options: KyselySessionStoreOptions = {},
): SessionStore {
  const table = sessionsTableName(resolveTableName(options.tableName)) as "sessions";
  const sessions = db as Kysely<{ sessions: SessionsTable }>;

  async function run<T>(operation: StoreOperation, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      if (error instanceof DecisionFailed) throw error.error;
      throw toStoreError(error, operation);
    }
  }

  return {
    createSession(session) {
      return run("createSession", async () => {
        const row = await sessions
          .insertInto(table)
          .values({
            id: session.id,
            user_id: session.userId,
            username: session.username,
            family_salt: session.familySalt,
            created_at: session.createdAt,
            last_used_at: session.lastUsedAt,
            absolute_expires_at: session.absoluteExpiresAt,
            rotated_at: null,
            revoked_at: null,
            revoke_reason: null,
            ip: session.ip,
            user_agent: session.userAgent,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return toStoredSession(row);
      });
    },

    findSession(id) {
      return run("findSession", async () => {
        const row = await sessions.selectFrom(table).selectAll().where("id", "=", id).executeTakeFirst();
        return row ? toStoredSession(row) : null;
      });
    },

    updateSessionLocked(id, decide) {
      return run("updateSessionLocked", async () => {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
          const row = await sessions.selectFrom(table).selectAll().where("id", "=", id).executeTakeFirst();
          const session = row ? toStoredSession(row) : null;
          let decision: ReturnType<typeof decide>;
          try {
            decision = decide(session);
          } catch (error) {
            throw new DecisionFailed(error);
          }
          const { change, result } = decision;
          if (session === null || change === undefined) return result;
          const written = await sessions
            .updateTable(table)
            .set({
              ...(change.generation !== undefined && { generation: change.generation }),
              ...(change.rotatedAt !== undefined && { rotated_at: change.rotatedAt }),
              ...(change.lastUsedAt !== undefined && { last_used_at: change.lastUsedAt }),
              ...(change.revokedAt !== undefined && { revoked_at: change.revokedAt }),
              ...(change.revokeReason !== undefined && { revoke_reason: change.revokeReason }),
            })
            .where("id", "=", id)
            .where("generation", "=", session.generation)
            // Revocation is final, so "still unrevoked" is all there is to compare; comparing the
            // timestamp itself would never match one written by SQL's now() (microseconds, not ms).
            .where("revoked_at", session.revokedAt === null ? "is" : "is not", null)
            .executeTakeFirst();
          if (written.numUpdatedRows > 0n) return result;
        }
        throw new Error(`session ${id} kept changing under ${MAX_ATTEMPTS} attempts to update it`);
      });
    },
  };
}
