import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import {
  ACCESS_TOKEN_CHECKS,
  type AccessTokenChecks,
  assertStrongSecret,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  LatchkeyError,
  parseKeyEncryptionKey,
  USERNAME_UNIQUENESS_POLICIES,
  type UsernameUniqueness,
} from "@latchkey/core";

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
   * Fastify's `trustProxy` from `TRUST_PROXY`: `false` (default; `X-Forwarded-For` ignored) or the
   * addresses/CIDRs (or `loopback`, `linklocal`, `uniquelocal`) of the proxies to trust.
   */
  trustProxy: false | string[];
  /** Limits on connections and on how long a client may take; see {@link ConnectionSettings}. */
  connections: ConnectionSettings;
  /** Sessions and rotating refresh tokens; `undefined` when `REFRESH_TOKENS=off`. */
  refreshTokens: RefreshTokenSettings | undefined;
  /**
   * `USERNAME_UNIQUENESS`: when two names are one account. Absent: chosen from the database (the
   * policy its keys were made under; else `confusable` for an empty table, `exact` for one with users).
   */
  usernameUniqueness: UsernameUniqueness | undefined;
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
  /** `ACCESS_TOKEN_CHECKS`: what authenticated routes check beyond signature and expiry (default `session`). */
  accessTokenChecks: AccessTokenChecks;
  /**
   * `LISTEN_DATABASE_URL`: where the revocation listener connects (`LISTEN` needs a session of its
   * own: a direct URL when DATABASE_URL goes through a transaction-pooling PgBouncer). Default
   * DATABASE_URL; `off` for no listener (revocations are then read each second).
   */
  listenDatabaseUrl: string | undefined;
  /** Status of a wrong password on `POST /token` (`TOKEN_INVALID_GRANT_STATUS`): 401 (the original's) or 400 (RFC 6749). */
  invalidGrantStatus: 400 | 401;
  /** Signing keys: `TOKEN_ALGORITHM`, `KEY_ENCRYPTION_KEY`, `KEY_ROTATION_DAYS`, `JWKS_MAX_AGE_SECONDS`, `ISSUER`. */
  keys: KeySettings;
}

/** How tokens are signed; see the README's "Signing keys". */
export interface KeySettings {
  /**
   * `TOKEN_ALGORITHM`. Absent: `RS256` for a new database, `HS256` (SECRET_KEY, as before) for one
   * that already has users, so a taken-over install changes nothing until someone rotates.
   */
  algorithm: KeyAlgorithm | undefined;
  /** `KEY_ENCRYPTION_KEY` (32 bytes, hex or base64): seals private keys. Absent: generated into DATA_DIR (not in production). */
  keyEncryptionKey: Buffer | undefined;
  /** `KEY_ROTATION_DAYS`: rotate this often; absent or 0: only on demand (`latchkey keys rotate`). */
  rotationDays: number | undefined;
  /** `JWKS_MAX_AGE_SECONDS` (default 300): how long verifiers may cache the JWKS. */
  jwksMaxAgeSeconds: number;
  /** `ISSUER`: the public URL of this service, put in tokens as `iss` and required back; verifiers pin it. */
  issuer: string | undefined;
}

/** Refresh-token timing, in seconds. */
export interface RefreshTokenSettings {
  /** `REFRESH_REUSE_WINDOW_SECONDS` (default 10, at most 60). */
  reuseWindowSeconds: number;
  /** `REFRESH_IDLE_TIMEOUT_SECONDS` (default 7 days). */
  idleTimeoutSeconds: number;
  /** `REFRESH_ABSOLUTE_TIMEOUT_SECONDS` (default 30 days). */
  absoluteTimeoutSeconds: number;
}

/** Connection limits and timeouts, in the units Node's HTTP server takes. */
export interface ConnectionSettings {
  /** `HEADERS_TIMEOUT_SECONDS` (default 10): the whole request head must arrive within this. */
  headersTimeoutMs: number;
  /** `REQUEST_TIMEOUT_SECONDS` (default 15): the whole request, head and body, must arrive within this (408). */
  requestTimeoutMs: number;
  /** `IDLE_TIMEOUT_SECONDS` (default 30): a socket with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
  /** `KEEP_ALIVE_TIMEOUT_SECONDS` (default 5): how long a kept-alive connection waits for its next request. */
  keepAliveTimeoutMs: number;
  /** `MAX_CONNECTIONS` (default ¾ of the open-file limit, at most 4096): beyond it new connections are closed. */
  maxConnections: number;
  /** `MAX_CONNECTIONS_PER_ADDRESS` (default 64; IPv6 per /64; trusted proxies exempt): beyond it that address's new connections are closed. */
  maxConnectionsPerAddress: number;
}

