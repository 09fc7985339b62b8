#!/usr/bin/env node
import { existsSync } from "node:fs";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { resolveSecretKey } from "./secret-key.js";

/** How long in-flight requests get to finish after SIGINT/SIGTERM before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  // Everything this process creates (PGlite's WAL and catalogs, the generated key) is its user's
  // alone: PGlite writes its files with mode 0666, and the umask is what narrows them.
  process.umask(0o077);
  // An optional .env in the working directory; variables already set in the environment win.
  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig(process.env);
  const { secretKey, generatedFile, created } = await resolveSecretKey(config.secretKey, config.dataDir);
  const database = await openDatabase(config);
  const app = await buildApp({ config, database, secretKey });

  if (generatedFile) {
    app.log.warn(
      `SECRET_KEY is not set: ${created ? "generated a key and stored it" : "using the generated key"} in ${generatedFile} ` +
        "(mode 0600). Set SECRET_KEY to manage the key yourself; NODE_ENV=production requires it.",
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      app.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    app.log.info(`${signal}: finishing in-flight requests, then closing`);
    const timer = setTimeout(() => {
      app.log.error(`requests still running after ${SHUTDOWN_TIMEOUT_MS} ms: exiting anyway`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    await app.close();
    await database.close();
    clearTimeout(timer);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const shownHost = config.host === "127.0.0.1" || config.host === "0.0.0.0" ? "localhost" : config.host;
  const base = `http://${shownHost}:${port}`;
  app.log.info(`database: ${database.kind} (${database.location})`);
  app.log.info(`username uniqueness: ${database.usernameUniqueness} (${database.usernameUniquenessReason})`);
  // Plain lines on stdout for people and scripts, whatever the log format.
  process.stdout.write(`Latchkey API: ${base}\nAPI docs:     ${base}/docs\n`);
}

main().catch((error: unknown) => {
  // Configuration and start-up problems are the operator's to fix: say what, without a stack.
  const message =
    error instanceof ConfigError
      ? error.message
      : `Latchkey could not start: ${(error as Error)?.message ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
