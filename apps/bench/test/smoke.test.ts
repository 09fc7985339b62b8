// Runs the whole benchmark in its smoke mode (seconds per phase, bcrypt cost 4) and checks only
// that every phase produced figures, so the suite cannot rot. The figures themselves mean nothing.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PHASES } from "../src/phases.js";
import type { Results } from "../src/report.js";
import { TOKEN_ALGORITHMS } from "../src/token-algorithms-spec.js";

const MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));
const postgresUrl = process.env.TEST_DATABASE_URL;
if (!postgresUrl) console.warn("TEST_DATABASE_URL is not set: the benchmark smoke test runs on PGlite only");

describe("pnpm bench --smoke", () => {
  let out: string;
  let results: Results;
  let markdown: string;
  let stdout: string;

  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "latchkey-bench-"));
    // Only TEST_DATABASE_URL decides whether PostgreSQL runs, as in every other suite.
    const { BENCH_DATABASE_URL: _ignored, ...env } = process.env;
    ({ stdout } = await promisify(execFile)(process.execPath, [MAIN, "--smoke", "--out", out], {
      env,
      timeout: 280_000,
    }));
    results = JSON.parse(await readFile(join(out, "results.json"), "utf8")) as Results;
    markdown = await readFile(join(out, "RESULTS.md"), "utf8");
  }, 300_000);
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("measures every database this run has", () => {
    expect(results.databases.map((run) => run.database)).toEqual(postgresUrl ? ["postgres", "pglite"] : ["pglite"]);
    expect(results.notice === null).toBe(Boolean(postgresUrl));
  });

  it("gives every phase a throughput, latencies, CPU shares and memory, with no refused requests", () => {
    for (const run of results.databases) {
      for (const phase of PHASES) {
        const measured = run.phases[phase];
        const where = `${run.database} ${phase}`;
        expect(measured.perSecond, where).toBeGreaterThan(0);
        expect(measured.client.latencyMs?.p99, where).toBeGreaterThan(0);
        expect(measured.cpu.server, where).toBeGreaterThan(0);
        expect(measured.rssAfter, where).toBeGreaterThan(0);
        expect(
          Object.keys(measured.serverStatuses).every((status) => status.startsWith("2")),
          where,
        ).toBe(true);
      }
    }
  });

  it("measures every access-token mode side by side, on many users' tokens", () => {
    for (const run of results.databases) {
      expect(run.users).toBeGreaterThanOrEqual(100);
      expect(run.modes.map((mode) => mode.mode)).toEqual(["stateless", "session", "strict"]);
      for (const mode of run.modes) {
        for (const phase of [mode.bare, mode.authenticate, mode.me]) expect(phase.perSecond).toBeGreaterThan(0);
        expect(Object.keys(mode.me.client.statuses)).toEqual(["200"]);
      }
    }
    expect(markdown).toContain("Access-token checks side by side");
  });

  it("measures app.authenticate with the default algorithm (RS256) and with HS256 in a server of its own", () => {
    for (const run of results.databases) {
      expect(run.algorithms.map((a) => [a.label, a.signedWith, a.ownServer])).toEqual([
        ["default algorithm (RS256)", "RS256", false],
        ["HS256", "HS256", true],
      ]);
      for (const algorithm of run.algorithms) {
        for (const phase of [algorithm.bare, algorithm.authenticate, algorithm.me]) {
          expect(phase.perSecond, algorithm.label).toBeGreaterThan(0);
          expect(Object.keys(phase.serverStatuses), algorithm.label).toEqual(["200"]);
        }
      }
      expect(run.algorithms[0]?.authenticate).toEqual(run.phases.authenticate);
    }
    expect(markdown).toContain("app.authenticate by signing algorithm");
    expect(markdown).toMatch(/^\| default algorithm \(RS256\) \| \d+ \| \d+ \| [\d.]+ \|/m);
    expect(markdown).toMatch(/^\| HS256 \| \d+ \| \d+ \| [\d.]+ \|/m);
    expect(stdout).toMatch(
      /app\.authenticate ÷ bare by signing algorithm, pglite: default algorithm \(RS256\) [\d.]+, HS256 [\d.]+/,
    );
  });

  it("measures signing and verifying per algorithm once, as ratios to HS256, in stdout, results.json and RESULTS.md", () => {
    const { tokenAlgorithms } = results;
    expect(tokenAlgorithms.statistic).toBe("median");
    expect(tokenAlgorithms.rounds).toBeGreaterThanOrEqual(2);
    expect(tokenAlgorithms.algorithms.map((a) => a.algorithm)).toEqual([...TOKEN_ALGORITHMS]);
    for (const a of tokenAlgorithms.algorithms) {
      expect(a.signedWith).toBe(a.algorithm);
      expect(a.signRoundsUs).toHaveLength(tokenAlgorithms.rounds);
      expect(a.verifyRoundsUs).toHaveLength(tokenAlgorithms.rounds);
      for (const value of [a.signUs, a.verifyUs, a.signRatio, a.verifyRatio]) {
        expect(Number.isFinite(value) && value > 0, a.algorithm).toBe(true);
      }
    }
    expect(tokenAlgorithms.algorithms[0]).toMatchObject({ algorithm: "HS256", signRatio: 1, verifyRatio: 1 });
    expect(markdown).toContain("## Access tokens: signing and verifying per algorithm");
    expect(markdown).toContain("| algorithm | sign µs | ÷ HS256 | verify µs | ÷ HS256 | token bytes |");
    expect(stdout).toContain("Access tokens per algorithm");
    for (const algorithm of TOKEN_ALGORITHMS) {
      expect(markdown).toMatch(new RegExp(`^\\| ${algorithm} \\| [\\d.]+ \\([\\d.]+–[\\d.]+\\) \\| [\\d.]+ \\|`, "m"));
      expect(stdout).toMatch(new RegExp(`^  ${algorithm} +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+ +\\d+$`, "m"));
    }
  });

  it("measures the bcrypt ceilings, start-up and idle memory", () => {
    for (const run of results.databases) {
      for (const ceiling of Object.values(run.ceilings)) expect(ceiling.perSecond).toBeGreaterThan(0);
      expect(run.startup.first.readyMs).toBeGreaterThan(0);
      expect(run.startup.later.length).toBeGreaterThan(0);
      expect(run.idleRss).toBeGreaterThan(0);
    }
  });

  it("checks every target per database and runs the admission-gate sweep", () => {
    const names = [
      "POST /token ÷ raw bcrypt.compare",
      "POST /users/ ÷ raw bcrypt.hash",
      "authenticate-only ÷ bare, default algorithm (RS256)",
      "GET /users/me ÷ bare",
      "refresh ÷ GET /users/me",
      "authenticate-only p99 under a /token flood",
    ];
    for (const run of results.databases) {
      expect(results.targets.filter((t) => t.database === run.database).map((t) => t.name)).toEqual(names);
    }
    expect(results.targets).toHaveLength(names.length * results.databases.length);
    for (const target of results.targets) {
      expect(Number.isFinite(target.value), target.name).toBe(true);
      if (!target.met) expect(target.reason, target.name).toBeTruthy();
    }
    expect(results.sweep?.runs.length).toBeGreaterThan(0);
    expect(markdown).toContain("## Targets");
    expect(markdown).toContain("**Smoke run**");
  });
});