/**
 * The default total connection cap: three quarters of this process's open-file limit (read from
 * /proc on Linux), so files, the database and a PGlite data folder always keep descriptors; at
 * most 4096; 768 where the limit cannot be read (¾ of the usual 1024).
 */
export function defaultMaxConnections(limitsFile = "/proc/self/limits"): number {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync(limitsFile, "utf8"));
    if (match) return Math.max(16, Math.min(4096, Math.floor(Number(match[1]) * 0.75)));
  } catch {}
  return 768;
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

function usernameUniqueness(env: Env, problems: string[]): UsernameUniqueness | undefined {
  const raw = env.USERNAME_UNIQUENESS?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (USERNAME_UNIQUENESS_POLICIES.includes(raw as UsernameUniqueness)) return raw as UsernameUniqueness;
  problems.push(`USERNAME_UNIQUENESS must be one of ${USERNAME_UNIQUENESS_POLICIES.join(", ")}, got "${raw}"`);
  return undefined;
}

function refreshTokens(env: Env, problems: string[]): RefreshTokenSettings | undefined {
  const onOff = env.REFRESH_TOKENS?.trim().toLowerCase();
  const settings: RefreshTokenSettings = {
    reuseWindowSeconds: integer(env, "REFRESH_REUSE_WINDOW_SECONDS", 10, 0, 60, problems),
    idleTimeoutSeconds: integer(env, "REFRESH_IDLE_TIMEOUT_SECONDS", 7 * 24 * 3600, 60, 10 * 365 * 24 * 3600, problems),
    absoluteTimeoutSeconds: integer(
      env,
      "REFRESH_ABSOLUTE_TIMEOUT_SECONDS",
      30 * 24 * 3600,
      60,
      10 * 365 * 24 * 3600,
      problems,
    ),
  };
  if (onOff === undefined || onOff === "" || onOff === "on" || onOff === "true") return settings;
  if (onOff === "off" || onOff === "false") return undefined;
  problems.push(`REFRESH_TOKENS must be on or off, got "${env.REFRESH_TOKENS}"`);
  return settings;
}

