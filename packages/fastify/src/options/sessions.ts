import { createSessionService, type SessionService, type SessionStore } from "@latchkey/core";
import { fail, hasMethods, rethrowWithPrefix } from "./checks.js";

/** Refresh-token settings of the plugin (see `@latchkey/core`'s `SessionOptions`). */
export interface LatchkeyRefreshTokenOptions {
  /** Seconds a rotated-away token still gets the current one back. 0 to 60; default 10. */
  reuseWindowSeconds?: number | undefined;
  /** Seconds without a refresh after which a session ends. Default 7 days. */
  idleTimeoutSeconds?: number | undefined;
  /** Seconds after login after which a session ends. Default 30 days. */
  absoluteTimeoutSeconds?: number | undefined;
}

const SESSION_STORE_METHODS = [
  "createSession",
  "findSession",
  "updateSessionLocked",
  "listSessions",
  "endUserAccess",
  "revokeAccessToken",
  "readRevocations",
  "isAccessRevoked",
  "deleteEndedSessions",
] as const;
const REFRESH_OPTION_NAMES = new Set(["reuseWindowSeconds", "idleTimeoutSeconds", "absoluteTimeoutSeconds"]);

/** Sessions as configured: the service whenever there is a store, and whether logins start sessions. */
export interface ResolvedSessions {
  /** The session service, when there is a session store (for logout, revocation and the session list too). */
  service: SessionService | undefined;
  /** Whether logins start sessions and `/token` takes the refresh grant (not when `refreshTokens: false`). */
  atLogin: boolean;
}

/**
 * The session service, when there is a session store. Refresh tokens are on with it unless
 * `refreshTokens: false` (then `/token` answers access tokens only, as the original does).
 */
export function resolveSessions(
  sessionStore: unknown,
  refreshTokens: unknown,
  secret: string | Uint8Array,
  revocationRetentionSeconds: number,
): ResolvedSessions {
  if (
    refreshTokens !== false &&
    refreshTokens !== undefined &&
    (typeof refreshTokens !== "object" || refreshTokens === null)
  ) {
    fail("option `refreshTokens` must be false or an object");
  }
  const settings = (refreshTokens || {}) as LatchkeyRefreshTokenOptions;
  const unknown = Object.keys(settings).filter((key) => !REFRESH_OPTION_NAMES.has(key));
  if (unknown.length > 0) fail(`unknown option(s) ${unknown.map((key) => `\`refreshTokens.${key}\``).join(", ")}`);
  if (sessionStore === undefined) {
    if (refreshTokens !== undefined && refreshTokens !== false) {
      fail("option `refreshTokens` needs a `sessionStore` to keep the sessions in");
    }
    return { service: undefined, atLogin: false };
  }
  if (!hasMethods(sessionStore, SESSION_STORE_METHODS)) {
    fail(
      `option \`sessionStore\` must implement SessionStore (${SESSION_STORE_METHODS.join(", ")}): ` +
        "e.g. createMemorySessionStore({ users: store }) from @latchkey/core or createKyselySessionStore(db) from @latchkey/kysely",
    );
  }
  try {
    const service = createSessionService({
      store: sessionStore as SessionStore,
      secret,
      revocationRetentionSeconds,
      ...(settings.reuseWindowSeconds !== undefined && { reuseWindowSeconds: settings.reuseWindowSeconds }),
      ...(settings.idleTimeoutSeconds !== undefined && { idleTimeoutSeconds: settings.idleTimeoutSeconds }),
      ...(settings.absoluteTimeoutSeconds !== undefined && { absoluteTimeoutSeconds: settings.absoluteTimeoutSeconds }),
    });
    return { service, atLogin: refreshTokens !== false };
  } catch (error) {
    return rethrowWithPrefix(error, "refreshTokens");
  }
}
