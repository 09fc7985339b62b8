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
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
