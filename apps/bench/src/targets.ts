import type { Measurement } from "./measure.js";
import type { AlgorithmRun, DatabaseRun } from "./phases.js";
import type { AlgorithmCost, TokenAlgorithmsResult } from "./token-algorithms-spec.js";

/** One target of the benchmark issue, checked against one database's figures. */
export interface TargetCheck {
  database: DatabaseRun["database"];
  name: string;
  /** What was measured, as a ratio or in milliseconds. */
  value: number;
  unit: "ratio" | "ms";
  target: string;
  met: boolean;
  /** Why it missed (and what the other figures of the same run say), written only when it did. */
  reason?: string;
}

const fmt = (value: number | null, digits = 2) => (value === null ? "n/a" : value.toFixed(digits));

function cpuSplit(m: Measurement): string {
  const { cpu } = m;
  return (
    `server ${fmt(cpu.server)} cores, load generator ${fmt(cpu.loadGenerator)}, ` +
    `PostgreSQL ${fmt(cpu.postgres)}, others ${fmt(cpu.others)} (machine busy ${fmt(cpu.machineCores)} cores)`
  );
}

/** The same route's ratio in each access-token mode's own server, for a reason's text. */
function modesNote(run: DatabaseRun, phase: "authenticate" | "me"): string {
  if (run.modes.length === 0) return "";
  const ratios = run.modes.map((m) => `${m.mode} ${fmt(m[phase].perSecond / m.bare.perSecond, 3)}`).join(", ");
  return ` (÷ bare in each mode's own server: ${ratios})`;
}

const perRequestUs = (m: Measurement) => fmt((m.cpu.server / m.perSecond) * 1e6, 0);

/**
 * The route's ratio with the other algorithms' servers (HS256 on a new database of its own), and
 * what verifying alone costs per algorithm in the separate process, for a reason's text.
 */
function algorithmsNote(
  run: DatabaseRun,
  byDefault: AlgorithmRun,
  tokenAlgorithms: TokenAlgorithmsResult | null,
): string {
  const others = run.algorithms.filter((a) => a.ownServer);
  const servers = others.map(
    (a) =>
      ` ${a.label} in a server of its own (TOKEN_ALGORITHM=${a.tokenAlgorithm}, a new database, ${run.users} users' ` +
      `tokens in turn): ${fmt(a.authenticate.perSecond / a.bare.perSecond, 3)} ÷ bare ` +
      `(${fmt(a.authenticate.perSecond, 0)}/s against ${fmt(a.bare.perSecond, 0)}/s), ` +
      `${perRequestUs(a.authenticate)} µs of server CPU per request.`,
  );
  if (tokenAlgorithms === null) return servers.join("");
  const rawOf = (alg: string) => tokenAlgorithms.algorithms.find((a) => a.algorithm === alg);
  const defaultRaw = rawOf(byDefault.signedWith);
  const comparedRaw = others
    .map((a) => rawOf(a.signedWith))
    .filter((a): a is AlgorithmCost => a !== undefined && a !== defaultRaw);
  const rawNote =
    defaultRaw === undefined || comparedRaw.length === 0
      ? ""
      : ` Verifying alone (a separate process, median of ${tokenAlgorithms.rounds} rounds of ${tokenAlgorithms.tokens} ` +
        `distinct tokens): ${defaultRaw.algorithm} ${fmt(defaultRaw.verifyUs, 1)} µs per token, ` +
        `${comparedRaw.map((a) => `${a.algorithm} ${fmt(a.verifyUs, 1)} µs`).join(", ")}.`;
  return servers.join("") + rawNote;
}

