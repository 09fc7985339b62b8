import {
  assertStoreSupportsUniqueness,
  createBcryptHasher,
  createTokenService,
  DEFAULT_BCRYPT_COST,
  type HmacAlgorithm,
  InvalidOptionsError,
  type PasswordHasher,
  type PasswordPolicy,
  resolvePasswordPolicy,
  resolveUsernamePolicy,
  type TokenService,
  toFastJwtOptions,
  type UsernamePolicy,
  type UserStore,
  WeakSecretError,
} from "@latchkey/core";
import type { FastifyBaseLogger } from "fastify";
import {
  type AdmissionHasher,
  createAdmissionHasher,
  defaultMaxConcurrentHashes,
  QUEUED_HASHES_PER_SLOT,
} from "./limits/admission.js";
import {
  type CounterStore,
  createMemoryCounterStore,
  createRedisCounterStore,
  type RedisClientLike,
} from "./limits/counters.js";
import type { RateLimitRule } from "./limits/rate-limit.js";
import type { LatchkeyHook, LoginEvent, LoginFailedEvent, UserCreatedEvent } from "./types.js";

/** Default size limit of a request body on Latchkey's routes: 16 KiB, far above any valid sign-up or login. */
export const DEFAULT_BODY_LIMIT = 16 * 1024;
/** Default `Retry-After`, in seconds, sent with a 503 when the user store is unavailable. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** Default limit of `POST /token` requests per client address: 20 a minute. */
export const DEFAULT_TOKEN_RATE_LIMIT: RateLimitRule = { max: 20, timeWindowSeconds: 60 };
/** Default limit of `POST /users/` requests per client address: 10 an hour. */
export const DEFAULT_SIGN_UP_RATE_LIMIT: RateLimitRule = { max: 10, timeWindowSeconds: 3600 };
/** Default limit of failed logins per username: 10 in 15 minutes, then 429 until the window ends. */
export const DEFAULT_LOGIN_FAILURE_LIMIT: RateLimitRule = { max: 10, timeWindowSeconds: 900 };
/** Default time a Redis command may take before the limits fall back to this instance's memory. */
export const DEFAULT_REDIS_TIMEOUT_MS = 250;

/**
 * Brute-force limits. Each rule can be `false` to turn it off. Counting is in this process's memory
 * unless `redis` is given; then it is shared by every instance using the same Redis, and falls
 * back to per-instance memory while Redis is unreachable (see SECURITY.md, "Redis outage").
 */
export interface LatchkeyRateLimitOptions {
  /** `POST /token` requests per client address (`request.ip`). Default 20 per 60 s. */
  tokenPerAddress?: RateLimitRule | false | undefined;
  /** `POST /users/` requests per client address. Default 10 per 3600 s. */
  signUpPerAddress?: RateLimitRule | false | undefined;
  /** Failed logins per username (NFC-normalized); a successful login clears it. Default 10 per 900 s. */
  loginFailuresPerUsername?: RateLimitRule | false | undefined;
  /** A connected `ioredis` client (or anything with its `status`, `eval` and `del`) to share counts. */
  redis?: RedisClientLike | undefined;
  /** Prefix of Latchkey's Redis keys. Default `latchkey:rl:`. */
  redisNamespace?: string | undefined;
  /** A Redis command slower than this, in ms, counts as an outage. Default 250. */
  redisTimeoutMs?: number | undefined;
}

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
}

/** The limits that are on, and the counters behind them. */
export interface ResolvedRateLimits {
  readonly tokenPerAddress: RateLimitRule | undefined;
  readonly signUpPerAddress: RateLimitRule | undefined;
  readonly loginFailuresPerUsername: RateLimitRule | undefined;
  readonly counters: CounterStore;
}

/** {@link LatchkeyOptions} checked, with defaults filled in and core objects built. */
export interface ResolvedLatchkeyOptions {
  readonly store: UserStore;
  readonly tokens: TokenService;
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
  // Fastify's own register options, which it passes along to every plugin.
  "logLevel",
  "logSerializers",
]);

const STORE_METHODS = ["findByUsername", "create", "updatePasswordHash", "deleteByUsername"] as const;
const HASHER_METHODS = ["hash", "verify", "needsRehash"] as const;

function fail(message: string): never {
  throw new InvalidOptionsError(`@latchkey/fastify: ${message}`);
}

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    methods.every((method) => typeof (value as Record<string, unknown>)[method] === "function")
  );
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

/** Re-throws core's option errors with the plugin's name and, when core's message lacks it, the option's. */
function rethrowWithPrefix(error: unknown, option: string | undefined): never {
  const where = option === undefined ? "" : `option \`${option}\`: `;
  if (error instanceof WeakSecretError) throw new WeakSecretError(`@latchkey/fastify ${where}${error.message}`);
  if (error instanceof InvalidOptionsError) fail(`${where}${error.message}`);
  throw error;
}

function resolveHasher(options: LatchkeyOptions): PasswordHasher {
  if (options.hasher !== undefined) {
    if (options.bcryptCost !== undefined) fail("give either `hasher` or `bcryptCost`, not both");
    if (!hasMethods(options.hasher, HASHER_METHODS)) {
      fail("option `hasher` must implement PasswordHasher (hash, verify, needsRehash)");
    }
    return options.hasher;
  }
  try {
    return createBcryptHasher({ cost: options.bcryptCost ?? DEFAULT_BCRYPT_COST });
  } catch (error) {
    return rethrowWithPrefix(error, "bcryptCost");
  }
}

