import type { Measurement } from "./measure.js";
import type { DatabaseRun, PhaseName, SweepRun } from "./phases.js";
import type { TargetCheck } from "./targets.js";
import type { TokenAlgorithmsResult } from "./token-algorithms-spec.js";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string | null;
  autocannon: string;
  bcrypt: string;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
}

export interface Results {
  generatedAt: string;
  command: string;
  smoke: boolean;
  machine: Machine;
  settings: { bcryptCost: number; threadPoolSize: number; serverEnvOverrides: Record<string, string> };
  /** Why a database is missing from the run, when one is. */
  notice: string | null;
  /** Signing and verifying cost per algorithm, once per run in a process of its own. */
  tokenAlgorithms: TokenAlgorithmsResult;
  databases: DatabaseRun[];
  targets: TargetCheck[];
  sweep: { database: DatabaseRun["database"]; idleP99Ms: number | null; runs: SweepRun[] } | null;
}

const n = (value: number | null | undefined, digits = 1) => (value == null ? "n/a" : value.toFixed(digits));
const mb = (bytes: number | null | undefined) => (bytes == null ? "n/a" : `${Math.round(bytes / 1024 / 1024)} MB`);
const ms = (value: number) => `${Math.round(value)} ms`;

const PHASE_TITLES: Record<PhaseName, string> = {
  bare: "GET /bench/hello (bare route)",
  authenticate: "GET /bench/protected (app.authenticate only)",
  me: "GET /users/me",
  refresh: "POST /token, grant_type=refresh_token (a rotation per request, 64 sessions)",
  token: "POST /token",
  users: "POST /users/ (unique usernames)",
  isolationIdle: "authenticate-only at 200 req/s, idle",
  isolationLoaded: "authenticate-only at 200 req/s, /token flooded",
};

/** Other programs using more than this many cores in a window make its figures suspect. */
export const DISTURBED_CORES = 0.15;

