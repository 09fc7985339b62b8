import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultMaxConnections, loadConfig } from "./config.js";

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return error instanceof ConfigError ? [...error.problems] : [`unexpected: ${String(error)}`];
  }
};

describe("loadConfig", () => {
  it("has the original's defaults: port 8000, 30-minute tokens; localhost only; PGlite in ./data", () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: undefined,
      secretKey: undefined,
      accessTokenExpireMinutes: 30,
      port: 8000,
      host: "127.0.0.1",
      logLevel: "info",
      bcryptCost: 12,
      dataDir: "./data",
      production: false,
      redisUrl: undefined,
      trustProxy: false,
      maxConcurrentHashes: undefined,
      maxQueuedHashes: undefined,
      tokenRequestsPerMinute: 20,
      signUpsPerHour: 10,
      loginFailuresPer15Minutes: 10,
      invalidGrantStatus: 401,
      connections: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 15_000,
        idleTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        maxConnections: defaultMaxConnections(),
        maxConnectionsPerAddress: 64,
      },
      usernameUniqueness: undefined,
      refreshTokens: { reuseWindowSeconds: 10, idleTimeoutSeconds: 604_800, absoluteTimeoutSeconds: 2_592_000 },
      accessTokenChecks: "session",
      listenDatabaseUrl: undefined,
      keys: {
        algorithm: undefined,
        issuer: undefined,
        jwksMaxAgeSeconds: 300,
        keyEncryptionKey: undefined,
        rotationDays: undefined,
      },
    });
  });

  it("reads every variable", () => {
    const config = loadConfig({
      DATABASE_URL: "postgresql://user:password@localhost:5432/dbname",
      SECRET_KEY: "s".repeat(32),
      ACCESS_TOKEN_EXPIRE_MINUTES: "60",
      PORT: "9000",
      HOST: "0.0.0.0",
      LOG_LEVEL: "debug",
      BCRYPT_COST: "13",
      DATA_DIR: "/var/lib/latchkey",
      NODE_ENV: "production",
      REDIS_URL: "redis://cache:6379/0",
      TRUST_PROXY: "10.0.0.0/8, 127.0.0.1",
      MAX_CONCURRENT_HASHES: "3",
      MAX_QUEUED_HASHES: "0",
      RATE_LIMIT_TOKEN_PER_MINUTE: "0",
      RATE_LIMIT_SIGNUPS_PER_HOUR: "100",
      RATE_LIMIT_LOGIN_FAILURES: "5",
      TOKEN_INVALID_GRANT_STATUS: "400",
      HEADERS_TIMEOUT_SECONDS: "5",
      REQUEST_TIMEOUT_SECONDS: "20",
      IDLE_TIMEOUT_SECONDS: "60",
      KEEP_ALIVE_TIMEOUT_SECONDS: "75",
      MAX_CONNECTIONS: "5000",
      MAX_CONNECTIONS_PER_ADDRESS: "8",
      USERNAME_UNIQUENESS: "case-insensitive",
      REFRESH_REUSE_WINDOW_SECONDS: "30",
      REFRESH_IDLE_TIMEOUT_SECONDS: "3600",
      REFRESH_ABSOLUTE_TIMEOUT_SECONDS: "86400",
      ACCESS_TOKEN_CHECKS: "strict",
      LISTEN_DATABASE_URL: "postgresql://user:password@db-direct:5432/dbname",
    });
    expect(config).toMatchObject({
      accessTokenChecks: "strict",
      listenDatabaseUrl: "postgresql://user:password@db-direct:5432/dbname",
      redisUrl: "redis://cache:6379/0",
      trustProxy: ["10.0.0.0/8", "127.0.0.1"],
      maxConcurrentHashes: 3,
      maxQueuedHashes: 0,
      tokenRequestsPerMinute: 0,
      signUpsPerHour: 100,
      loginFailuresPer15Minutes: 5,
      invalidGrantStatus: 400,
      connections: {
        headersTimeoutMs: 5000,
        requestTimeoutMs: 20_000,
        idleTimeoutMs: 60_000,
        keepAliveTimeoutMs: 75_000,
        maxConnections: 5000,
        maxConnectionsPerAddress: 8,
      },
      usernameUniqueness: "case-insensitive",
      refreshTokens: { reuseWindowSeconds: 30, idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400 },
      databaseUrl: "postgresql://user:password@localhost:5432/dbname",
      accessTokenExpireMinutes: 60,
      port: 9000,
      host: "0.0.0.0",
      logLevel: "debug",
      bcryptCost: 13,
      dataDir: "/var/lib/latchkey",
      production: true,
    });
  });

  it.each([
    [{ DATABASE_URL: "localhost:5432/db" }, /DATABASE_URL must start with postgresql:\/\//],
    [
      { DATABASE_URL: "not a url" },
      /DATABASE_URL must be a URL like postgresql:\/\/user:password@localhost:5432\/dbname/,
    ],
    [{ DATABASE_URL: "mysql://u@h/db" }, /DATABASE_URL must start with postgresql:\/\//],
    [{ SECRET_KEY: "YOUR_SECRET_KEY" }, /SECRET_KEY: .*placeholder/],
    [{ SECRET_KEY: "short" }, /SECRET_KEY: .*at least 32 bytes/],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: "0" }, /ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number from 1/],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: "thirty" }, /ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number/],
    [{ PORT: "70000" }, /PORT must be a whole number from 0 to 65535/],
    [{ PORT: "-1" }, /PORT must be a whole number/],
    [{ LOG_LEVEL: "verbose" }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ BCRYPT_COST: "3" }, /BCRYPT_COST must be a whole number from 4 to 31/],
    [{ REDIS_URL: "localhost:6379" }, /REDIS_URL must start with redis:\/\/ or rediss:\/\//],
    [{ REDIS_URL: "not a url" }, /REDIS_URL must be a URL like redis:\/\/localhost:6379/],
    [{ TRUST_PROXY: "yes" }, /TRUST_PROXY must be false or a comma list/],
    [{ TRUST_PROXY: "10.0.0.0/33" }, /TRUST_PROXY must be .* got "10.0.0.0\/33"/],
    [{ TRUST_PROXY: "2" }, /TRUST_PROXY must be false or a comma list/],
    [{ TRUST_PROXY: "true" }, /TRUST_PROXY .*true would let any client choose its address/],
    [{ REFRESH_TOKENS: "maybe" }, /REFRESH_TOKENS must be on or off/],
    [{ ACCESS_TOKEN_CHECKS: "paranoid" }, /ACCESS_TOKEN_CHECKS must be one of stateless, session, strict/],
    [{ LISTEN_DATABASE_URL: "postgresql://u@h/db" }, /LISTEN_DATABASE_URL needs DATABASE_URL/],
    [
      { DATABASE_URL: "postgresql://u@h/db", LISTEN_DATABASE_URL: "mysql://u@h/db" },
      /LISTEN_DATABASE_URL must start with postgresql:\/\//,
    ],
    [{ REFRESH_REUSE_WINDOW_SECONDS: "61" }, /REFRESH_REUSE_WINDOW_SECONDS must be a whole number from 0 to 60/],
    [{ USERNAME_UNIQUENESS: "fuzzy" }, /USERNAME_UNIQUENESS must be one of exact, case-insensitive, confusable/],
    [{ REQUEST_TIMEOUT_SECONDS: "0" }, /REQUEST_TIMEOUT_SECONDS must be a whole number from 1 to 3600/],
    [{ MAX_CONNECTIONS_PER_ADDRESS: "none" }, /MAX_CONNECTIONS_PER_ADDRESS must be a whole number/],
    [
      { HEADERS_TIMEOUT_SECONDS: "30", REQUEST_TIMEOUT_SECONDS: "20" },
      /HEADERS_TIMEOUT_SECONDS must not be larger than REQUEST_TIMEOUT_SECONDS/,
    ],
    [{ MAX_CONCURRENT_HASHES: "0" }, /MAX_CONCURRENT_HASHES must be a whole number from 1 to 1024/],
    [{ MAX_QUEUED_HASHES: "-1" }, /MAX_QUEUED_HASHES must be a whole number/],
    [{ RATE_LIMIT_LOGIN_FAILURES: "ten" }, /RATE_LIMIT_LOGIN_FAILURES must be a whole number/],
    [{ TOKEN_INVALID_GRANT_STATUS: "403" }, /TOKEN_INVALID_GRANT_STATUS must be 401/],
    [
      { NODE_ENV: "production" },
      /SECRET_KEY is required when NODE_ENV=production; make one with: openssl rand -hex 32/,
    ],
  ])("refuses %o with a message naming the variable", (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each([
    ["false", false],
    ["192.168.1.10", ["192.168.1.10"]],
    ["loopback, uniquelocal", ["loopback", "uniquelocal"]],
    ["10.0.0.0/8,fd00::/8", ["10.0.0.0/8", "fd00::/8"]],
  ])("reads TRUST_PROXY=%s", (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it("caps connections by default at three quarters of the open-file limit, at most 4096", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const dir = await mkdtemp(join(tmpdir(), "latchkey-limits-"));
    const limits = (soft: string) =>
      `Limit  Soft Limit  Hard Limit  Units\nMax open files            ${soft}   524288   files\n`;
    await writeFile(join(dir, "1024"), limits("1024"));
    await writeFile(join(dir, "big"), limits("1048576"));
    expect(defaultMaxConnections(join(dir, "1024"))).toBe(768);
    expect(defaultMaxConnections(join(dir, "big"))).toBe(4096);
    expect(defaultMaxConnections(join(dir, "missing"))).toBe(768);
  });

  it("listens on DATABASE_URL unless LISTEN_DATABASE_URL names another connection or says off", () => {
    const url = "postgresql://u@h/db";
    expect(loadConfig({ DATABASE_URL: url }).listenDatabaseUrl).toBe(url);
    expect(loadConfig({ DATABASE_URL: url, LISTEN_DATABASE_URL: "off" }).listenDatabaseUrl).toBeUndefined();
  });

  it("turns refresh tokens off with REFRESH_TOKENS=off", () => {
    expect(loadConfig({ REFRESH_TOKENS: "off" }).refreshTokens).toBeUndefined();
    expect(loadConfig({ REFRESH_TOKENS: "on" }).refreshTokens).toBeDefined();
  });

  it("reports every bad variable at once", () => {
    expect(problemsOf({ PORT: "x", LOG_LEVEL: "loud", SECRET_KEY: "short" })).toHaveLength(3);
  });

  it("never echoes a secret key it refuses", () => {
    const [problem] = problemsOf({ SECRET_KEY: "my-secret-but-too-short" });
    expect(problem).not.toContain("my-secret-but-too-short");
  });
});

describe("signing key settings", () => {
  it("reads TOKEN_ALGORITHM case-insensitively, a hex or base64 KEY_ENCRYPTION_KEY, KEY_ROTATION_DAYS and ISSUER", () => {
    const kek = "ab".repeat(32);
    const { keys } = loadConfig({
      TOKEN_ALGORITHM: "es256",
      KEY_ENCRYPTION_KEY: kek,
      KEY_ROTATION_DAYS: "30",
      ISSUER: "https://auth.example.com",
    });
    expect(keys).toEqual({
      algorithm: "ES256",
      keyEncryptionKey: Buffer.from(kek, "hex"),
      rotationDays: 30,
      jwksMaxAgeSeconds: 300,
      issuer: "https://auth.example.com",
    });
    expect(loadConfig({ KEY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString("base64") }).keys.keyEncryptionKey).toEqual(
      Buffer.alloc(32, 5),
    );
  });

  it.each([
    [{ TOKEN_ALGORITHM: "none" }, /TOKEN_ALGORITHM must be one of RS256, ES256, EdDSA, HS256/],
    [{ KEY_ENCRYPTION_KEY: "short" }, /KEY_ENCRYPTION_KEY: The key-encryption key must be 32 bytes/],
    [{ ISSUER: "auth.example.com" }, /ISSUER must be an http\(s\) URL/],
    [{ KEY_ROTATION_DAYS: "-1" }, /KEY_ROTATION_DAYS/],
  ])("refuses %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