function resolveAdmission(options: LatchkeyOptions, inner: PasswordHasher): AdmissionHasher {
  const maxConcurrent = options.maxConcurrentHashes ?? defaultMaxConcurrentHashes();
  if (!isPositiveInteger(maxConcurrent)) {
    fail(`option \`maxConcurrentHashes\` must be a positive integer, got ${String(maxConcurrent)}`);
  }
  const maxQueued = options.maxQueuedHashes ?? maxConcurrent * QUEUED_HASHES_PER_SLOT;
  if (!(maxQueued === 0 || isPositiveInteger(maxQueued))) {
    fail(`option \`maxQueuedHashes\` must be a whole number (0 or more), got ${String(maxQueued)}`);
  }
  return createAdmissionHasher(inner, maxConcurrent, maxQueued);
}

const RATE_LIMIT_OPTION_NAMES = new Set([
  "tokenPerAddress",
  "signUpPerAddress",
  "loginFailuresPerUsername",
  "redis",
  "redisNamespace",
  "redisTimeoutMs",
]);

function resolveRule(name: string, rule: unknown, fallback: RateLimitRule): RateLimitRule | undefined {
  if (rule === false) return undefined;
  if (rule === undefined) return fallback;
  const { max, timeWindowSeconds } = (rule ?? {}) as Partial<RateLimitRule>;
  if (!isPositiveInteger(max) || !isPositiveInteger(timeWindowSeconds)) {
    fail(`option \`rateLimit.${name}\` must be false or { max, timeWindowSeconds } with positive integers`);
  }
  return { max, timeWindowSeconds };
}

function resolveRateLimits(option: unknown, log: FastifyBaseLogger | undefined): ResolvedRateLimits {
  const memory = createMemoryCounterStore();
  if (option === false) {
    return {
      tokenPerAddress: undefined,
      signUpPerAddress: undefined,
      loginFailuresPerUsername: undefined,
      counters: memory,
    };
  }
  if (option !== undefined && (typeof option !== "object" || option === null)) {
    fail("option `rateLimit` must be false or an object");
  }
  const options = (option ?? {}) as LatchkeyRateLimitOptions;
  const unknown = Object.keys(options).filter((key) => !RATE_LIMIT_OPTION_NAMES.has(key));
  if (unknown.length > 0) fail(`unknown option(s) ${unknown.map((key) => `\`rateLimit.${key}\``).join(", ")}`);
  const { redis } = options;
  if (redis !== undefined && !hasMethods(redis, ["eval", "del"])) {
    fail("option `rateLimit.redis` must be an ioredis client (with `eval` and `del`)");
  }
  const namespace = options.redisNamespace ?? "latchkey:rl:";
  if (typeof namespace !== "string") fail("option `rateLimit.redisNamespace` must be a string");
  const timeoutMs = options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  if (!isPositiveInteger(timeoutMs)) fail("option `rateLimit.redisTimeoutMs` must be a positive integer");
  const counters =
    redis === undefined
      ? memory
      : createRedisCounterStore(redis, {
          namespace,
          fallback: memory,
          timeoutMs,
          onAvailabilityChange: (error) => {
            if (error) {
              log?.warn(
                { err: { message: error.message } },
                "latchkey: Redis unavailable; rate limits count per instance",
              );
            } else log?.info("latchkey: Redis available again; rate limits are shared");
          },
        });
  return {
    tokenPerAddress: resolveRule("tokenPerAddress", options.tokenPerAddress, DEFAULT_TOKEN_RATE_LIMIT),
    signUpPerAddress: resolveRule("signUpPerAddress", options.signUpPerAddress, DEFAULT_SIGN_UP_RATE_LIMIT),
    loginFailuresPerUsername: resolveRule(
      "loginFailuresPerUsername",
      options.loginFailuresPerUsername,
      DEFAULT_LOGIN_FAILURE_LIMIT,
    ),
    counters,
  };
}

function resolveTokens(options: LatchkeyOptions): TokenService {
  for (const claim of ["issuer", "audience"] as const) {
    const value = options[claim];
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      fail(`option \`${claim}\` must be a non-empty string`);
    }
  }
  try {
    return createTokenService({
      secret: options.secret,
      ...(options.algorithm !== undefined && { algorithm: options.algorithm }),
      ...(options.expiresInSeconds !== undefined && { expiresInSeconds: options.expiresInSeconds }),
      ...(options.issuer !== undefined && { issuer: options.issuer }),
      ...(options.audience !== undefined && { audience: options.audience }),
      ...(options.clockToleranceSeconds !== undefined && { clockToleranceSeconds: options.clockToleranceSeconds }),
      ...(options.maxTokenBytes !== undefined && { maxTokenBytes: options.maxTokenBytes }),
      ...(options.verifiedTokenCacheSize !== undefined && { verifiedTokenCacheSize: options.verifiedTokenCacheSize }),
    });
  } catch (error) {
    // Core's messages for the other token options already name them (`expiresInSeconds must be …`).
    return rethrowWithPrefix(error, error instanceof WeakSecretError ? "secret" : undefined);
  }
}

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

  const tokens = resolveTokens(options);
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

  return {
    store: options.store,
    tokens,
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
    },
  };
}