/** Every window in which other programs used more than {@link DISTURBED_CORES}. */
export function disturbances(results: Results): string[] {
  const found: string[] = [];
  const check = (where: string, others: number | null) => {
    if (others !== null && others > DISTURBED_CORES)
      found.push(`${where}: other programs used ${others.toFixed(2)} cores`);
  };
  for (const run of results.databases) {
    for (const name of Object.keys(PHASE_TITLES) as PhaseName[]) {
      check(`${run.database}, ${PHASE_TITLES[name]}`, run.phases[name].cpu.others);
    }
    for (const mode of run.modes) {
      for (const phase of ["bare", "authenticate", "me"] as const) {
        check(`${run.database}, ACCESS_TOKEN_CHECKS=${mode.mode}, ${PHASE_TITLES[phase]}`, mode[phase].cpu.others);
      }
    }
    for (const algorithm of run.algorithms.filter((a) => a.ownServer)) {
      for (const phase of ["bare", "authenticate", "me"] as const) {
        check(
          `${run.database}, TOKEN_ALGORITHM=${algorithm.tokenAlgorithm}, ${PHASE_TITLES[phase]}`,
          algorithm[phase].cpu.others,
        );
      }
    }
    for (const ceiling of Object.values(run.ceilings)) {
      check(
        `${run.database}, raw bcrypt.${ceiling.operation} with ${ceiling.concurrency} in flight`,
        ceiling.otherCores,
      );
    }
  }
  check("signing and verifying per algorithm (separate process)", results.tokenAlgorithms.otherCores);
  for (const run of results.sweep?.runs ?? []) {
    const where = `sweep, ${run.maxConcurrentHashes} at once`;
    check(`${where}, POST /token`, run.token.cpu.others);
    check(`${where}, authenticate-only flooded`, run.isolationLoaded.cpu.others);
    check(`${where}, raw bcrypt.compare`, run.ceiling.otherCores);
  }
  return found;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const perRequest = (m: Measurement) => (m.perSecond > 0 ? `${n((m.cpu.server / m.perSecond) * 1e6, 0)} µs` : "n/a");

/** What the token-algorithm process measured, in words (the same sentence on stdout and in RESULTS.md). */
function tokenAlgorithmsCaption(t: TokenAlgorithmsResult): string {
  return (
    `${t.tokens} distinct tokens per algorithm and round (claims sub, uid, sid), signed then verified through ` +
    `@latchkey/core's token service with the verified-token cache off; ${t.statistic} of ${t.rounds} rounds ` +
    "after a warm-up round, the order of the algorithms rotating from round to round; µs per token"
  );
}

function tokenAlgorithmsRows(t: TokenAlgorithmsResult, withSpread: boolean): string[][] {
  const spread = (values: number[]) => (withSpread ? ` (${n(Math.min(...values))}–${n(Math.max(...values))})` : "");
  return t.algorithms.map((a) => [
    a.algorithm,
    `${n(a.signUs)}${spread(a.signRoundsUs)}`,
    n(a.signRatio, 2),
    `${n(a.verifyUs)}${spread(a.verifyRoundsUs)}`,
    n(a.verifyRatio, 2),
    String(a.tokenBytes),
  ]);
}

const TOKEN_ALGORITHMS_HEADER = ["algorithm", "sign µs", "÷ HS256", "verify µs", "÷ HS256", "token bytes"];

function nonOk(m: Measurement): string {
  const refused = Object.entries(m.serverStatuses).filter(([status]) => !status.startsWith("2"));
  const clientErrors = Object.entries(m.client.statuses).filter(([status]) => status.startsWith("error"));
  const all = [...refused, ...clientErrors];
  return all.length === 0 ? "0" : all.map(([status, count]) => `${count}× ${status}`).join(", ");
}

function phaseRow(title: string, m: Measurement): string[] {
  const latency = m.client.latencyMs;
  return [
    title,
    n(m.perSecond, m.perSecond < 100 ? 2 : 0),
    latency ? n(latency.p50) : "n/a",
    latency ? n(latency.p99) : "n/a",
    nonOk(m),
    n(m.cpu.server, 2),
    n(m.cpu.loadGenerator, 2),
    n(m.cpu.postgres, 2),
    n(m.cpu.others, 2),
    mb(m.rssAfter),
  ];
}

const PHASE_HEADER = [
  "phase",
  "req/s (2xx, server-counted)",
  "p50 ms",
  "p99 ms",
  "non-2xx",
  "CPU server",
  "CPU load gen.",
  "CPU PostgreSQL",
  "CPU others",
  "RSS after",
];

export function renderMarkdown(results: Results): string {
  const { machine, settings } = results;
  const out: string[] = [];
  out.push("# Benchmark results");
  out.push("");
  out.push(
    `Generated by \`${results.command}\` on ${results.generatedAt}; do not edit by hand. ` +
      "Every figure comes from one run on one machine; ratios compare phases of this same run.",
  );
  if (results.smoke)
    out.push(
      "",
      "**Smoke run**: seconds per phase and a low bcrypt cost; the figures only show that every phase works.",
    );
  if (results.notice) out.push("", `**${results.notice}**`);
  out.push("", "## Machine", "");
  out.push(
    table(
      ["", ""],
      [
        ["CPU", `${machine.cpuModel}, ${machine.cores} cores`],
        ["Memory", `${machine.memoryGiB.toFixed(1)} GiB`],
        ["OS", machine.os],
        ["Node.js", machine.node],
        ["PostgreSQL", machine.postgres ?? "not used"],
        ["autocannon / bcrypt", `${machine.autocannon} / ${machine.bcrypt}`],
        [
          "load average before / after",
          `${machine.loadAverageBefore.map((v) => v.toFixed(2)).join(" ")} / ${machine.loadAverageAfter.map((v) => v.toFixed(2)).join(" ")}`,
        ],
        ["bcrypt cost, thread pool", `${settings.bcryptCost}, UV_THREADPOOL_SIZE=${settings.threadPoolSize}`],
        [
          "server overrides",
          Object.entries(settings.serverEnvOverrides)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ") || "none",
        ],
      ],
    ),
  );

  out.push("", "## Targets", "");
  out.push(
    table(
      ["database", "measure", "value", "target", "met"],
      results.targets.map((t) => [
        t.database,
        t.name,
        t.unit === "ms" ? `${t.value.toFixed(1)} ms` : t.value.toFixed(3),
        t.target,
        t.met ? "yes" : "**no**",
      ]),
    ),
  );
  const misses = results.targets.filter((t) => !t.met);
  if (misses.length > 0) {
    out.push("", "Why the missed targets missed (figures of this run):", "");
    for (const t of misses) out.push(`- **${t.database}, ${t.name}**: ${t.reason}`);
  }

  const disturbed = disturbances(results);
  out.push(
    "",
    disturbed.length === 0
      ? `No window was disturbed: other programs used at most ${DISTURBED_CORES} cores in every measuring window.`
      : `**Disturbed windows** (other programs used more than ${DISTURBED_CORES} cores; their figures are suspect, rerun on a quiet machine):\n\n${disturbed.map((line) => `- ${line}`).join("\n")}`,
  );

  const tokens = results.tokenAlgorithms;
  out.push("", "## Access tokens: signing and verifying per algorithm", "");
  out.push(
    `In a process of its own (no server, no load, nothing else of the bench running): ${tokenAlgorithmsCaption(tokens)}, ` +
      `with the fastest and slowest round in brackets; ratios are to HS256's ${tokens.statistic}. ` +
      `The process used ${n(tokens.cpuCores, 2)} cores, other programs ${n(tokens.otherCores, 2)}.`,
  );
  out.push("", table(TOKEN_ALGORITHMS_HEADER, tokenAlgorithmsRows(tokens, true)));

  for (const run of results.databases) {
    out.push("", `## ${run.database === "postgres" ? "PostgreSQL" : "PGlite (embedded)"}`, "");
    out.push(
      table(PHASE_HEADER, [
        ...(Object.keys(PHASE_TITLES) as PhaseName[]).map((name) => phaseRow(PHASE_TITLES[name], run.phases[name])),
      ]),
    );
    out.push(
      "",
      `Access-token checks side by side (each mode its own server, ${run.users} users' tokens in turn):`,
      "",
    );
    out.push(
      sideBySide(
        "ACCESS_TOKEN_CHECKS",
        run.modes.map((mode) => ({ ...mode, label: mode.mode })),
      ),
    );
    out.push(
      "",
      `app.authenticate by signing algorithm (${run.users} users' tokens in turn, each server's own; the default's ` +
        "row is the main phases above, HS256's a server of its own started with `TOKEN_ALGORITHM=HS256` on a new database):",
      "",
    );
    out.push(sideBySide("tokens signed with", run.algorithms));
    out.push("");
    const c = run.ceilings;
    out.push(
      table(
        ["raw bcrypt (separate process)", "in flight", "ops/s", "CPU cores", "CPU others"],
        (
          [
            ["bcrypt.compare", c.compare],
            ["bcrypt.hash", c.hash],
            ["bcrypt.compare at the gate's size", c.compareAtGate],
            ["bcrypt.hash at the gate's size", c.hashAtGate],
          ] as const
        ).map(([title, r]) => [title, String(r.concurrency), n(r.perSecond, 2), n(r.cpuCores, 2), n(r.otherCores, 2)]),
      ),
    );
    out.push("");
    const later = run.startup.later.map((s) => s.readyMs).sort((a, b) => a - b);
    const median = later.length ? (later[Math.floor(later.length / 2)] as number) : null;
    out.push(
      table(
        ["start-up and memory", ""],
        [
          ["process start → /ready 200, empty database", ms(run.startup.first.readyMs)],
          [
            `process start → /ready 200, later starts (median of ${later.length})`,
            median === null ? "n/a" : ms(median),
          ],
          [
            "RSS of `dist/main.js` once ready (first / later start)",
            `${mb(run.startup.first.rss)} / ${mb(run.startup.later[0]?.rss)}`,
          ],
          ["RSS of the bench server, idle", mb(run.idleRss)],
          ["bcrypt admission gate (running / queued)", `${run.admission.maxConcurrent} / ${run.admission.maxQueued}`],
        ],
      ),
    );
  }

  if (results.sweep) {
    const { sweep } = results;
    out.push("", `## bcrypt admission gate sweep (${sweep.database})`, "");
    out.push(
      `How many bcrypt operations run at once (\`MAX_CONCURRENT_HASHES\`) against /token throughput and the ` +
        `authenticate-only p99 while /token is flooded. Idle p99: ${n(sweep.idleP99Ms)} ms.`,
    );
    out.push("");
    out.push(
      table(
        [
          "running at once",
          "/token req/s",
          "raw compare at that size",
          "ratio",
          "/token p99 ms",
          "auth-only p99 ms (flooded)",
          "CPU server",
          "CPU load gen.",
        ],
        sweep.runs.map((r) => [
          String(r.maxConcurrentHashes),
          n(r.token.perSecond, 2),
          n(r.ceiling.perSecond, 2),
          n(r.token.perSecond / r.ceiling.perSecond, 3),
          n(r.token.client.latencyMs?.p99),
          n(r.isolationLoaded.client.latencyMs?.p99),
          n(r.isolationLoaded.cpu.server, 2),
          n(r.isolationLoaded.cpu.loadGenerator, 2),
        ]),
      ),
    );
  }
  out.push(
    "",
    "## How it is measured",
    "",
    "- The server is `apps/server`'s app (same configuration from the environment, plugins and hooks) with a few extra routes: a bare hello-world, a route protected only by `app.authenticate`, `/bench/stats`, and `/bench/seed-users`, which makes the many users whose tokens the authenticated phases send in turn. Rate limits are raised out of the way (their hooks still run). Start-up times use the real `dist/main.js`.",
    "- Tokens are signed as the server signs them on a new database: RS256 unless `TOKEN_ALGORITHM` says otherwise, so the phases and the target for `app.authenticate` are the default algorithm's. For HS256 side by side, a server started with `TOKEN_ALGORITHM=HS256` on a new database of its own (a database's keyring keeps the key it began with) seeds as many users and runs the same bare, authenticate-only and /users/me loads. Every seeded token's header is checked for the algorithm its row names.",
    "- Signing and verifying per algorithm run once per run, before any database or server, in a process of its own: for each of HS256, RS256, ES256 and EdDSA a keyring in memory and `@latchkey/core`'s token service with the verified-token cache off; every round signs the same number of distinct tokens per algorithm (claims shaped like the server's: `sub`, `uid`, `sid`) and verifies those tokens, with the algorithms' order rotating from round to round so that noise on the machine falls on all alike, after one untimed warm-up round. Figures are the median of the rounds; ratios divide each median by HS256's.",
    "- autocannon runs in processes of its own on 127.0.0.1. Each phase has a warm-up, a measuring window and a tail; the server's response counters and every process's CPU are sampled at the window's edges, so ramp-up, wind-down and requests in flight at either edge never enter a figure. Latencies are those of responses that arrived inside the window.",
    "- The raw bcrypt ceilings run in a separate process with the server's thread-pool size, keeping as many operations in flight as the pool has threads (and, for the `at the gate's size` rows, as many as the server's admission gate lets run).",
    "- A bcrypt-bound window holds 100–200 operations, so ratios against the bcrypt ceilings are good to about ±2 % (one operation is 0.5–1 %); a ratio slightly above 1 is that noise.",
    "- CPU is in cores (1.00 = one core busy for the whole window). `others` is whatever else the machine ran meanwhile, including this orchestrator; a large value means the figures were disturbed.",
  );
  return `${out.join("\n")}\n`;
}

/** A short table for the terminal. */
export function renderSummary(results: Results): string {
  const width = Math.max(44, ...results.targets.map((t) => t.name.length));
  const lines = results.targets.map(
    (t) =>
      `${t.met ? "met   " : "MISSED"}  ${t.database.padEnd(8)} ${t.name.padEnd(width)} ${(t.unit === "ms" ? `${t.value.toFixed(1)} ms` : t.value.toFixed(3)).padStart(9)}  (target ${t.target})`,
  );
  lines.push("");
  for (const run of results.databases) {
    const ratios = run.algorithms
      .map((a) => `${a.label} ${n(a.authenticate.perSecond / a.bare.perSecond, 3)}`)
      .join(", ");
    lines.push(`app.authenticate ÷ bare by signing algorithm, ${run.database}: ${ratios}`);
  }
  const tokens = results.tokenAlgorithms;
  const rows = [TOKEN_ALGORITHMS_HEADER, ...tokenAlgorithmsRows(tokens, false)];
  const widths = TOKEN_ALGORITHMS_HEADER.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  lines.push(
    "",
    `Access tokens per algorithm, in a process of its own: ${tokenAlgorithmsCaption(tokens)}:`,
    ...rows.map(
      (row) =>
        `  ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")}`,
    ),
  );
  const disturbed = disturbances(results);
  if (disturbed.length > 0)
    lines.push("", "Disturbed windows (figures suspect):", ...disturbed.map((line) => `  ${line}`));
  return lines.join("\n");
}

/** One server per row: bare, authenticate-only and /users/me, with their ratios to that server's bare route. */
function sideBySide(
  first: string,
  rows: readonly { label: string; bare: Measurement; authenticate: Measurement; me: Measurement }[],
): string {
  return table(
    [first, "bare /s", "authenticate /s", "÷ bare", "server CPU/req", "/users/me /s", "÷ bare", "server CPU/req"],
    rows.map((row) => [
      row.label,
      n(row.bare.perSecond, 0),
      n(row.authenticate.perSecond, 0),
      n(row.authenticate.perSecond / row.bare.perSecond, 3),
      perRequest(row.authenticate),
      n(row.me.perSecond, 0),
      n(row.me.perSecond / row.bare.perSecond, 3),
      perRequest(row.me),
    ]),
  );
}
