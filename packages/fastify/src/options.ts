import {
  type AccessControl,
  type AccessTokenChecks,
  assertStoreSupportsUniqueness,
  type HmacAlgorithm,
  type Keyring,
  type PasswordHasher,
  type PasswordPolicy,
  resolvePasswordPolicy,
  resolveUsernamePolicy,
  type SessionService,
  type SessionStore,
  type TokenService,
  toFastJwtOptions,
  type UsernamePolicy,
  type UserStore,
} from "@latchkey/core";
import type { FastifyBaseLogger } from "fastify";
import type { AdmissionHasher } from "./limits/admission.js";
import { type LatchkeySessionCleanupOptions, resolveAccess, revocationRetentionSeconds } from "./options/access.js";
import { fail, hasMethods, isPositiveInteger, rethrowWithPrefix } from "./options/checks.js";
import { resolveAdmission, resolveHasher } from "./options/hashing.js";
import { type LatchkeyRateLimitOptions, type ResolvedRateLimits, resolveRateLimits } from "./options/rate-limits.js";
import { type LatchkeyRefreshTokenOptions, resolveSessions } from "./options/sessions.js";
import { type LatchkeyKeyOptions, resolveTokens } from "./options/tokens.js";
import type {
  LatchkeyHook,
  LoginEvent,
  LoginFailedEvent,
  LogoutEvent,
  PasswordChangeEvent,
  RefreshEvent,
  RefreshFailedEvent,
  RefreshReuseEvent,
  RevokeEvent,
  SessionEndedEvent,
  UserCreatedEvent,
  UserDeletedEvent,
} from "./types.js";

export type { LatchkeySessionCleanupOptions } from "./options/access.js";
export {
  DEFAULT_LOGIN_FAILURE_LIMIT,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_SIGN_UP_RATE_LIMIT,
  DEFAULT_TOKEN_RATE_LIMIT,
  type LatchkeyRateLimitOptions,
  type ResolvedRateLimits,
} from "./options/rate-limits.js";
export type { LatchkeyRefreshTokenOptions } from "./options/sessions.js";
export type { LatchkeyKeyOptions } from "./options/tokens.js";

