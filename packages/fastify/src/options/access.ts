import {
  ACCESS_TOKEN_CHECKS,
  type AccessControl,
  type AccessTokenChecks,
  createAccessControl,
  type SessionService,
  type TokenService,
  type UserStore,
} from "@latchkey/core";
import type { FastifyBaseLogger } from "fastify";
import { loggable } from "../errors.js";
import { fail, isPositiveInteger, rethrowWithPrefix } from "./checks.js";

/** When ended sessions and expired revocations are deleted (see `@latchkey/core`'s `createAccessControl`). */
export interface LatchkeySessionCleanupOptions {
  /** Seconds between runs. Default 600. */
  intervalSeconds?: number | undefined;
  /** Sessions deleted per statement. Default 500. */
  batchSize?: number | undefined;
  /** Seconds an ended session is kept before it is deleted. Default 1 day. */
  endedRetentionSeconds?: number | undefined;
}

const CLEANUP_OPTION_NAMES = new Set(["intervalSeconds", "batchSize", "endedRetentionSeconds"]);

/** The seconds a revocation must be kept: the longest an access token it refuses may live, and a minute. */
export function revocationRetentionSeconds(tokens: TokenService): number {
  return Math.ceil(tokens.options.expiresInSeconds + tokens.options.clockToleranceSeconds) + 60;
}

/**
 * The access-token checks and the access control that serves logout, revocation and account
 * changes, when there is a session store. `accessTokenChecks` defaults to `session` with a store
 * and must be `stateless` (its default) without one.
 */
export function resolveAccess(
  options: { accessTokenChecks?: unknown; sessionCleanup?: unknown },
  sessions: { service: SessionService | undefined; atLogin: boolean },
  users: UserStore,
  tokens: TokenService,
  log: FastifyBaseLogger | undefined,
): { checks: AccessTokenChecks; control: AccessControl | undefined } {
  const checks = options.accessTokenChecks ?? (sessions.service === undefined ? "stateless" : "session");
  if (!ACCESS_TOKEN_CHECKS.includes(checks as AccessTokenChecks)) {
    fail(
      `option \`accessTokenChecks\` must be one of ${ACCESS_TOKEN_CHECKS.map((c) => `"${c}"`).join(", ")}, got ${JSON.stringify(checks)}`,
    );
  }
  if (sessions.service === undefined) {
    if (checks !== "stateless")
      fail(`option \`accessTokenChecks: "${String(checks)}"\` needs a \`sessionStore\` that records revocations`);
    if (options.sessionCleanup !== undefined) fail("option `sessionCleanup` needs a `sessionStore`");
    return { checks: "stateless", control: undefined };
  }
  const cleanup = options.sessionCleanup;
  if (cleanup !== undefined && (typeof cleanup !== "object" || cleanup === null)) {
    fail("option `sessionCleanup` must be an object");
  }
  const settings = (cleanup ?? {}) as LatchkeySessionCleanupOptions;
  for (const [key, value] of Object.entries(settings)) {
    if (!CLEANUP_OPTION_NAMES.has(key)) fail(`unknown option \`sessionCleanup.${key}\``);
    if (value !== undefined && !isPositiveInteger(value)) {
      fail(`option \`sessionCleanup.${key}\` must be a positive integer, got ${String(value)}`);
    }
  }
  try {
    const control = createAccessControl({
      sessions: sessions.service,
      users,
      checks: checks as AccessTokenChecks,
      sessionsAtLogin: sessions.atLogin,
      clockToleranceSeconds: tokens.options.clockToleranceSeconds,
      cleanup: {
        ...(settings.intervalSeconds !== undefined && { intervalSeconds: settings.intervalSeconds }),
        ...(settings.batchSize !== undefined && { batchSize: settings.batchSize }),
        ...(settings.endedRetentionSeconds !== undefined && { endedRetentionSeconds: settings.endedRetentionSeconds }),
      },
      cache: {
        onEvent: (event) => {
          if (event.type === "listening") {
            if (event.listening) log?.info("latchkey: listening for revocations");
            else
              log?.warn("latchkey: the revocation listener is down; reading revocations each second until it is back");
          } else {
            log?.warn(
              { err: loggable(event.error) },
              "latchkey: reading revocations failed; access tokens are checked against the store until a read succeeds",
            );
          }
        },
      },
      onCleanupError: (error) =>
        log?.warn({ err: loggable(error) }, "latchkey: deleting ended sessions failed; will retry"),
    });
    return { checks: checks as AccessTokenChecks, control };
  } catch (error) {
    return rethrowWithPrefix(error, "accessTokenChecks");
  }
}
