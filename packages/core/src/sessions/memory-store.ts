import { InvalidOptionsError } from "../errors.js";
import type { UserStore } from "../users/store.js";
import { revocationKey, revocationRefuses } from "./revocation-rules.js";
import type { Revocation, SessionStore, StoredSession } from "./store.js";

/** Options of {@link createMemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /**
   * The user store the sessions belong to (give it the plugin's `store`): `endUserAccess` changes
   * passwords and deletes users through it, and `ifPasswordHash` is checked against it. Without it,
   * `ifPasswordHash` is not checked and a password change or deletion throws `INVALID_OPTIONS`.
   */
  users?: UserStore;
  /** The clock (tests). Default `Date.now`. */
  now?: () => number;
}

/**
 * A {@link SessionStore} in a `Map`, for tests, examples and single-process prototypes. Updates of
 * one session run one after another (a promise chain per session); everything else is one
 * synchronous step between awaits, which is what a transaction is in a single process.
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions = {}): SessionStore {
  const sessions = new Map<string, StoredSession>();
  const queues = new Map<string, Promise<unknown>>();
  /** Revocations by key, with the order they were recorded in. */
  const revocations = new Map<string, { revocation: Revocation; recordedAt: number }>();
  const clock = options.now ?? Date.now;

  const users = (): UserStore => {
    if (options.users === undefined) {
      throw new InvalidOptionsError("createMemorySessionStore needs { users } for password changes and deletions");
    }
    return options.users;
  };
  const record = (revocation: Revocation) => {
    revocations.set(revocationKey(revocation), { revocation, recordedAt: clock() });
    return revocation;
  };

  return {
    async createSession(session) {
      const { ifPasswordHash, ...fields } = session;
      if (ifPasswordHash !== undefined && options.users !== undefined) {
        const user = await options.users.findByUsername(session.username);
        if (user === null || user.id !== session.userId || user.passwordHash !== ifPasswordHash) return null;
      }
      const stored: StoredSession = Object.freeze({
        ...fields,
        familySalt: Uint8Array.from(session.familySalt),
        generation: 0,
        rotatedAt: null,
        revokedAt: null,
        revokeReason: null,
      });
      sessions.set(stored.id, stored);
      return stored;
    },

    async findSession(id) {
      return sessions.get(id) ?? null;
    },

    updateSessionLocked(id, decide) {
      const previous = queues.get(id) ?? Promise.resolve();
      const run = previous.then(() => {
        const session = sessions.get(id) ?? null;
        const { change, result } = decide(session);
        if (session !== null && change !== undefined) {
          const { revocationExpiresAt, ...fields } = change;
          sessions.set(id, Object.freeze({ ...session, ...fields }));
          if (fields.revokedAt !== undefined && revocationExpiresAt !== undefined) {
            record({ kind: "session", sessionId: id, expiresAt: revocationExpiresAt });
          }
        }
        return result;
      });
      const settled = run.catch(() => undefined);
      queues.set(id, settled);
      void settled.then(() => {
        if (queues.get(id) === settled) queues.delete(id);
      });
      return run;
    },

    async listSessions(userId) {
      return [...sessions.values()]
        .filter((session) => session.userId === userId && session.revokedAt === null)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    },

    async endUserAccess(request) {
      if (request.passwordChange !== undefined) {
        const { from, to } = request.passwordChange;
        const changed = await users().updatePasswordHash(request.username, to, { ifCurrentHash: from });
        if (!changed) return { applied: false, endedSessionIds: [], revocations: [] };
      }
      if (request.deleteUser === true && !(await users().deleteByUsername(request.username))) {
        return { applied: false, endedSessionIds: [], revocations: [] };
      }
      const now = new Date(clock());
      const selection = request.sessions;
      const ended: string[] = [];
      const written: Revocation[] = [];
      for (const session of sessions.values()) {
        if (selection === "none" || session.userId !== request.userId || session.revokedAt !== null) continue;
        if (selection !== "all" && "only" in selection && session.id !== selection.only) continue;
        if (selection !== "all" && "keep" in selection && session.id === selection.keep) continue;
        sessions.set(session.id, Object.freeze({ ...session, revokedAt: now, revokeReason: request.reason }));
        ended.push(session.id);
        written.push(record({ kind: "session", sessionId: session.id, expiresAt: request.revocationsExpireAt }));
      }
      if (request.tokensNotBefore !== undefined) {
        const { username, tokensNotBefore: notBefore, revocationsExpireAt: expiresAt } = request;
        written.push(record({ kind: "user", username, notBefore, expiresAt }));
      }
      if (request.deleteUser === true) {
        for (const id of ended) sessions.delete(id);
      }
      return { applied: true, endedSessionIds: ended, revocations: written };
    },

    async revokeAccessToken(jti, expiresAt) {
      return record({ kind: "token", jti, expiresAt });
    },

    async readRevocations(since) {
      const readAt = clock();
      const from = since?.getTime() ?? Number.NEGATIVE_INFINITY;
      const page = [...revocations.values()]
        .filter((entry) => entry.recordedAt >= from && entry.revocation.expiresAt.getTime() > readAt)
        .map((entry) => entry.revocation);
      return { revocations: page, readAt: new Date(readAt) };
    },

    async isAccessRevoked(claims) {
      if (claims.sid !== undefined) {
        const session = sessions.get(claims.sid);
        if (session === undefined || session.revokedAt !== null) return true;
      }
      const now = clock();
      for (const { revocation } of revocations.values()) {
        if (revocation.expiresAt.getTime() > now && revocationRefuses(revocation, claims)) return true;
      }
      return false;
    },

    async deleteEndedSessions({ endedBefore, lastUsedBefore, limit }) {
      const cutoff = endedBefore.getTime();
      let deleted = 0;
      for (const session of sessions.values()) {
        if (deleted >= limit) break;
        const ended = Math.min(session.revokedAt?.getTime() ?? Infinity, session.absoluteExpiresAt.getTime());
        if (ended < cutoff || session.lastUsedAt.getTime() < lastUsedBefore.getTime()) {
          sessions.delete(session.id);
          deleted += 1;
        }
      }
      const now = clock();
      for (const [key, { revocation }] of revocations) {
        if (revocation.expiresAt.getTime() <= now) revocations.delete(key);
      }
      return deleted;
    },
  };
}