/** Default size limit of a request body on Latchkey's routes: 16 KiB, far above any valid sign-up or login. */
export const DEFAULT_BODY_LIMIT = 16 * 1024;
/** Default `Retry-After`, in seconds, sent with a 503 when the user store is unavailable. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Options of the {@link latchkey} plugin. Checked when the plugin registers; a mistake fails `app.ready()`. */
export interface LatchkeyOptions {
  /** Where users live: `createMemoryUserStore()` from `@latchkey/core`, `createKyselyUserStore(db)`, or your own. Required. */
  store: UserStore;
  /** HMAC signing key, at least 32 bytes for HS256 (48 for HS384, 64 for HS512). The original's `SECRET_KEY`. Required. */
  secret: string | Uint8Array;
  /** The one algorithm tokens are signed with and accepted in. Default `HS256`, as the original. */
  algorithm?: HmacAlgorithm | undefined;
  /** Access token lifetime in seconds. Default 1800 (the original's `ACCESS_TOKEN_EXPIRE_MINUTES = 30`). */
  expiresInSeconds?: number | undefined;
  /** `iss` to put in tokens and to require in tokens presented. Default: none. */
  issuer?: string | undefined;
  /** `aud` to put in tokens and to require in tokens presented. Default: none. */
  audience?: string | undefined;
  /** Allowed clock skew when checking `exp`/`nbf`, in seconds. Default 0. */
  clockToleranceSeconds?: number | undefined;
  /** Bearer tokens longer than this many bytes are refused before parsing. Default 4096. */
  maxTokenBytes?: number | undefined;
  /**
   * Verified tokens remembered until their `exp` (least recently used go first), so a token
   * presented again skips the signature check. 0 turns it off. Default 1000.
   */
  verifiedTokenCacheSize?: number | undefined;
  /**
   * A keyring for signing keys (asymmetric algorithms, `kid`, rotation, revocation, JWKS at
   * `/.well-known/jwks.json`). Default: none, and `secret` signs every token, as the original.
   */
  keys?: LatchkeyKeyOptions | undefined;
  /** bcrypt cost (4..31) for new hashes; weaker stored hashes are upgraded on login. Default 12. Exclusive with `hasher`. */
  bcryptCost?: number | undefined;
  /** A custom {@link PasswordHasher} in place of bcrypt. Exclusive with `bcryptCost`. */
  hasher?: PasswordHasher | undefined;
  /**
   * Username lengths (default 1..150 characters) and `uniqueness`: `exact` (default, the
   * original's), `case-insensitive` or `confusable` (needs a store with username keys, such as the
   * Kysely and memory stores; their keys are brought up to date when the plugin registers).
   */
  usernamePolicy?: UsernamePolicy | undefined;
  /** Password rules for new users. Default: at least 8 characters (and at most 72 bytes with bcrypt). */
  passwordPolicy?: PasswordPolicy | undefined;
  /** Path prefix of the routes, e.g. `/auth` gives `POST /auth/token`. Default `""` (the original's paths). */
  // Plain `string`: Fastify's own register options declare `prefix?: string`, and both must agree.
  prefix?: string;
  /**
   * Whether `app.authenticate` also looks the token's user up in the store and refuses tokens of
   * deleted users at once (one store read per request). Default `false`: a signed, unexpired token
   * is enough, as with any stateless JWT, so a deleted user's token works until its `exp`.
   * `GET /users/me` always looks up.
   */
  requireExistingUser?: boolean | undefined;
  /**
   * Status of a failed password grant on `POST /token` (wrong password or unknown user; the body
   * carries `"error": "invalid_grant"` either way). Default `401` with `WWW-Authenticate: Bearer`,
   * as the original answers. `400` without the challenge is RFC 6749 section 5.2's answer, for OAuth
   * clients (such as `openid-client`) that treat any 401 challenge as a request to authenticate.
   */
  invalidGrantStatus?: 400 | 401 | undefined;
  /** Largest request body, in bytes, Latchkey's routes accept (413 above). Default 16 KiB. */
  bodyLimit?: number | undefined;
  /** Seconds to put in `Retry-After` when the store is unavailable (503). Default 5. */
  retryAfterSeconds?: number | undefined;
  /**
   * Name of an OpenAPI security scheme the host declares (e.g. with `@fastify/swagger`); routes
   * that need a bearer token list it under `security`, so "Authorize" in the docs page works.
   * Default: none.
   */
  openApiSecurityScheme?: string | undefined;
  /**
   * Password hash/verify operations that may run at once. Default: one per core, and at most
   * `UV_THREADPOOL_SIZE` − 1 (3 unless set), so file and DNS work always has a thread.
   */
  maxConcurrentHashes?: number | undefined;
  /**
   * Hash/verify operations that may wait for a slot; beyond it requests get 503 `OVERLOADED` with
   * `Retry-After` at once. Default 8 × `maxConcurrentHashes`. 0 refuses whenever all slots are busy.
   */
  maxQueuedHashes?: number | undefined;
  /** Rate limits per address and failed-login limits per username; `false` turns all off. Default: on. */
  rateLimit?: LatchkeyRateLimitOptions | false | undefined;
  /** Called after a user was created. */
  onUserCreated?: LatchkeyHook<UserCreatedEvent> | undefined;
  /** Called after a successful login. */
  onLogin?: LatchkeyHook<LoginEvent> | undefined;
  /** Called after a refused login (unknown user or wrong password). */
  onLoginFailed?: LatchkeyHook<LoginFailedEvent> | undefined;
  /**
   * Where sessions live: `createMemorySessionStore({ users: store })` from `@latchkey/core` or
   * `createKyselySessionStore(db)` from `@latchkey/kysely`. With one, a login starts a session and
   * `/token` also answers rotating refresh tokens (`grant_type=refresh_token`). Default: none, and
   * `/token` answers access tokens only, as the original.
   */
  sessionStore?: SessionStore | undefined;
  /** Refresh-token timing, or `false` to turn refresh tokens off even with a `sessionStore`. */
  refreshTokens?: LatchkeyRefreshTokenOptions | false | undefined;
  /** Called after a refresh token was exchanged (`replayed` when it was answered inside the reuse window). */
  onRefresh?: LatchkeyHook<RefreshEvent> | undefined;
  /** Called after a refresh token was refused, with the reason the client is never told. */
  onRefreshFailed?: LatchkeyHook<RefreshFailedEvent> | undefined;
  /**
   * Called when a rotated-away refresh token came back after the reuse window: the token was
   * copied, and the whole session has been revoked. Tell the session's owner.
   */
  onRefreshReuse?: LatchkeyHook<RefreshReuseEvent> | undefined;
  /**
   * What `app.authenticate` checks beyond the signature and `exp`: `"stateless"` (nothing: a
   * logged-out or deleted user's token works until it expires), `"session"` (the token's session
   * is alive and no logout, revocation, password change or deletion ended it; from an in-process
   * copy of the revocations that every instance keeps within seconds of the store, no read per
   * request), or `"strict"` (the same, read from the store on every request). Default `"session"`
   * with a `sessionStore`, `"stateless"` without (the only choice then).
   */
  accessTokenChecks?: AccessTokenChecks | undefined;
  /** When ended sessions and expired revocations are deleted (in small batches, in the background). */
  sessionCleanup?: LatchkeySessionCleanupOptions | undefined;
  /** Called after `POST /logout` ended sessions (`scope` as asked). */
  onLogout?: LatchkeyHook<LogoutEvent> | undefined;
  /** Called after `POST /revoke` revoked a token (never for unknown or invalid ones). */
  onRevoke?: LatchkeyHook<RevokeEvent> | undefined;
  /** Called after a password change through `POST /users/me/password`. */
  onPasswordChange?: LatchkeyHook<PasswordChangeEvent> | undefined;
  /** Called after `DELETE /users/me` deleted a user. */
  onUserDeleted?: LatchkeyHook<UserDeletedEvent> | undefined;
  /** Called once per session ended by a logout, a revocation, a password change, a deletion or `DELETE /users/me/sessions/{id}`. */
  onSessionEnded?: LatchkeyHook<SessionEndedEvent> | undefined;
}