/** The targets with a number, for one database. */
export function checkTargets(run: DatabaseRun, tokenAlgorithms: TokenAlgorithmsResult | null = null): TargetCheck[] {
  const { phases, ceilings, database, admission } = run;
  // The main phases' row: the algorithm the server signs with unless TOKEN_ALGORITHM says otherwise.
  const byDefault = run.algorithms[0] as AlgorithmRun;
  const checks: TargetCheck[] = [];
  const bcryptRatio = (name: string, phase: Measurement, all: number, atGate: number, operation: string) => {
    const value = phase.perSecond / all;
    const check: TargetCheck = { database, name, value, unit: "ratio", target: "≥ 0.95", met: value >= 0.95 };
    if (!check.met) {
      const gated = phase.perSecond / atGate;
      check.reason =
        admission.maxConcurrent < ceilings.compare.concurrency
          ? `The admission gate runs ${admission.maxConcurrent} bcrypt operation(s) at once where the ceiling keeps ` +
            `${ceilings.compare.concurrency} in flight; against raw ${operation} with ${admission.maxConcurrent} at once ` +
            `(${fmt(atGate)}/s) the ratio is ${fmt(gated)}. CPU in the window: ${cpuSplit(phase)}.`
          : `CPU in the window: ${cpuSplit(phase)}; raw ${operation} used ${fmt(ceilings.compare.cpuCores)} cores.`;
    }
    checks.push(check);
  };
  bcryptRatio(
    "POST /token ÷ raw bcrypt.compare",
    phases.token,
    ceilings.compare.perSecond,
    ceilings.compareAtGate.perSecond,
    "bcrypt.compare",
  );
  bcryptRatio(
    "POST /users/ ÷ raw bcrypt.hash",
    phases.users,
    ceilings.hash.perSecond,
    ceilings.hashAtGate.perSecond,
    "bcrypt.hash",
  );

  const verifyRatio = (
    name: string,
    phase: Measurement,
    minimum: number,
    cost: string,
    targetNote = "",
    afterNote = "",
  ) => {
    const value = phase.perSecond / phases.bare.perSecond;
    const target = `≥ ${minimum.toFixed(2)}${targetNote}`;
    const check: TargetCheck = { database, name, value, unit: "ratio", target, met: value >= minimum };
    if (!check.met) {
      check.reason =
        `${cost}: ${perRequestUs(phase)} µs of server CPU per request against ${perRequestUs(phases.bare)} µs for the bare route. ` +
        `Bare route: ${fmt(phases.bare.perSecond, 0)}/s with ${cpuSplit(phases.bare)}; ` +
        `this route: ${fmt(phase.perSecond, 0)}/s with ${cpuSplit(phase)}.${afterNote}`;
    }
    checks.push(check);
  };
  verifyRatio(
    `authenticate-only ÷ bare, ${byDefault.label}`,
    phases.authenticate,
    0.7,
    `Per request: parse the header, verify an ${byDefault.signedWith} JWT not seen before (${run.users} users' tokens in turn; ` +
      "the verified-token cache holds 1000), then the session checks (map lookups)" +
      modesNote(run, "authenticate"),
    "",
    algorithmsNote(run, byDefault, tokenAlgorithms),
  );
  verifyRatio(
    "GET /users/me ÷ bare",
    phases.me,
    0.3,
    database === "pglite"
      ? "Per request: verify the JWT, then one lookup in PGlite: PostgreSQL compiled to WebAssembly, parsing, planning and running the query in the server's own thread"
      : "Per request: verify the JWT, then one indexed lookup on PostgreSQL (a round trip and a backend's CPU)",
    database === "pglite" ? " (set for PostgreSQL)" : "",
  );

  const refreshRatio = phases.refresh.perSecond / phases.me.perSecond;
  const refresh: TargetCheck = {
    database,
    name: "refresh ÷ GET /users/me",
    value: refreshRatio,
    unit: "ratio",
    target: database === "pglite" ? "≥ 0.25 (set for PostgreSQL)" : "≥ 0.25",
    met: refreshRatio >= 0.25,
  };
  if (!refresh.met) {
    const signing = tokenAlgorithms?.algorithms.find((a) => a.algorithm === byDefault.signedWith);
    refresh.reason =
      "Per refresh: a read of the session row, a conditional UPDATE that commits (a WAL flush), then an " +
      `${byDefault.signedWith} signature${signing ? ` (${fmt(signing.signUs, 0)} µs alone in the separate process)` : ""}; ` +
      `${perRequestUs(phases.refresh)} µs of server CPU per refresh against ` +
      `${perRequestUs(phases.me)} µs per /users/me. Refresh: ${fmt(phases.refresh.perSecond, 0)}/s with ` +
      `${cpuSplit(phases.refresh)}; /users/me: ${fmt(phases.me.perSecond, 0)}/s with ${cpuSplit(phases.me)}.`;
  }
  checks.push(refresh);

  const p99 = phases.isolationLoaded.client.latencyMs?.p99 ?? Number.POSITIVE_INFINITY;
  const isolation: TargetCheck = {
    database,
    name: "authenticate-only p99 under a /token flood",
    value: p99,
    unit: "ms",
    target: "< 50 ms",
    met: p99 < 50,
  };
  if (!isolation.met) {
    isolation.reason = `Idle p99 ${fmt(phases.isolationIdle.client.latencyMs?.p99 ?? null, 1)} ms. CPU in the window: ${cpuSplit(phases.isolationLoaded)}.`;
  }
  checks.push(isolation);
  return checks;
}
