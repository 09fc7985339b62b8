import { isIP } from "node:net";
import { assertStrongSecret, LatchkeyError } from "@latchkey/core";

/** Log levels pino knows, plus `silent`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The server's whole configuration, parsed and checked. Nothing else reads `process.env`. */
export interface ServerConfig {
  /** PostgreSQL URL (`postgresql://user:password@host:5432/dbname`); absent means embedded PGlite. */
  databaseUrl: string | undefined;
  /** Signing secret from `SECRET_KEY`; absent means generated (or, in production, refused). */
  secretKey: string | undefined;
  accessTokenExpireMinutes: number;
  port: number;
  host: string;
  logLevel: LogLevel;
  bcryptCost: number;
  /** Where PGlite keeps its files and where a generated secret key is stored. */
  dataDir: string;
  production: boolean;
  /** Redis URL from `REDIS_URL`: rate-limit counts shared by every instance. Absent: counted per process. */
  redisUrl: string | undefined;
  /**
   * Fastify's `trustProxy` from `TRUST_PROXY`: `false` (default; `X-Forwarded-For` ignored), `true`
   * (trust every proxy), or the addresses/CIDRs of the proxies to trust.
   */
  trustProxy: boolean | string[];
  /** Hash operations at once (`MAX_CONCURRENT_HASHES`); absent: the plugin's default (one per core, at most UV_THREADPOOL_SIZE - 1). */
  maxConcurrentHashes: number | undefined;
  /** Hash operations that may wait (`MAX_QUEUED_HASHES`); absent: 8 per concurrent slot. */
  maxQueuedHashes: number | undefined;
  /** `POST /token` requests per address per minute (`RATE_LIMIT_TOKEN_PER_MINUTE`); 0 turns it off. */
  tokenRequestsPerMinute: number;
  /** `POST /users/` requests per address per hour (`RATE_LIMIT_SIGNUPS_PER_HOUR`); 0 turns it off. */
  signUpsPerHour: number;
  /** Failed logins per username per 15 minutes (`RATE_LIMIT_LOGIN_FAILURES`); 0 turns it off. */
  loginFailuresPer15Minutes: number;
  /** Status of a wrong password on `POST /token` (`TOKEN_INVALID_GRANT_STATUS`): 401 (the original's) or 400 (RFC 6749). */
  invalidGrantStatus: 400 | 401;
}

/** Thrown when the environment is wrong; `problems` has one message per variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    return fallback;
  }
  return Number(raw);
}

function optionalInteger(env: Env, name: string, min: number, max: number, problems: string[]): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  return integer(env, name, min, min, max, problems);
}

function invalidGrantStatus(env: Env, problems: string[]): 400 | 401 {
  const raw = env.TOKEN_INVALID_GRANT_STATUS?.trim();
  if (raw === undefined || raw === "" || raw === "401") return 401;
  if (raw === "400") return 400;
  problems.push(`TOKEN_INVALID_GRANT_STATUS must be 401 (the original's) or 400 (RFC 6749), got "${raw}"`);
  return 401;
}

function redisUrl(env: Env, problems: string[]): string | undefined {
  const raw = env.REDIS_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push("REDIS_URL must be a URL like redis://localhost:6379 (it could not be parsed)");
    return undefined;
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    problems.push(`REDIS_URL must start with redis:// or rediss://, got "${url.protocol}//"`);
    return undefined;
  }
  return raw;
}

function isAddressOrCidr(entry: string): boolean {
  const [address = "", prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: whom to believe about the client's address. Unset or `false` believes nobody, so
 * `X-Forwarded-For` cannot be used to dodge per-address limits when the server faces clients.
 */
function trustProxy(env: Env, problems: string[]): boolean | string[] {
  const raw = env.TRUST_PROXY?.trim();
  if (raw === undefined || raw === "" || raw === "false") return false;
  if (raw === "true") return true;
  // No hop counts: Fastify 5 trusts nobody for a number, since a count cannot tell a proxy from a
  // client that sends enough X-Forwarded-For entries. Name the proxies instead.
  const entries = raw.split(",").map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isAddressOrCidr(entry));
  if (bad.length > 0 || entries.length === 0) {
    problems.push(
      "TRUST_PROXY must be false, true, or a comma list of the proxies' addresses/CIDRs " +
        `such as 10.0.0.0/8,127.0.0.1; got "${raw}"`,
    );
    return false;
  }
  return entries;
}

function databaseUrl(env: Env, problems: string[]): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(
      "DATABASE_URL must be a URL like postgresql://user:password@localhost:5432/dbname (it could not be parsed)",
    );
    return undefined;
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    problems.push(`DATABASE_URL must start with postgresql:// or postgres://, got "${url.protocol}//"`);
    return undefined;
  }
  if (!url.hostname && !url.searchParams.get("host")) {
    problems.push("DATABASE_URL must name a host, as in postgresql://user:password@localhost:5432/dbname");
    return undefined;
  }
  return raw;
}

function secretKey(env: Env, production: boolean, problems: string[]): string | undefined {
  const raw = env.SECRET_KEY;
  if (raw === undefined || raw === "") {
    if (production) {
      problems.push(
        "SECRET_KEY is required when NODE_ENV=production; make one with: openssl rand -hex 32 " +
          "(or: node -e \"console.log(require('node:crypto').randomBytes(32).toString('hex'))\")",
      );
    }
    return undefined;
  }
  try {
    assertStrongSecret(raw);
  } catch (error) {
    problems.push(`SECRET_KEY: ${error instanceof LatchkeyError ? error.message : "is not usable"}`);
  }
  return raw;
}

/**
 * Reads and checks the configuration. Every problem is collected, so one start shows them all.
 * @throws {ConfigError} listing one message per bad variable.
 */
export function loadConfig(env: Env): ServerConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === "production";
  const logLevel = (env.LOG_LEVEL?.trim() || "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const host = env.HOST?.trim() || "127.0.0.1";
  const dataDir = env.DATA_DIR?.trim() || "./data";

  const config: ServerConfig = {
    databaseUrl: databaseUrl(env, problems),
    secretKey: secretKey(env, production, problems),
    accessTokenExpireMinutes: integer(env, "ACCESS_TOKEN_EXPIRE_MINUTES", 30, 1, 60 * 24 * 30, problems),
    port: integer(env, "PORT", 8000, 0, 65_535, problems),
    host,
    logLevel,
    bcryptCost: integer(env, "BCRYPT_COST", 12, 4, 31, problems),
    dataDir,
    production,
    redisUrl: redisUrl(env, problems),
    trustProxy: trustProxy(env, problems),
    maxConcurrentHashes: optionalInteger(env, "MAX_CONCURRENT_HASHES", 1, 1024, problems),
    maxQueuedHashes: optionalInteger(env, "MAX_QUEUED_HASHES", 0, 1_000_000, problems),
    tokenRequestsPerMinute: integer(env, "RATE_LIMIT_TOKEN_PER_MINUTE", 20, 0, 1_000_000, problems),
    signUpsPerHour: integer(env, "RATE_LIMIT_SIGNUPS_PER_HOUR", 10, 0, 1_000_000, problems),
    loginFailuresPer15Minutes: integer(env, "RATE_LIMIT_LOGIN_FAILURES", 10, 0, 1_000_000, problems),
    invalidGrantStatus: invalidGrantStatus(env, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