/** {@link LatchkeyOptions} checked, with defaults filled in and core objects built. */
export interface ResolvedLatchkeyOptions {
  readonly store: UserStore;
  readonly tokens: TokenService;
  /** The signing keys, with the `keys` option. */
  readonly keyring: Keyring | undefined;
  /** Sessions and refresh tokens, when on. */
  readonly sessions: SessionService | undefined;
  /** The session service whenever there is a session store, refresh tokens on or off. */
  readonly sessionService: SessionService | undefined;
  /** Logout, revocation and account changes, and the access-token checks, with a session store. */
  readonly access: AccessControl | undefined;
  readonly accessTokenChecks: AccessTokenChecks;
  readonly jwt: ReturnType<typeof toFastJwtOptions>;
  readonly hasher: AdmissionHasher;
  readonly rateLimits: ResolvedRateLimits;
  readonly usernamePolicy: Required<UsernamePolicy>;
  readonly passwordPolicy: Required<PasswordPolicy>;
  readonly prefix: string;
  readonly requireExistingUser: boolean;
  readonly invalidGrantStatus: 400 | 401;
  readonly bodyLimit: number;
  readonly retryAfterSeconds: number;
  readonly openApiSecurityScheme: string | undefined;
  readonly hooks: {
    readonly onUserCreated: LatchkeyHook<UserCreatedEvent> | undefined;
    readonly onLogin: LatchkeyHook<LoginEvent> | undefined;
    readonly onLoginFailed: LatchkeyHook<LoginFailedEvent> | undefined;
    readonly onRefresh: LatchkeyHook<RefreshEvent> | undefined;
    readonly onRefreshFailed: LatchkeyHook<RefreshFailedEvent> | undefined;
    readonly onRefreshReuse: LatchkeyHook<RefreshReuseEvent> | undefined;
    readonly onLogout: LatchkeyHook<LogoutEvent> | undefined;
    readonly onRevoke: LatchkeyHook<RevokeEvent> | undefined;
    readonly onPasswordChange: LatchkeyHook<PasswordChangeEvent> | undefined;
    readonly onUserDeleted: LatchkeyHook<UserDeletedEvent> | undefined;
    readonly onSessionEnded: LatchkeyHook<SessionEndedEvent> | undefined;
  };
}

