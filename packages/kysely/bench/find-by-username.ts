/**
 * How fast the store answers `findByUsername` — the lookup every login makes — with 10,000 users
 * in the table, on embedded PGlite and (when DATABASE_URL or TEST_DATABASE_URL is set) on
 * PostgreSQL, in a schema of its own that it drops afterwards.
 *
 *   pnpm --filter @latchkey/kysely bench
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm --filter @latchkey/kysely bench
 *
 * BENCH_USERS and BENCH_LOOKUPS change the sizes. A benchmark, not a test: it asserts nothing.
 */
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { UserStore } from "@latchkey/core";
import { type Kysely, sql } from "kysely";
import pg from "pg";
import { migrateToLatest } from "../src/migrate.js";
import { createPgliteDatabase } from "../src/pglite.js";
import { createPostgresDatabase } from "../src/postgres.js";
import type { UsersDatabase } from "../src/schema.js";
import { createKyselyUserStore } from "../src/store.js";

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const LOOKUPS = Number(process.env.BENCH_LOOKUPS ?? 5_000);
const CONCURRENCY = 32;
const HASH = "$2b$12$DBt5ZYBrP0PyipdqAu3Uq.0VyGRuupETGXrOEOpX7ZgpNgIAscGUe";

interface Row {
  backend: string;
  mode: string;
  opsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
}

const usernameOf = (i: number) => `user${String(i).padStart(6, "0")}`;

async function fill(db: Kysely<UsersDatabase>): Promise<void> {
  await migrateToLatest(db);
  for (let start = 0; start < USERS; start += 1_000) {
    const batch = Array.from({ length: Math.min(1_000, USERS - start) }, (_, i) => ({
      username: usernameOf(start + i),
      password: HASH,
    }));
    await db.insertInto("users").values(batch).execute();
  }
  await sql`analyze users`.execute(db);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Runs LOOKUPS lookups of random existing users, `concurrency` at a time. */
async function measure(backend: string, store: UserStore, concurrency: number): Promise<Row> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < LOOKUPS) {
      next += 1;
      const username = usernameOf(Math.floor(Math.random() * USERS));
      const started = performance.now();
      const user = await store.findByUsername(username);
      latencies.push(performance.now() - started);
      if (!user) throw new Error(`lost ${username}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  return {
    backend,
    mode: concurrency === 1 ? "sequential" : `${concurrency} concurrent`,
    opsPerSecond: LOOKUPS / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

async function bench(backend: string, db: Kysely<UsersDatabase>): Promise<Row[]> {
  await fill(db);
  const store = createKyselyUserStore(db);
  for (let i = 0; i < 500; i += 1) await store.findByUsername(usernameOf(i));
  return [await measure(backend, store, 1), await measure(backend, store, CONCURRENCY)];
}

async function benchPglite(): Promise<Row[]> {
  const db = createPgliteDatabase();
  try {
    return await bench("PGlite (in memory)", db);
  } finally {
    await db.destroy();
  }
}

async function benchPostgres(url: string): Promise<Row[]> {
  const schema = `latchkey_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  const db = createPostgresDatabase(url, { schema });
  try {
    return await bench("PostgreSQL (pg, pool 10)", db);
  } finally {
    await db.destroy();
    await admin.query(`drop schema "${schema}" cascade`);
    await admin.end();
  }
}

function print(rows: Row[]): void {
  const header = ["backend", "mode", "lookups/s", "p50 ms", "p95 ms", "p99 ms"];
  const cells = rows.map((row) => [
    row.backend,
    row.mode,
    row.opsPerSecond.toFixed(0),
    row.p50.toFixed(3),
    row.p95.toFixed(3),
    row.p99.toFixed(3),
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...cells.map((cell) => (cell[i] ?? "").length)));
  const line = (cell: string[]) => `| ${cell.map((value, i) => value.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const cell of cells) console.log(line(cell));
}

const url = process.env.DATABASE_URL || process.env.TEST_DATABASE_URL;
console.log(`findByUsername with ${USERS} users, ${LOOKUPS} lookups per row, Node ${process.version}`);
const rows = await benchPglite();
if (url) rows.push(...(await benchPostgres(url)));
else console.log("(PostgreSQL not measured: set DATABASE_URL or TEST_DATABASE_URL)");
print(rows);
