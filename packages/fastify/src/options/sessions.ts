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

const SESSION_STORE_METHODS = ["createSession", "findSession", "updateSessionLocked"] as const;
const REFRESH_OPTION_NAMES = new Set(["reuseWindowSeconds", "idleTimeoutSeconds", "absoluteTimeoutSeconds"]);

/**
 * The session service, when there is a session store and refresh tokens are not turned off;
 * `undefined` otherwise (then `/token` answers access tokens only, as the original does).
 */
export function resolveSessions(
  sessionStore: unknown,
  refreshTokens: unknown,
  secret: string | Uint8Array,
): SessionService | undefined {
  if (refreshTokens === false) return undefined;
  if (refreshTokens !== undefined && (typeof refreshTokens !== "object" || refreshTokens === null)) {
    fail("option `refreshTokens` must be false or an object");
  }
  const settings = (refreshTokens ?? {}) as LatchkeyRefreshTokenOptions;
  const unknown = Object.keys(settings).filter((key) => !REFRESH_OPTION_NAMES.has(key));
  if (unknown.length > 0) fail(`unknown option(s) ${unknown.map((key) => `\`refreshTokens.${key}\``).join(", ")}`);
  if (sessionStore === undefined) {
    if (refreshTokens !== undefined) fail("option `refreshTokens` needs a `sessionStore` to keep the sessions in");
    return undefined;
  }
  if (!hasMethods(sessionStore, SESSION_STORE_METHODS)) {
    fail(
      "option `sessionStore` must implement SessionStore (createSession, findSession, updateSessionLocked): " +
        "e.g. createMemorySessionStore() from @latchkey/core or createKyselySessionStore(db) from @latchkey/kysely",
    );
  }
  try {
    return createSessionService({
      store: sessionStore as SessionStore,
      secret,
      ...(settings.reuseWindowSeconds !== undefined && { reuseWindowSeconds: settings.reuseWindowSeconds }),
      ...(settings.idleTimeoutSeconds !== undefined && { idleTimeoutSeconds: settings.idleTimeoutSeconds }),
      ...(settings.absoluteTimeoutSeconds !== undefined && { absoluteTimeoutSeconds: settings.absoluteTimeoutSeconds }),
    });
  } catch (error) {
    return rethrowWithPrefix(error, "refreshTokens");
  }
}