const OPTION_NAMES = new Set<string>([
  "store",
  "secret",
  "algorithm",
  "expiresInSeconds",
  "issuer",
  "audience",
  "clockToleranceSeconds",
  "maxTokenBytes",
  "verifiedTokenCacheSize",
  "keys",
  "bcryptCost",
  "hasher",
  "usernamePolicy",
  "passwordPolicy",
  "prefix",
  "requireExistingUser",
  "invalidGrantStatus",
  "bodyLimit",
  "retryAfterSeconds",
  "openApiSecurityScheme",
  "maxConcurrentHashes",
  "maxQueuedHashes",
  "rateLimit",
  "onUserCreated",
  "onLogin",
  "onLoginFailed",
  "sessionStore",
  "refreshTokens",
  "onRefresh",
  "onRefreshFailed",
  "onRefreshReuse",
  "accessTokenChecks",
  "sessionCleanup",
  "onLogout",
  "onRevoke",
  "onPasswordChange",
  "onUserDeleted",
  "onSessionEnded",
  // Fastify's own register options, which it passes along to every plugin.
  "logLevel",
  "logSerializers",
]);

const STORE_METHODS = ["findByUsername", "create", "updatePasswordHash", "deleteByUsername"] as const;
function resolvePrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === "" || prefix === "/") return "";
  if (typeof prefix !== "string" || !prefix.startsWith("/") || /\s/.test(prefix)) {
    fail(`option \`prefix\` must be a path starting with "/", such as "/auth", got ${JSON.stringify(prefix)}`);
  }
  return prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
}

function resolveHook<Event>(name: string, hook: unknown): LatchkeyHook<Event> | undefined {
  if (hook !== undefined && typeof hook !== "function") fail(`option \`${name}\` must be a function`);
  return hook as LatchkeyHook<Event> | undefined;
}

/**
 * Checks the plugin's options and builds the core objects they describe, once, at registration.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a missing store, an unknown option, a bad
 *   expiry, cost, policy, prefix, limit or hook; the message names the option.
 * @throws {WeakSecretError} `WEAK_SECRET` for a missing, short or placeholder secret.
 */
