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

/**
 * A {@link SessionStore} on PostgreSQL or PGlite through Kysely, in `latchkey_<table>_sessions`
 * (made by `migrateToLatest`). `updateSessionLocked` is one transaction: `SELECT … FOR UPDATE` on
 * the session's row, the decision, the `UPDATE` it asks for, `COMMIT`. Every instance on one
 * PostgreSQL waits for the row lock in turn (no skipping, so no 409s); a lock held past the
 * connection's statement timeout (5 s by default) fails as `STORE_UNAVAILABLE`, and a failure at
 * any point rolls back, so no generation is consumed and no revocation half done.
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
      return run("updateSessionLocked", () =>
        sessions.transaction().execute(async (trx) => {
          const row = await trx.selectFrom(table).selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
          let decision: ReturnType<typeof decide>;
          try {
            decision = decide(row ? toStoredSession(row) : null);
          } catch (error) {
            throw new DecisionFailed(error);
          }
          const { change, result } = decision;
          if (row && change !== undefined) {
            await trx
              .updateTable(table)
              .set({
                ...(change.generation !== undefined && { generation: change.generation }),
                ...(change.rotatedAt !== undefined && { rotated_at: change.rotatedAt }),
                ...(change.lastUsedAt !== undefined && { last_used_at: change.lastUsedAt }),
                ...(change.revokedAt !== undefined && { revoked_at: change.revokedAt }),
                ...(change.revokeReason !== undefined && { revoke_reason: change.revokeReason }),
              })
              .where("id", "=", id)
              .execute();
          }
          return result;
        }),
      );
    },
  };
}
