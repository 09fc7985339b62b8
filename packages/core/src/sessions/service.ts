import { hkdfSync, randomBytes, randomUUID } from "node:crypto";
import {
  InvalidCredentialsError,
  InvalidOptionsError,
  type RefreshFailure,
  RefreshTokenInvalidError,
} from "../errors.js";
import { encodeRefreshToken, hasValidTag, parseRefreshToken } from "./refresh-token.js";
import type { NewSession, SessionStore, StoredSession } from "./store.js";

/** Default time a revocation is kept: the default access-token lifetime and a minute. */
export const DEFAULT_REVOCATION_RETENTION_SECONDS = 31 * 60;
/** Default reuse window: a rotated-away token is answered with the current one for 10 s. */
export const DEFAULT_REUSE_WINDOW_SECONDS = 10;
/** The longest reuse window allowed: beyond a minute a stolen token's replay is not a race. */
export const MAX_REUSE_WINDOW_SECONDS = 60;
/** Default idle timeout: a session not refreshed for 7 days ends. */
export const DEFAULT_IDLE_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** Default absolute lifetime: a session ends 30 days after its login, whatever its use. */
export const DEFAULT_ABSOLUTE_TIMEOUT_SECONDS = 30 * 24 * 3600;

/** How sessions and their refresh tokens behave. */
export interface SessionOptions {
  store: SessionStore;
  /**
   * The server's secret (at least 32 bytes). The refresh-token key is derived from it (HKDF, its
   * own label), so it never doubles as the access tokens' signing key.
   */
  secret: string | Uint8Array;
  /** Seconds a rotated-away token still gets the current one back (racing tabs, a lost response). 0 to 60; default 10. */
  reuseWindowSeconds?: number;
  /** Seconds without a refresh after which a session ends. Default 7 days. */
  idleTimeoutSeconds?: number;
  /** Seconds after login after which a session ends. Default 30 days. */
  absoluteTimeoutSeconds?: number;
  /**
   * How long a revocation made by reuse detection is kept: the longest an access token issued for
   * the session can still be valid. Default 30 minutes and a minute (the default access-token lifetime).
   */
  revocationRetentionSeconds?: number;
  /** The clock, in ms since the epoch (tests). Default `Date.now`. */
  now?: () => number;
}

/** Session options with defaults filled in and values checked. */
export interface ResolvedSessionOptions {
  readonly reuseWindowSeconds: number;
  readonly idleTimeoutSeconds: number;
  readonly absoluteTimeoutSeconds: number;
  readonly revocationRetentionSeconds: number;
}

/** Who logs in, and from where (shown in the session list). */
export interface SessionStart {
  userId: string;
  username: string;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** The hash the password was verified against: see {@link NewSession.ifPasswordHash}. */
  ifPasswordHash?: string | undefined;
}

/** A refresh token handed out, with its session. */
export interface IssuedRefreshToken {
  session: StoredSession;
  refreshToken: string;
  /** Seconds until the session ends unless refreshed (the sooner of its idle and absolute ends). */
  refreshExpiresInSeconds: number;
  /** True when a token rotated away within the reuse window was answered with the current one. */
  replayed: boolean;
}

/** Issues and rotates refresh tokens; see {@link createSessionService}. */
export interface SessionService {
  readonly options: ResolvedSessionOptions;
  readonly store: SessionStore;
  /**
   * Starts a session.
   * @throws {InvalidCredentialsError} `INVALID_CREDENTIALS` when the password changed since it
   *   was verified (see {@link SessionStart.ifPasswordHash}).
   */
  start(login: SessionStart): Promise<IssuedRefreshToken>;
  refresh(token: string): Promise<IssuedRefreshToken>;
  /** The live session a well-formed, genuine refresh token belongs to (any generation), or `null`. Changes nothing. */
  identify(token: string): Promise<StoredSession | null>;
  /** The user's live sessions (not revoked, not past their idle or absolute end), newest first. */
  list(userId: string): Promise<StoredSession[]>;
  /** Whether a session is alive now. */
  isAlive(session: StoredSession): boolean;
}

function seconds(name: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const resolved = value ?? fallback;
  if (typeof resolved !== "number" || !Number.isInteger(resolved) || resolved < min || resolved > max) {
    throw new InvalidOptionsError(
      `${name} must be a whole number of seconds from ${min} to ${max}, got ${String(resolved)}`,
    );
  }
  return resolved;
}

/** @throws {InvalidOptionsError} `INVALID_OPTIONS` for an out-of-range window or timeout. */
export function resolveSessionOptions(options: Partial<SessionOptions>): ResolvedSessionOptions {
  return {
    reuseWindowSeconds: seconds(
      "reuseWindowSeconds",
      options.reuseWindowSeconds,
      DEFAULT_REUSE_WINDOW_SECONDS,
      0,
      MAX_REUSE_WINDOW_SECONDS,
    ),
    idleTimeoutSeconds: seconds("idleTimeoutSeconds", options.idleTimeoutSeconds, DEFAULT_IDLE_TIMEOUT_SECONDS, 1),
    absoluteTimeoutSeconds: seconds(
      "absoluteTimeoutSeconds",
      options.absoluteTimeoutSeconds,
      DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
      1,
    ),
    revocationRetentionSeconds: seconds(
      "revocationRetentionSeconds",
      options.revocationRetentionSeconds,
      DEFAULT_REVOCATION_RETENTION_SECONDS,
      1,
    ),
  };
}

