/**
 * A login: one row per session, the family of every refresh token it was given. Times are
 * `Date`s; `generation` counts the rotations so far (the current refresh token is generation
 * `generation`, the one before it `generation - 1`).
 */
export interface StoredSession {
  /** A UUID; access tokens carry it as `sid`. */
  readonly id: string;
  /** The user's id in the user store. */
  readonly userId: string;
  /** The username at login, for the access tokens' `sub`. */
  readonly username: string;
  /** 16 random bytes that, with the server's refresh key, tag this session's tokens. */
  readonly familySalt: Uint8Array;
  readonly generation: number;
  /** When the session last rotated; `null` before its first refresh. */
  readonly rotatedAt: Date | null;
  readonly createdAt: Date;
  /** Login or last refresh: the idle timeout counts from here. */
  readonly lastUsedAt: Date;
  /** Login + the absolute lifetime: no refresh after this. */
  readonly absoluteExpiresAt: Date;
  readonly revokedAt: Date | null;
  /** Why it was revoked (`reuse`, …), when it was. */
  readonly revokeReason: string | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** What {@link SessionStore.createSession} receives. */
export type NewSession = Omit<StoredSession, "generation" | "rotatedAt" | "revokedAt" | "revokeReason">;

/** The fields a refresh may change, all written in the same transaction. */
export interface SessionChange {
  generation?: number;
  rotatedAt?: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
  revokeReason?: string;
}

/** What `decide` returns: the change to write (none: nothing is written) and the result to hand back. */
export interface SessionDecision<T> {
  change?: SessionChange;
  result: T;
}

/**
 * Where sessions live. The refresh rules are core's; a store supplies storage and one guarantee:
 * {@link SessionStore.updateSessionLocked} writes a decision's change only if the session is still
 * the one the decision saw, atomically, or not at all, across every process that shares the store
 * (by holding a lock while deciding, or by compare-and-swap and deciding again, as the Kysely store
 * does). So concurrent decisions on one session take effect one after another.
 *
 * Stores throw `STORE_UNAVAILABLE` when their database cannot answer; a failed or interrupted
 * update leaves the session as it was, so a client may retry with the same token.
 */
export interface SessionStore {
  /** Inserts a session and returns it. */
  createSession(session: NewSession): Promise<StoredSession>;
  /** The session, or `null`. */
  findSession(id: string): Promise<StoredSession | null>;
  /**
   * Calls `decide` with the session (or `null` when there is none), writes the change it returns
   * if the session has not changed meanwhile (otherwise `decide` runs again on the new state), and
   * resolves to its result. `decide` is synchronous and free of side effects, so it may run more
   * than once.
   */
  updateSessionLocked<T>(id: string, decide: (session: StoredSession | null) => SessionDecision<T>): Promise<T>;
}
