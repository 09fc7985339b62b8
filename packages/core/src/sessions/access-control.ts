import { InvalidOptionsError } from "../errors.js";
import type { AccessTokenClaims } from "../tokens/tokens.js";
import type { UserStore } from "../users/store.js";
import { createRevocationCache, type RevocationCache, type RevocationCacheOptions } from "./revocation-cache.js";
import { tokensNotBefore } from "./revocation-rules.js";
import type { IssuedRefreshToken, SessionService, SessionStart } from "./service.js";
import type { EndedUserAccess, EndUserAccess, StoredSession } from "./store.js";

/**
 * How much `app.authenticate` checks beyond the signature and `exp`:
 * - `stateless`: nothing (a logged-out or deleted user's token works until it expires);
 * - `session`: the token's session is alive and nothing revoked it, from an in-process copy of
 *   the revocations kept fresh within seconds on every instance (no read per request);
 * - `strict`: the same, read from the store on every request.
 */
export type AccessTokenChecks = "stateless" | "session" | "strict";
export const ACCESS_TOKEN_CHECKS: readonly AccessTokenChecks[] = ["stateless", "session", "strict"];

/** Which sessions a logout ends: this one (`local`), every other (`others`), or all (`global`). */
export type LogoutScope = "local" | "others" | "global";
export const LOGOUT_SCOPES: readonly LogoutScope[] = ["local", "others", "global"];

/** Default: ended sessions are kept this long (their reason stays in the log's terms), then deleted. */
export const DEFAULT_ENDED_SESSION_RETENTION_SECONDS = 24 * 3600;
/** Default interval and batch size of the deletion of ended sessions. */
export const DEFAULT_CLEANUP_INTERVAL_SECONDS = 600;
export const DEFAULT_CLEANUP_BATCH_SIZE = 500;

/** Options of {@link createAccessControl}. */
export interface AccessControlOptions {
  sessions: SessionService;
  users: UserStore;
  checks: AccessTokenChecks;
  /** True when logins start sessions (then every fresh access token carries a `sid`). */
  sessionsAtLogin: boolean;
  /**
   * The access tokens' clock tolerance: a revoked token is refused that long past its `exp`.
   * Other revocations are kept for the session service's `revocationRetentionSeconds`.
   */
  clockToleranceSeconds?: number;
  cache?: Omit<RevocationCacheOptions, "store">;
  cleanup?: { intervalSeconds?: number; batchSize?: number; endedRetentionSeconds?: number };
  /** Told about each cleanup batch's failure; the next interval tries again. */
  onCleanupError?: (error: unknown) => void;
  now?: () => number;
}

/** What a password change did: the sessions it ended and the new session, when logins start them. */
export interface PasswordChanged {
  ended: EndedUserAccess;
  issued: IssuedRefreshToken | null;
}

/** Logout, revocation and account changes that end access; see {@link createAccessControl}. */
export interface AccessControl {
  readonly checks: AccessTokenChecks;
  readonly cache: RevocationCache | undefined;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Whether a verified token's claims still open routes. Synchronous in `session` mode unless its view is stale. */
  isAllowed(claims: AccessTokenClaims): boolean | Promise<boolean>;
  /** Ends `scope`'s sessions for the holder of these claims. Resolves to `null` when their user is gone. */
  logout(claims: AccessTokenClaims, scope: LogoutScope): Promise<EndedUserAccess | null>;
  /** RFC 7009 for a refresh token: ends its session. Resolves to the session, or `null` for a token that names none alive. */
  revokeRefreshToken(token: string): Promise<StoredSession | null>;
  /** RFC 7009 for a verified access token: refused from now on until its `exp`. */
  revokeAccessToken(claims: AccessTokenClaims): Promise<void>;
  /**
   * Replaces `from` with `to` as the user's hash, ends every session and every older access token
   * in the same transaction, and starts a new session for the caller when logins start them.
   * Resolves to `null` when the hash was no longer `from` (a concurrent change): nothing changed.
   */
  changePassword(
    user: { id: string; username: string },
    hashes: { from: string; to: string },
    login: Omit<SessionStart, "userId" | "username" | "ifPasswordHash">,
  ): Promise<PasswordChanged | null>;
  /** Deletes the user and every session, and refuses all their tokens at once. `null` when there was no such user. */
  deleteUser(user: { id: string; username: string }): Promise<EndedUserAccess | null>;
  /** Ends one of the user's sessions; `false` when the user has no such live session. */
  endSession(userId: string, sessionId: string): Promise<boolean>;
  /** Deletes ended sessions and expired revocations in batches; resolves to the sessions deleted. */
  cleanup(): Promise<number>;
}