/** The refresh-token key for a server secret. */
function deriveRefreshKey(secret: string | Uint8Array): Buffer {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  if (bytes.length < 32) throw new InvalidOptionsError("The session secret must be at least 32 bytes");
  return Buffer.from(hkdfSync("sha256", bytes, "latchkey", "latchkey refresh-token tags v1", 32));
}

type Verdict = { ok: true; session: StoredSession; replayed: boolean } | { ok: false; reason: RefreshFailure };

/**
 * Sessions with rotating refresh tokens and reuse detection (RFC 9700 section 4.14.2), race-safe
 * across instances because every decision on a session runs under its lock in the store.
 *
 * Presenting generation `g` of a session whose current generation is `G`:
 *
 * | `g` | answer | change |
 * | --- | --- | --- |
 * | `G` | the token of `G + 1` | rotate (`G + 1`, last used now) |
 * | `G − 1`, rotated ≤ `reuseWindowSeconds` ago | the token of `G`, byte for byte | none: racing tabs converge on one token, a client whose response was lost can retry |
 * | `G − 1` later, or older | refused (`reused`) | the session is revoked: every token of the login dies |
 * | `> G` | refused (`future_generation`) | none (not a token this server issued) |
 *
 * A tag that does not match (`forged`), an unknown or revoked session, or one past its idle or
 * absolute end is refused without any change. A store failure changes nothing either.
 */
export function createSessionService(options: SessionOptions): SessionService {
  const resolved = resolveSessionOptions(options);
  const { store } = options;
  const key = deriveRefreshKey(options.secret);
  const clock = options.now ?? Date.now;
  const windowMs = resolved.reuseWindowSeconds * 1000;
  const idleMs = resolved.idleTimeoutSeconds * 1000;

  const issue = (session: StoredSession, now: number, replayed: boolean): IssuedRefreshToken => {
    const ends = Math.min(session.absoluteExpiresAt.getTime(), session.lastUsedAt.getTime() + idleMs);
    return {
      session,
      refreshToken: encodeRefreshToken(key, session.id, session.familySalt, session.generation),
      refreshExpiresInSeconds: Math.max(0, Math.floor((ends - now) / 1000)),
      replayed,
    };
  };

  const isAlive = (session: StoredSession, now = clock()) =>
    session.revokedAt === null &&
    now < session.absoluteExpiresAt.getTime() &&
    now < session.lastUsedAt.getTime() + idleMs;

  return {
    options: resolved,
    store,
    isAlive: (session) => isAlive(session),

    async start(login) {
      const now = clock();
      const fields: NewSession = {
        id: randomUUID(),
        userId: login.userId,
        username: login.username,
        familySalt: randomBytes(16),
        createdAt: new Date(now),
        lastUsedAt: new Date(now),
        absoluteExpiresAt: new Date(now + resolved.absoluteTimeoutSeconds * 1000),
        ip: login.ip ?? null,
        userAgent: login.userAgent ?? null,
        ...(login.ifPasswordHash !== undefined && { ifPasswordHash: login.ifPasswordHash }),
      };
      const session = await store.createSession(fields);
      if (session === null) throw new InvalidCredentialsError();
      return issue(session, now, false);
    },

    async identify(token) {
      const parsed = parseRefreshToken(token);
      if (parsed === undefined) return null;
      const session = await store.findSession(parsed.sessionId);
      if (session === null || !hasValidTag(parsed, key, session.familySalt) || !isAlive(session)) return null;
      return session;
    },

    async list(userId) {
      const now = clock();
      return (await store.listSessions(userId)).filter((session) => isAlive(session, now));
    },

    async refresh(token) {
      const parsed = parseRefreshToken(token);
      if (parsed === undefined) throw new RefreshTokenInvalidError("malformed");
      let now = clock();
      let known: StoredSession | null = null;
      const verdict = await store.updateSessionLocked<Verdict>(parsed.sessionId, (session) => {
        now = clock();
        known = session;
        const refuse = (reason: RefreshFailure) => ({ result: { ok: false as const, reason } });
        if (session === null) return refuse("unknown_session");
        if (!hasValidTag(parsed, key, session.familySalt)) return refuse("forged");
        if (session.revokedAt !== null) return refuse("revoked");
        if (now >= session.absoluteExpiresAt.getTime()) return refuse("expired_absolute");
        if (now >= session.lastUsedAt.getTime() + idleMs) return refuse("expired_idle");
        const current = session.generation;
        if (parsed.generation > current) return refuse("future_generation");
        if (parsed.generation === current) {
          const change = { generation: current + 1, rotatedAt: new Date(now), lastUsedAt: new Date(now) };
          return { change, result: { ok: true, session: { ...session, ...change }, replayed: false } };
        }
        const rotatedAt = session.rotatedAt?.getTime();
        if (parsed.generation === current - 1 && rotatedAt !== undefined && now - rotatedAt <= windowMs) {
          return { result: { ok: true, session, replayed: true } };
        }
        return {
          change: {
            revokedAt: new Date(now),
            revokeReason: "reuse",
            revocationExpiresAt: new Date(now + resolved.revocationRetentionSeconds * 1000),
          },
          result: { ok: false, reason: "reused" },
        };
      });
      if (!verdict.ok) {
        const session = known as StoredSession | null;
        throw new RefreshTokenInvalidError(verdict.reason, session ?? undefined);
      }
      return issue(verdict.session, now, verdict.replayed);
    },
  };
}
