import type { SessionStore, StoredSession } from "./store.js";

/**
 * A {@link SessionStore} in a `Map`, for tests, examples and single-process prototypes. Updates of
 * one session run one after another (a promise chain per session).
 */
export function createMemorySessionStore(): SessionStore {
  const sessions = new Map<string, StoredSession>();
  const queues = new Map<string, Promise<unknown>>();

  return {
    async createSession(session) {
      const stored: StoredSession = Object.freeze({
        ...session,
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
        if (session !== null && change !== undefined) sessions.set(id, Object.freeze({ ...session, ...change }));
        return result;
      });
      const settled = run.catch(() => undefined);
      queues.set(id, settled);
      void settled.then(() => {
        if (queues.get(id) === settled) queues.delete(id);
      });
      return run;
    },
  };
}
