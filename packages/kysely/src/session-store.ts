import type { Revocation, SessionDecision, SessionStore, StoredSession } from "@latchkey/core";
import { type Kysely, type Selectable, sql, type Transaction } from "kysely";
import { type StoreOperation, toStoreError } from "./errors.js";
import type { RevocationListener } from "./revocation-listener.js";
import {
  type RevocationsTable,
  resolveTableName,
  revocationsChannel,
  revocationsTableName,
  type SessionsTable,
  sessionsTableName,
  type UsersTable,
} from "./schema.js";

/** The tables the session store works on, under stand-in names (the real ones depend on the users table). */
interface SessionDatabase {
  sessions: SessionsTable;
  revocations: RevocationsTable;
  users: UsersTable;
}

// Session ids are UUIDs; anything else names no session and is never sent to a uuid column.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function keyOf(revocation: Revocation): string {
  switch (revocation.kind) {
    case "session":
      return revocation.sessionId;
    case "user":
      return revocation.username;
    case "token":
      return revocation.jti;
  }
}

function toRevocation(row: { kind: string; key: string; not_before: Date | null; expires_at: Date }): Revocation {
  const expiresAt = new Date(row.expires_at);
  if (row.kind === "session") return { kind: "session", sessionId: row.key, expiresAt };
  if (row.kind === "token") return { kind: "token", jti: row.key, expiresAt };
  return { kind: "user", username: row.key, notBefore: new Date(row.not_before ?? 0), expiresAt };
}

/** Options of {@link createKyselySessionStore}. */
export interface KyselySessionStoreOptions {
  /** The users table the sessions belong to (as given to `migrateToLatest`). Default `"users"`. */
  tableName?: string;
  /**
   * Pushes revocations to every instance through PostgreSQL `LISTEN/NOTIFY` on a connection of
   * its own (see {@link createPostgresRevocationListener}); without it, instances learn of them by
   * reading the feed (each second, by default). PGlite needs none: one process holds its data.
   */
  listener?: RevocationListener;
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
  const tableName = resolveTableName(options.tableName);
  const table = sessionsTableName(tableName) as "sessions";
  const revocationsTable = revocationsTableName(tableName) as "revocations";
  const usersTable = tableName as "users";
  const channel = revocationsChannel(tableName);
  const sessions = db as Kysely<SessionDatabase>;

