// Latchkey's benchmark suite. `pnpm bench` at the repository root; see README.md.
//   --smoke              seconds per phase and bcrypt cost 4 unless set: proves every phase works
//   --out DIR            where RESULTS.md and results.json go (default: this package's folder)
//   --server-env K=V     a setting for the server (and UV_THREADPOOL_SIZE for the ceiling too); repeatable
// PostgreSQL: BENCH_DATABASE_URL, else TEST_DATABASE_URL, names a server where the bench may create
// and drop a scratch database. Without either, only PGlite runs, and the results say so.
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg, release, totalmem, type } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadConfig } from "@latchkey/server";
import { pgliteDatabase, postgresDatabase, type TestDatabase } from "@latchkey/server/testing";
import pg from "pg";
import { type DatabaseRun, type RunContext, runDatabase, runSweep, runTokenAlgorithms } from "./phases.js";
import { type Machine, type Results, renderMarkdown, renderSummary } from "./report.js";
import { FULL, SMOKE, UNLIMITED_RATES } from "./settings.js";
import { checkTargets } from "./targets.js";

/** A mistake in how the bench was called: say what, without a stack, and exit 2. */
function usage(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    "server-env": { type: "string", multiple: true, default: [] },
  },
});
const smoke = values.smoke;
const outDir = values.out ?? fileURLToPath(new URL("..", import.meta.url));
const overrides: Record<string, string> = {};
for (const pair of values["server-env"]) {
  const equals = pair.indexOf("=");
  if (equals < 1) usage(`--server-env expects NAME=value, got "${pair}"`);
  overrides[pair.slice(0, equals)] = pair.slice(equals + 1);
}
if (smoke && overrides.BCRYPT_COST === undefined) overrides.BCRYPT_COST = "4";

const postgresUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const version = (name: string) =>
  (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>("show server_version");
    return rows[0]?.server_version ?? "unknown";
  } finally {
    await client.end();
  }
}

function serverEnv(database: TestDatabase): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    LOG_LEVEL: "warn",
    HOST: "127.0.0.1",
    PORT: "0",
    ...UNLIMITED_RATES,
    ...database.env,
    ...overrides,
  };
}

async function main(): Promise<void> {
  const loadAverageBefore = loadavg();
  const machine: Machine = {
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: totalmem() / 1024 ** 3,
    os: `${type()} ${release()}`,
    node: process.version,
    postgres: postgresUrl ? await postgresVersion(postgresUrl) : null,
    autocannon: version("autocannon"),
    bcrypt: version("bcrypt"),
    loadAverageBefore,
    loadAverageAfter: [],
  };
  // The server's settings as the server itself reads them, so the ceiling uses the same cost.
  const config = loadConfig({ ...UNLIMITED_RATES, ...overrides });
  const rawThreadPoolSize = overrides.UV_THREADPOOL_SIZE ?? process.env.UV_THREADPOOL_SIZE ?? "4";
  const threadPoolSize = Number(rawThreadPoolSize);
  // The ceiling keeps this many operations in flight, so it must be a real size, not libuv's lenient parse.
  if (!Number.isInteger(threadPoolSize) || threadPoolSize < 1 || threadPoolSize > 1024) {
    usage(`UV_THREADPOOL_SIZE must be a whole number from 1 to 1024, got "${rawThreadPoolSize}"`);
  }
  const ceilingEnv = { PATH: process.env.PATH, UV_THREADPOOL_SIZE: String(threadPoolSize) };
  const durations = smoke ? SMOKE : FULL;
  const notice = postgresUrl
    ? null
    : "PostgreSQL was not measured: set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a server where a scratch database may be created.";
  if (notice) log(notice);

  // Once per run, before any database or server exists: nothing else of the bench runs meanwhile.
  const { tokens, rounds } = durations.tokenAlgorithms;
  log(`token algorithms: signing and verifying ${tokens} distinct tokens each, ${rounds} rounds (separate process)`);
  const tokenAlgorithms = await runTokenAlgorithms(durations.tokenAlgorithms, { PATH: process.env.PATH });

  const kinds: { name: DatabaseRun["database"]; open: () => Promise<TestDatabase> }[] = [
    ...(postgresUrl ? [{ name: "postgres" as const, open: () => postgresDatabase(postgresUrl) }] : []),
    { name: "pglite", open: pgliteDatabase },
  ];
  const databases: DatabaseRun[] = [];
  let sweep: Results["sweep"] = null;
  for (const kind of kinds) {
    const database = await kind.open();
    try {
      const context: RunContext = {
        durations,
        bcryptCost: config.bcryptCost,
        serverEnv: { ...serverEnv(database), UV_THREADPOOL_SIZE: String(threadPoolSize) },
        ceilingEnv,
        postgres: kind.name === "postgres",
        openDatabase: kind.open,
        log,
      };
      const run = await runDatabase(kind.name, context);
      databases.push(run);
      // The gate sweep once, on the first database (bcrypt does not depend on it), unless it was set by hand.
      if (sweep === null && overrides.MAX_CONCURRENT_HASHES === undefined) {
        const sizes = [1, machine.cores - 1, machine.cores, threadPoolSize];
        const others = [...new Set(sizes)]
          .filter((size) => size >= 1 && size !== run.admission.maxConcurrent)
          .sort((a, b) => a - b);
        sweep = {
          database: kind.name,
          idleP99Ms: run.phases.isolationIdle.client.latencyMs?.p99 ?? null,
          runs: await runSweep(smoke ? others.slice(0, 1) : others, context),
        };
      }
    } finally {
      await database.dispose();
    }
  }
  machine.loadAverageAfter = loadavg();

  const results: Results = {
    generatedAt: new Date().toISOString(),
    command: `pnpm bench${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(" ")}` : ""}`,
    smoke,
    machine,
    settings: { bcryptCost: config.bcryptCost, threadPoolSize, serverEnvOverrides: overrides },
    notice,
    tokenAlgorithms,
    databases,
    targets: databases.flatMap((run) => checkTargets(run, tokenAlgorithms)),
    sweep,
  };
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(outDir, "RESULTS.md"), renderMarkdown(results));
  process.stdout.write(`${renderSummary(results)}\n\nWrote ${join(outDir, "RESULTS.md")} and results.json\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`benchmark failed: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
