#!/usr/bin/env node
// `latchkey`: the admin command. `latchkey keys list|rotate|revoke <kid>` works on the keyring in
// the server's database, configured by the same environment (and .env) as the server. Running
// instances on PostgreSQL see a change within a moment (NOTIFY) or at their next read (10 s).
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm, type KeyInfo } from "@latchkey/core";
import { loadConfig } from "./config.js";
import { openDatabase } from "./database.js";
import { openKeyring } from "./keys.js";
import { resolveSecretKey } from "./secret-key.js";

/** Exit statuses: 0 done; 1 the operation was refused or failed; 2 the command was wrong. */
const USAGE = `Usage:
  latchkey keys list                         every key: kid, algorithm, state, dates
  latchkey keys rotate [--algorithm ALG]     add a key (RS256, ES256 or EdDSA) that signs once every
                                             verifier has seen it; the active one then retires
  latchkey keys revoke <kid>                 refuse a key's tokens at once (a replacement signs
                                             at once when it was the active key)
Configuration: the server's environment (DATABASE_URL or DATA_DIR, SECRET_KEY, KEY_ENCRYPTION_KEY, ...).`;

class UsageError extends Error {}

const when = (date: Date | null) => (date === null ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z"));

function table(keys: readonly KeyInfo[]): string {
  const rows = [
    ["KID", "ALG", "STATE", "SIGNS FROM", "VERIFIES UNTIL", "REVOKED"],
    ...keys.map((k) => [k.kid, k.alg, k.state, when(k.activatesAt), when(k.verifiesUntil), when(k.revokedAt)]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function run(argv: string[]): Promise<string> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { algorithm: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const [group, command, ...rest] = positionals;
  if (values.help || group === undefined) throw new UsageError("");
  if (group !== "keys") throw new UsageError(`Unknown command "${group}"`);
  if (command !== "list" && command !== "rotate" && command !== "revoke") {
    throw new UsageError(command === undefined ? "keys needs a subcommand" : `Unknown keys subcommand "${command}"`);
  }
  if (command === "revoke" && rest.length !== 1) throw new UsageError("keys revoke needs exactly one kid");
  if (command !== "revoke" && rest.length > 0) throw new UsageError(`keys ${command} takes no argument`);
  const { algorithm } = values;
  if (algorithm !== undefined && (command !== "rotate" || !isAsymmetricAlgorithm(algorithm))) {
    throw new UsageError(`--algorithm goes with keys rotate and is one of ${ASYMMETRIC_ALGORITHMS.join(", ")}`);
  }

  if (existsSync(".env")) process.loadEnvFile(".env");
  const config = loadConfig(process.env);
  const { secretKey } = await resolveSecretKey(config.secretKey, config.dataDir);
  const database = await openDatabase(config);
  try {
    const keyring = await openKeyring(config, database, secretKey);
    if (command === "list") {
      const keys = await keyring.list();
      return keys.length === 0 ? "No keys yet: the server makes the first one when it starts." : table(keys);
    }
    if (command === "rotate") {
      const key = await keyring.rotate(algorithm === undefined ? {} : { algorithm });
      return (
        `Added ${key.alg} key ${key.kid}. It is published now and signs from ${when(key.activatesAt)}, ` +
        `once every verifier caching the JWKS for up to ${config.keys.jwksMaxAgeSeconds} s has seen it; ` +
        "the active key then retires and verifies its tokens until they expire.\n\n" +
        table(await keyring.list())
      );
    }
    const { revoked, replacement } = await keyring.revoke(rest[0] as string);
    return (
      `Revoked ${revoked.alg} key ${revoked.kid}: its tokens are refused now by this database's instances ` +
      `(within a moment, or 10 s without LISTEN), and by other services once their JWKS cache expires (max-age ${config.keys.jwksMaxAgeSeconds} s).` +
      (replacement === null
        ? ""
        : `\nIt was the active key: ${replacement.alg} key ${replacement.kid} signs from now on.`) +
      `\n\n${table(await keyring.list())}`
    );
  } finally {
    await database.close();
  }
}

run(process.argv.slice(2)).then(
  (output) => {
    process.stdout.write(`${output}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      const message = error instanceof UsageError ? error.message : (error as Error).message;
      process.stderr.write(`${message ? `latchkey: ${message}\n\n` : ""}${USAGE}\n`);
      process.exit(message ? 2 : 0);
    }
    // Configuration, keyring and store errors say what to do in their message; no stack for an operator.
    process.stderr.write(`latchkey: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