  /** Upserts revocations (a newer one of the same thing wins and is fed again) and announces them. */
  async function record(trx: Transaction<SessionDatabase>, revocations: readonly Revocation[]): Promise<void> {
    if (revocations.length === 0) return;
    await trx
      .insertInto(revocationsTable)
      .values(
        revocations.map((revocation) => ({
          kind: revocation.kind,
          key: keyOf(revocation),
          not_before: revocation.kind === "user" ? revocation.notBefore : null,
          expires_at: revocation.expiresAt,
        })),
      )
      .onConflict((oc) =>
        oc.columns(["kind", "key"]).doUpdateSet({
          not_before: sql`greatest(${sql.ref(`${revocationsTable}.not_before`)}, excluded.not_before)`,
          expires_at: sql`greatest(${sql.ref(`${revocationsTable}.expires_at`)}, excluded.expires_at)`,
          created_at: sql`now()`,
        } as never),
      )
      .execute();
    await sql`select pg_notify(${channel}, '')`.execute(trx);
  }

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
        if (session.ifPasswordHash !== undefined) {
          // Only while the user still has the hash the login checked; FOR SHARE waits for a
          // password change in flight, so the session is either ended by it or never made.
          const { rows } = await sql<Selectable<SessionsTable>>`
            insert into ${sql.table(table)}
              (id, user_id, username, family_salt, created_at, last_used_at, absolute_expires_at, ip, user_agent)
            select ${session.id}, u.id, ${session.username}, ${session.familySalt}, ${session.createdAt},
              ${session.lastUsedAt}, ${session.absoluteExpiresAt}, ${session.ip}, ${session.userAgent}
            from (select id from ${sql.table(usersTable)} where id = ${session.userId}
              and password = ${session.ifPasswordHash} for share) u
            returning *`.execute(db);
          return rows[0] ? toStoredSession(rows[0]) : null;
        }
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
        if (!UUID.test(id)) return null;
        const row = await sessions.selectFrom(table).selectAll().where("id", "=", id).executeTakeFirst();
        return row ? toStoredSession(row) : null;
      });
    },

    updateSessionLocked(id, decide) {
      return run("updateSessionLocked", async () => {
        if (!UUID.test(id)) return decideOrThrow(decide, null).result;
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
          const row = await sessions.selectFrom(table).selectAll().where("id", "=", id).executeTakeFirst();
          const session = row ? toStoredSession(row) : null;
          const { change, result } = decideOrThrow(decide, session);
          if (session === null || change === undefined) return result;
          const { revocationExpiresAt } = change;
          const revokes = change.revokedAt !== undefined && revocationExpiresAt !== undefined;
          const write = (executor: Kysely<SessionDatabase>) =>
            executor
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
          const written = revokes
            ? await sessions.transaction().execute(async (trx) => {
                const done = await write(trx);
                if (done.numUpdatedRows > 0n)
                  await record(trx, [{ kind: "session", sessionId: id, expiresAt: revocationExpiresAt }]);
                return done;
              })
            : await write(sessions);
          if (written.numUpdatedRows > 0n) return result;
        }
        throw new Error(`session ${id} kept changing under ${MAX_ATTEMPTS} attempts to update it`);
      });
    },

    listSessions(userId) {
      return run("listSessions", async () => {
        const rows = await sessions
          .selectFrom(table)
          .selectAll()
          .where("user_id", "=", userId)
          .where("revoked_at", "is", null)
          .orderBy("created_at", "desc")
          .execute();
        return rows.map(toStoredSession);
      });
    },

    endUserAccess(request) {
      const nothing = { applied: false, endedSessionIds: [], revocations: [] };
      return run("endUserAccess", () =>
        sessions.transaction().execute(async (trx) => {
          if (request.passwordChange !== undefined) {
            const { from, to } = request.passwordChange;
            const changed = await trx
              .updateTable(usersTable)
              .set({ password: to, updated_at: sql<Date>`now()` })
              .where("id", "=", request.userId as never)
              .where("password", "=", from)
              .executeTakeFirst();
            if (changed.numUpdatedRows === 0n) return nothing;
          }
          if (request.deleteUser === true) {
            // Locks the row, so sessions a racing login makes wait and then find no user.
            const user = await trx
              .selectFrom(usersTable)
              .select("id")
              .where("id", "=", request.userId as never)
              .forUpdate()
              .executeTakeFirst();
            if (user === undefined) return nothing;
          }
          const selection = request.sessions;
          let endedSessionIds: string[] = [];
          if (selection !== "none") {
            let update = trx
              .updateTable(table)
              .set({ revoked_at: sql<Date>`now()`, revoke_reason: request.reason })
              .where("user_id", "=", request.userId)
              .where("revoked_at", "is", null);
            if (selection !== "all" && "only" in selection) {
              update = UUID.test(selection.only)
                ? update.where("id", "=", selection.only)
                : update.where(sql<boolean>`false`);
            }
            if (selection !== "all" && "keep" in selection && UUID.test(selection.keep)) {
              update = update.where("id", "<>", selection.keep);
            }
            endedSessionIds = (await update.returning("id").execute()).map((row) => row.id);
          }
          const expiresAt = request.revocationsExpireAt;
          const revocations: Revocation[] = endedSessionIds.map((sessionId) => ({
            kind: "session",
            sessionId,
            expiresAt,
          }));
          if (request.tokensNotBefore !== undefined) {
            revocations.push({
              kind: "user",
              username: request.username,
              notBefore: request.tokensNotBefore,
              expiresAt,
            });
          }
          await record(trx, revocations);
          if (request.deleteUser === true) {
            await trx
              .deleteFrom(usersTable)
              .where("id", "=", request.userId as never)
              .execute();
          }
          return { applied: true, endedSessionIds, revocations };
        }),
      );
    },

    revokeAccessToken(jti, expiresAt) {
      return run("revokeAccessToken", async () => {
        const revocation: Revocation = { kind: "token", jti, expiresAt };
        await sessions.transaction().execute((trx) => record(trx, [revocation]));
        return revocation;
      });
    },

    readRevocations(since) {
      return run("readRevocations", async () => {
        // One round trip that answers the store's clock even when there is nothing new.
        const { rows } = await sql<{
          read_at: Date;
          kind: string | null;
          key: string;
          not_before: Date | null;
          expires_at: Date;
        }>`
          select clock.read_at, r.kind, r.key, r.not_before, r.expires_at
          from (select now() as read_at) clock
          left join ${sql.table(revocationsTable)} r on r.expires_at > clock.read_at
            and (${since}::timestamptz is null or r.created_at >= ${since}::timestamptz)`.execute(db);
        const readAt = new Date(rows[0]?.read_at ?? Date.now());
        const revocations = rows.filter((row) => row.kind !== null).map((row) => toRevocation(row as never));
        return { revocations, readAt };
      });
    },

    isAccessRevoked(claims) {
      return run("isAccessRevoked", async () => {
        const sid = claims.sid;
        if (sid !== undefined && !UUID.test(sid)) return true;
        const iat = claims.iat ?? null;
        const { rows } = await sql<{ revoked: boolean }>`
          select (
            (${sid ?? null}::uuid is not null and not exists (
              select 1 from ${sql.table(table)} where id = ${sid ?? null}::uuid and revoked_at is null))
            or exists (
              select 1 from ${sql.table(revocationsTable)} where expires_at > now() and (
                (kind = 'session' and key = ${sid ?? null}::text)
                or (kind = 'token' and key = ${claims.jti ?? null}::text)
                or (kind = 'user' and ${sid ?? null}::text is null and key = ${claims.sub}::text
                  and (${iat}::float8 is null or not_before > to_timestamp(${iat}::float8)))))
          ) as revoked`.execute(db);
        return rows[0]?.revoked === true;
      });
    },

    deleteEndedSessions({ endedBefore, lastUsedBefore, limit }) {
      return run("deleteEndedSessions", async () => {
        const ended = sessions
          .selectFrom(table)
          .select("id")
          .where((eb) =>
            eb.or([
              eb("revoked_at", "<", endedBefore),
              eb("absolute_expires_at", "<", endedBefore),
              eb("last_used_at", "<", lastUsedBefore),
            ]),
          )
          .limit(limit);
        const deleted = await sessions.deleteFrom(table).where("id", "in", ended).executeTakeFirst();
        await sessions.deleteFrom(revocationsTable).where("expires_at", "<=", sql<Date>`now()`).execute();
        return Number(deleted.numDeletedRows);
      });
    },

    ...(options.listener !== undefined && {
      watchRevocations: (onRevocation: () => void, onState: (listening: boolean) => void) =>
        (options.listener as RevocationListener)(channel, onRevocation, onState),
    }),
  };
}

function decideOrThrow<T>(
  decide: (session: StoredSession | null) => SessionDecision<T>,
  session: StoredSession | null,
): SessionDecision<T> {
  try {
    return decide(session);
  } catch (error) {
    throw new DecisionFailed(error);
  }
}