export function resolveLatchkeyOptions(options: LatchkeyOptions, log?: FastifyBaseLogger): ResolvedLatchkeyOptions {
  if (typeof options !== "object" || options === null) fail("options are required: { store, secret }");
  const unknown = Object.keys(options).filter((key) => !OPTION_NAMES.has(key));
  if (unknown.length > 0) fail(`unknown option(s) ${unknown.map((key) => `\`${key}\``).join(", ")}`);
  if (!hasMethods(options.store, STORE_METHODS)) {
    fail(
      "option `store` is required and must implement UserStore (findByUsername, create, updatePasswordHash, " +
        "deleteByUsername): e.g. createMemoryUserStore() from @latchkey/core",
    );
  }

  const { tokens, keyring } = resolveTokens(options, (message) => log?.warn(`latchkey keys: ${message}`));
  const hasher = resolveAdmission(options, resolveHasher(options));
  const rateLimits = resolveRateLimits(options.rateLimit, log);
  let usernamePolicy: Required<UsernamePolicy>;
  let passwordPolicy: Required<PasswordPolicy>;
  try {
    usernamePolicy = resolveUsernamePolicy(options.usernamePolicy);
    assertStoreSupportsUniqueness(options.store, usernamePolicy.uniqueness);
  } catch (error) {
    return rethrowWithPrefix(error, "usernamePolicy");
  }
  try {
    passwordPolicy = resolvePasswordPolicy(options.passwordPolicy);
  } catch (error) {
    return rethrowWithPrefix(error, "passwordPolicy");
  }

  const requireExistingUser = options.requireExistingUser ?? false;
  if (typeof requireExistingUser !== "boolean") fail("option `requireExistingUser` must be a boolean");
  const invalidGrantStatus = options.invalidGrantStatus ?? 401;
  if (invalidGrantStatus !== 400 && invalidGrantStatus !== 401) {
    fail(`option \`invalidGrantStatus\` must be 400 or 401, got ${String(invalidGrantStatus)}`);
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!isPositiveInteger(bodyLimit)) fail(`option \`bodyLimit\` must be a positive integer, got ${String(bodyLimit)}`);
  const retryAfterSeconds = options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
  if (!isPositiveInteger(retryAfterSeconds)) {
    fail(`option \`retryAfterSeconds\` must be a positive integer, got ${String(retryAfterSeconds)}`);
  }

  const { openApiSecurityScheme } = options;
  if (openApiSecurityScheme !== undefined && (typeof openApiSecurityScheme !== "string" || !openApiSecurityScheme)) {
    fail("option `openApiSecurityScheme` must be a non-empty string");
  }

  const sessions = resolveSessions(
    options.sessionStore,
    options.refreshTokens,
    options.secret,
    revocationRetentionSeconds(tokens),
  );
  const access = resolveAccess(options, sessions, options.store, tokens, log);

  return {
    store: options.store,
    tokens,
    keyring,
    sessions: sessions.atLogin ? sessions.service : undefined,
    sessionService: sessions.service,
    access: access.control,
    accessTokenChecks: access.checks,
    jwt: toFastJwtOptions(tokens.options),
    hasher,
    rateLimits,
    usernamePolicy,
    passwordPolicy,
    prefix: resolvePrefix(options.prefix),
    requireExistingUser,
    invalidGrantStatus,
    bodyLimit,
    retryAfterSeconds,
    openApiSecurityScheme,
    hooks: {
      onUserCreated: resolveHook<UserCreatedEvent>("onUserCreated", options.onUserCreated),
      onLogin: resolveHook<LoginEvent>("onLogin", options.onLogin),
      onLoginFailed: resolveHook<LoginFailedEvent>("onLoginFailed", options.onLoginFailed),
      onRefresh: resolveHook<RefreshEvent>("onRefresh", options.onRefresh),
      onRefreshFailed: resolveHook<RefreshFailedEvent>("onRefreshFailed", options.onRefreshFailed),
      onRefreshReuse: resolveHook<RefreshReuseEvent>("onRefreshReuse", options.onRefreshReuse),
      onLogout: resolveHook<LogoutEvent>("onLogout", options.onLogout),
      onRevoke: resolveHook<RevokeEvent>("onRevoke", options.onRevoke),
      onPasswordChange: resolveHook<PasswordChangeEvent>("onPasswordChange", options.onPasswordChange),
      onUserDeleted: resolveHook<UserDeletedEvent>("onUserDeleted", options.onUserDeleted),
      onSessionEnded: resolveHook<SessionEndedEvent>("onSessionEnded", options.onSessionEnded),
    },
  };
}