function connections(env: Env, problems: string[]): ConnectionSettings {
  const seconds = (name: string, fallback: number) => integer(env, name, fallback, 1, 3600, problems) * 1000;
  const settings: ConnectionSettings = {
    headersTimeoutMs: seconds("HEADERS_TIMEOUT_SECONDS", 10),
    requestTimeoutMs: seconds("REQUEST_TIMEOUT_SECONDS", 15),
    idleTimeoutMs: seconds("IDLE_TIMEOUT_SECONDS", 30),
    keepAliveTimeoutMs: seconds("KEEP_ALIVE_TIMEOUT_SECONDS", 5),
    maxConnections: integer(env, "MAX_CONNECTIONS", defaultMaxConnections(), 1, 1_000_000, problems),
    maxConnectionsPerAddress: integer(env, "MAX_CONNECTIONS_PER_ADDRESS", 64, 1, 1_000_000, problems),
  };
  // Node refuses a head timeout longer than the whole request's.
  if (settings.headersTimeoutMs > settings.requestTimeoutMs) {
    problems.push("HEADERS_TIMEOUT_SECONDS must not be larger than REQUEST_TIMEOUT_SECONDS");
  }
  return settings;
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

/** Names of address ranges `proxy-addr` (under Fastify's `trustProxy`) understands. */
const PROXY_RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/**
 * `TRUST_PROXY`: whom to believe about the client's address. Unset or `false` believes nobody, so
 * `X-Forwarded-For` cannot be used to dodge per-address limits when the server faces clients.
 *
 * `true` is refused: it believes the leftmost `X-Forwarded-For` entry, which the client writes
 * (every appending proxy keeps what the client sent), so any client could pick its address and
 * dodge every per-address limit. Hop counts are refused for the same reason: a count cannot tell
 * a proxy from a client that sends enough entries. Name the proxies instead.
 */
function trustProxy(env: Env, problems: string[]): false | string[] {
  const raw = env.TRUST_PROXY?.trim();
  if (raw === undefined || raw === "" || raw === "false") return false;
  const entries = raw.split(",").map((entry) => entry.trim());
  const bad = entries.filter((entry) => !isAddressOrCidr(entry) && !PROXY_RANGE_NAMES.has(entry));
  if (raw === "true" || bad.length > 0 || entries.length === 0) {
    problems.push(
      "TRUST_PROXY must be false or a comma list of the proxies' addresses/CIDRs (or loopback, linklocal, " +
        `uniquelocal), such as 10.0.0.0/8,127.0.0.1; got "${raw}"` +
        (raw === "true" ? " (true would let any client choose its address through X-Forwarded-For)" : ""),
    );
    return false;
  }
  return entries;
}

function accessTokenChecks(env: Env, problems: string[]): AccessTokenChecks {
  const raw = env.ACCESS_TOKEN_CHECKS?.trim().toLowerCase();
  if (raw === undefined || raw === "") return "session";
  if (ACCESS_TOKEN_CHECKS.includes(raw as AccessTokenChecks)) return raw as AccessTokenChecks;
  problems.push(
    `ACCESS_TOKEN_CHECKS must be one of ${ACCESS_TOKEN_CHECKS.join(", ")}, got "${env.ACCESS_TOKEN_CHECKS}"`,
  );
  return "session";
}

function listenDatabaseUrl(env: Env, databaseUrlValue: string | undefined, problems: string[]): string | undefined {
  const raw = env.LISTEN_DATABASE_URL?.trim();
  if (raw === undefined || raw === "") return databaseUrlValue;
  if (raw.toLowerCase() === "off") return undefined;
  if (databaseUrlValue === undefined) {
    problems.push("LISTEN_DATABASE_URL needs DATABASE_URL (the embedded database needs no listener)");
    return undefined;
  }
  return databaseUrl({ DATABASE_URL: raw }, problems, "LISTEN_DATABASE_URL");
}

function databaseUrl(env: Env, problems: string[], name = "DATABASE_URL"): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(
      `${name} must be a URL like postgresql://user:password@localhost:5432/dbname (it could not be parsed)`,
    );
    return undefined;
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    problems.push(`${name} must start with postgresql:// or postgres://, got "${url.protocol}//"`);
    return undefined;
  }
  if (!url.hostname && !url.searchParams.get("host")) {
    problems.push(`${name} must name a host, as in postgresql://user:password@localhost:5432/dbname`);
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

function keySettings(env: Env, problems: string[]): KeySettings {
  const rawAlgorithm = env.TOKEN_ALGORITHM?.trim();
  let algorithm: KeyAlgorithm | undefined;
  if (rawAlgorithm) {
    const match = KEY_ALGORITHMS.find((alg) => alg.toLowerCase() === rawAlgorithm.toLowerCase());
    if (match === undefined) {
      problems.push(`TOKEN_ALGORITHM must be one of ${KEY_ALGORITHMS.join(", ")}, got "${rawAlgorithm}"`);
    }
    algorithm = match;
  }
  let keyEncryptionKey: Buffer | undefined;
  const rawKek = env.KEY_ENCRYPTION_KEY;
  if (rawKek !== undefined && rawKek !== "") {
    try {
      keyEncryptionKey = parseKeyEncryptionKey(rawKek);
    } catch (error) {
      problems.push(`KEY_ENCRYPTION_KEY: ${error instanceof LatchkeyError ? error.message : "is not usable"}`);
    }
  }
  const rotationDays = integer(env, "KEY_ROTATION_DAYS", 0, 0, 3650, problems);
  const issuer = env.ISSUER?.trim() || undefined;
  if (issuer !== undefined && !/^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(issuer)) {
    problems.push(`ISSUER must be an http(s) URL without query or fragment (RFC 8414), got "${issuer}"`);
  }
  return {
    algorithm,
    keyEncryptionKey,
    rotationDays: rotationDays === 0 ? undefined : rotationDays,
    jwksMaxAgeSeconds: integer(env, "JWKS_MAX_AGE_SECONDS", 300, 0, 86_400, problems),
    issuer,
  };
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

  const database = databaseUrl(env, problems);
  const config: ServerConfig = {
    databaseUrl: database,
    listenDatabaseUrl: listenDatabaseUrl(env, database, problems),
    accessTokenChecks: accessTokenChecks(env, problems),
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
    connections: connections(env, problems),
    usernameUniqueness: usernameUniqueness(env, problems),
    refreshTokens: refreshTokens(env, problems),
    keys: keySettings(env, problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
