import type { FastifyBaseLogger } from "fastify";
import {
  type CounterStore,
  createMemoryCounterStore,
  createRedisCounterStore,
  type RedisClientLike,
} from "../limits/counters.js";
import type { RateLimitRule } from "../limits/rate-limit.js";
import { fail, hasMethods, isPositiveInteger } from "./checks.js";

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

/** The limits that are on, and the counters behind them. */
export interface ResolvedRateLimits {
  readonly tokenPerAddress: RateLimitRule | undefined;
  readonly signUpPerAddress: RateLimitRule | undefined;
  readonly loginFailuresPerUsername: RateLimitRule | undefined;
  readonly counters: CounterStore;
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

export function resolveRateLimits(option: unknown, log: FastifyBaseLogger | undefined): ResolvedRateLimits {
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