/**
 * Everything that ends access before tokens expire, on one {@link SessionStore}. Every change is
 * recorded as revocations in the store (one transaction with the change itself) and applied to
 * this process's cache at once; other processes learn of it through the feed within seconds.
 */
export function createAccessControl(options: AccessControlOptions): AccessControl {
  const { sessions, users, checks } = options;
  const { store } = sessions;
  if (!ACCESS_TOKEN_CHECKS.includes(checks)) {
    throw new InvalidOptionsError(
      `accessTokenChecks must be one of ${ACCESS_TOKEN_CHECKS.join(", ")}, got ${String(checks)}`,
    );
  }
  const clock = options.now ?? Date.now;
  const toleranceMs = (options.clockToleranceSeconds ?? 0) * 1000;
  const retentionMs = sessions.options.revocationRetentionSeconds * 1000;
  const cleanupIntervalMs = (options.cleanup?.intervalSeconds ?? DEFAULT_CLEANUP_INTERVAL_SECONDS) * 1000;
  const batchSize = options.cleanup?.batchSize ?? DEFAULT_CLEANUP_BATCH_SIZE;
  const endedRetentionMs = (options.cleanup?.endedRetentionSeconds ?? DEFAULT_ENDED_SESSION_RETENTION_SECONDS) * 1000;
  const cache = checks === "session" ? createRevocationCache({ store, ...options.cache }) : undefined;
  let cleanupTimer: NodeJS.Timeout | undefined;
  let cleaning: Promise<number> | undefined;

  const notRevoked = (revoked: boolean) => !revoked;

  async function end(request: Omit<EndUserAccess, "revocationsExpireAt">): Promise<EndedUserAccess> {
    const ended = await store.endUserAccess({ ...request, revocationsExpireAt: new Date(clock() + retentionMs) });
    cache?.add(ended.revocations);
    return ended;
  }

  /** The account the claims name: never another one created later under the same name (`uid`). */
  async function userIdOf(claims: AccessTokenClaims): Promise<string | null> {
    if (claims.sid !== undefined) {
      const session = await store.findSession(claims.sid);
      if (session !== null && session.username === claims.sub) {
        return claims.uid === undefined || claims.uid === session.userId ? session.userId : null;
      }
    }
    const user = await users.findByUsername(claims.sub);
    if (user === null || (claims.uid !== undefined && claims.uid !== user.id)) return null;
    return user.id;
  }

  async function cleanupBatches(): Promise<number> {
    const now = clock();
    const cutoff = {
      endedBefore: new Date(now - endedRetentionMs),
      lastUsedBefore: new Date(now - sessions.options.idleTimeoutSeconds * 1000 - endedRetentionMs),
      limit: batchSize,
    };
    let total = 0;
    for (;;) {
      const deleted = await store.deleteEndedSessions(cutoff);
      total += deleted;
      if (deleted < batchSize) return total;
      // Let requests through between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  const control: AccessControl = {
    checks,
    cache,

    async start() {
      await cache?.start();
      cleanupTimer = setInterval(() => {
        control.cleanup().catch((error) => options.onCleanupError?.(error));
      }, cleanupIntervalMs);
      cleanupTimer.unref();
    },

    async close() {
      if (cleanupTimer !== undefined) clearInterval(cleanupTimer);
      await cleaning?.catch(() => undefined);
      await cache?.close();
    },

    isAllowed(claims) {
      if (checks === "stateless") return true;
      if (cache !== undefined) {
        const verdict = cache.check(claims);
        if (verdict !== "stale") return verdict === "allowed";
      }
      return store.isAccessRevoked(claims).then(notRevoked);
    },

    async logout(claims, scope) {
      const userId = await userIdOf(claims);
      if (userId === null) return null;
      const { sub: username, sid } = claims;
      const base = { userId, username, reason: `logout_${scope}` };
      // Without sessions, the user's next login may come within this second: its token must pass.
      const notBefore = () => tokensNotBefore(clock(), options.sessionsAtLogin);
      if (scope === "global") return end({ ...base, sessions: "all", tokensNotBefore: notBefore() });
      if (sid !== undefined) return end({ ...base, sessions: scope === "local" ? { only: sid } : { keep: sid } });
      if (scope === "others") return end({ ...base, sessions: "all" });
      // A token without a session: end it alone by its jti, or (the original's tokens have none)
      // every session-less token of the user.
      if (claims.jti !== undefined) {
        await control.revokeAccessToken(claims);
        return { applied: true, endedSessionIds: [], revocations: [] };
      }
      return end({ ...base, sessions: "none", tokensNotBefore: notBefore() });
    },

    async revokeRefreshToken(token) {
      const session = await sessions.identify(token);
      if (session === null) return null;
      await end({
        userId: session.userId,
        username: session.username,
        sessions: { only: session.id },
        reason: "revoked",
      });
      return session;
    },

    async revokeAccessToken(claims) {
      if (claims.jti === undefined) {
        // The original's tokens carry no jti: refuse every session-less token of the user instead.
        const userId = await userIdOf(claims);
        if (userId !== null) {
          await end({
            userId,
            username: claims.sub,
            sessions: "none",
            reason: "revoked",
            tokensNotBefore: tokensNotBefore(clock(), options.sessionsAtLogin),
          });
        }
        return;
      }
      // Until the token's exp plus the clock tolerance verifiers allow, and a minute.
      const expiresAt = new Date(Math.max(claims.exp * 1000, clock()) + toleranceMs + 60_000);
      cache?.add([await store.revokeAccessToken(claims.jti, expiresAt)]);
    },

    async changePassword(user, hashes, login) {
      const ended = await end({
        userId: user.id,
        username: user.username,
        sessions: "all",
        reason: "password_change",
        // With sessions, the caller's fresh token carries a new sid, so every session-less token
        // may go; without, the fresh token is session-less and issued in this very second.
        tokensNotBefore: tokensNotBefore(clock(), options.sessionsAtLogin),
        passwordChange: hashes,
      });
      if (!ended.applied) return null;
      const issued = options.sessionsAtLogin
        ? await sessions.start({ ...login, userId: user.id, username: user.username, ifPasswordHash: hashes.to })
        : null;
      return { ended, issued };
    },

    async deleteUser(user) {
      const ended = await end({
        userId: user.id,
        username: user.username,
        sessions: "all",
        reason: "user_deleted",
        tokensNotBefore: tokensNotBefore(clock(), true),
        deleteUser: true,
      });
      return ended.applied ? ended : null;
    },

    async endSession(userId, sessionId) {
      const session = await store.findSession(sessionId);
      if (session === null || session.userId !== userId || !sessions.isAlive(session)) return false;
      const ended = await end({ userId, username: session.username, sessions: { only: sessionId }, reason: "ended" });
      return ended.endedSessionIds.length > 0;
    },

    cleanup() {
      cleaning ??= cleanupBatches().finally(() => {
        cleaning = undefined;
      });
      return cleaning;
    },
  };
  return control;
}
