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
export type NewSession = Omit<StoredSession, "generation" | "rotatedAt" | "revokedAt" | "revokeReason"> & {
  /**
   * The password hash the login was verified against. A store that holds the users too creates
   * the session only if the user still has this hash (and resolves to `null` otherwise), so a login
   * racing a password change cannot outlive it.
   */
  readonly ifPasswordHash?: string;
};

/** The fields a refresh may change, all written in the same transaction. */
export interface SessionChange {
  generation?: number;
  rotatedAt?: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
  revokeReason?: string;
  /** With `revokedAt`: the store records a `session` revocation kept until then, in the same write. */
  revocationExpiresAt?: Date;
}

/** What `decide` returns: the change to write (none: nothing is written) and the result to hand back. */
export interface SessionDecision<T> {
  change?: SessionChange;
  result: T;
}

/**
 * One thing that ends access before tokens expire. Each is kept until `expiresAt`, when every
 * access token it could refuse has expired anyway.
 *
 * - `session`: every access token whose `sid` is this session.
 * - `user`: every access token of `username` *without* a `sid` (tokens the original issued, or
 *   issued with sessions off) whose `iat` (in ms) is before `notBefore`. Tokens with a `sid` are
 *   ended through their sessions.
 * - `token`: the one access token with this `jti` (RFC 7009 revocation).
 */
export type Revocation =
  | { readonly kind: "session"; readonly sessionId: string; readonly expiresAt: Date }
  | { readonly kind: "user"; readonly username: string; readonly notBefore: Date; readonly expiresAt: Date }
  | { readonly kind: "token"; readonly jti: string; readonly expiresAt: Date };

/** What {@link SessionStore.endUserAccess} ends, and what it does with the user in the same transaction. */
export interface EndUserAccess {
  readonly userId: string;
  readonly username: string;
  /** Sessions to end: one, every one but one, all, or none (only the `user` revocation). */
  readonly sessions: { readonly only: string } | { readonly keep: string } | "all" | "none";
  /** Why (kept on the ended sessions: `logout`, `password_change`, `user_deleted`, …). */
  readonly reason: string;
  /** Also refuse the user's session-less tokens issued before this (a `user` revocation). */
  readonly tokensNotBefore?: Date;
  /** When the revocations written may be forgotten (the latest `exp` a token refused by them can have). */
  readonly revocationsExpireAt: Date;
  /** Replace the password hash, only if it is still `from` (compare-and-swap), in the same transaction. */
  readonly passwordChange?: { readonly from: string; readonly to: string };
  /** Delete the user (and so every session) in the same transaction. */
  readonly deleteUser?: boolean;
}

/** What {@link SessionStore.endUserAccess} did. */
export interface EndedUserAccess {
  /** False when the password change's compare-and-swap or the deletion found nothing: then nothing changed. */
  readonly applied: boolean;
  /** The ids of the sessions it ended. */
  readonly endedSessionIds: readonly string[];
  /** The revocations it recorded (for this process's cache, before any notification arrives). */
  readonly revocations: readonly Revocation[];
}

/** A page of the revocation feed: everything recorded after `since`, and where the next read starts. */
export interface RevocationPage {
  readonly revocations: readonly Revocation[];
  /** The store's own clock at the read: pass it (minus a margin) as the next `since`. */
  readonly readAt: Date;
}

/** Where the revocation feed is, when a store can push it: see {@link SessionStore.watchRevocations}. */
export interface RevocationWatch {
  /** Stops listening. */
  close(): Promise<void>;
}

/** The claims of an access token that revocation looks at. */
export interface RevocableClaims {
  readonly sub: string;
  readonly sid?: string | undefined;
  readonly jti?: string | undefined;
  /** Seconds since the epoch. */
  readonly iat?: number | undefined;
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
  /** Inserts a session and returns it; `null` when {@link NewSession.ifPasswordHash} no longer matches. */
  createSession(session: NewSession): Promise<StoredSession | null>;
  /** The session, or `null`. */
  findSession(id: string): Promise<StoredSession | null>;
  /**
   * Calls `decide` with the session (or `null` when there is none), writes the change it returns
   * if the session has not changed meanwhile (otherwise `decide` runs again on the new state), and
   * resolves to its result. `decide` is synchronous and free of side effects, so it may run more
   * than once.
   */
  updateSessionLocked<T>(id: string, decide: (session: StoredSession | null) => SessionDecision<T>): Promise<T>;
  /** The user's sessions that are not revoked, newest first (expired ones included: the service filters). */
  listSessions(userId: string): Promise<StoredSession[]>;
  /**
   * Ends sessions of one user and records their revocations (plus a `user` revocation when
   * `tokensNotBefore` is set), and applies the password change or deletion, all in one
   * transaction: no session survives a password change or a deletion, not even one created by a
   * login racing it (see {@link NewSession.ifPasswordHash}).
   */
  endUserAccess(request: EndUserAccess): Promise<EndedUserAccess>;
  /** Records that the access token `jti` is refused until `expiresAt`. */
  revokeAccessToken(jti: string, expiresAt: Date): Promise<Revocation>;
  /** Revocations recorded after `since` (all that have not expired when `null`). */
  readRevocations(since: Date | null): Promise<RevocationPage>;
  /**
   * True when any revocation refuses these claims, or their `sid` names a session that is not
   * alive (revoked or missing): the per-request read of the `strict` access-token checks.
   */
  isAccessRevoked(claims: RevocableClaims): Promise<boolean>;
  /**
   * Deletes at most `limit` sessions that ended before `endedBefore` (revoked, or past their
   * absolute end) or were last used before `lastUsedBefore` (idle), and revocations past their
   * `expiresAt`. Resolves to how many sessions it deleted.
   */
  deleteEndedSessions(cleanup: { endedBefore: Date; lastUsedBefore: Date; limit: number }): Promise<number>;
  /**
   * Optional: calls `onRevocation` soon after any process records a revocation (PostgreSQL
   * `LISTEN`), and `onState` when the listener goes down (`false`) or is back (`true`; read
   * the feed then, as revocations made while it was down were not pushed).
   */
  watchRevocations?(onRevocation: () => void, onState: (listening: boolean) => void): Promise<RevocationWatch>;
}
