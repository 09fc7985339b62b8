import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestDatabase } from "@latchkey/server/testing";
import type { CeilingResult, CeilingSpec } from "./ceiling-spec.js";
import { runForResult } from "./child.js";
import type { LoadSpec } from "./load-spec.js";
import { type Measurement, measureWindow } from "./measure.js";
import { type BenchServer, startBenchServer } from "./server.js";
import { BCRYPT_CONNECTIONS, CHEAP_CONNECTIONS, type Durations, PROBE } from "./settings.js";
import { type StartupRun, timeStartup } from "./startup.js";
import type { TokenAlgorithmsResult, TokenAlgorithmsSpec } from "./token-algorithms-spec.js";

export const PHASES = [
  "bare",
  "authenticate",
  "me",
  "refresh",
  "token",
  "users",
  "isolationIdle",
  "isolationLoaded",
] as const;
export type PhaseName = (typeof PHASES)[number];

export interface Ceilings {
  /** bcrypt.compare with every thread of the pool busy: the physical ceiling for /token. */
  compare: CeilingResult;
  /** bcrypt.hash likewise: the ceiling for sign-ups. */
  hash: CeilingResult;
  /** The same two with only as many operations at once as the server's admission gate allows. */
  compareAtGate: CeilingResult;
  hashAtGate: CeilingResult;
}

/** The access-token checks compared side by side (`session` is the default the other phases run with). */
export const MODES = ["stateless", "session", "strict"] as const;
export type Mode = (typeof MODES)[number];

/** One access-token mode's cost: a bare route, authenticate-only and /users/me, in one server. */
export interface ModeRun {
  mode: Mode;
  bare: Measurement;
  authenticate: Measurement;
  me: Measurement;
}

/**
 * `app.authenticate` by signing algorithm: a bare route, authenticate-only and /users/me with one
 * server's own users' tokens, signed as that server signs them.
 */
export interface AlgorithmRun {
  /** The report's name for it: `default algorithm (RS256)`, or the TOKEN_ALGORITHM it was started with. */
  label: string;
  /** TOKEN_ALGORITHM the server was started with; null for none (the server's default). */
  tokenAlgorithm: string | null;
  /** The `alg` in the header of every token seeded: what the server really signed with. */
  signedWith: string;
  /**
   * false: the windows of the main phases (`phases.bare`, `.authenticate`, `.me`: the server every
   * other phase runs on). true: a server of its own on a new database, seeded with as many users.
   */
  ownServer: boolean;
  bare: Measurement;
  authenticate: Measurement;
  me: Measurement;
}

/** The algorithm compared with the default in a server of its own (the HMAC baseline). */
export const COMPARED_ALGORITHM = "HS256";

export interface DatabaseRun {
  database: "postgres" | "pglite";
  /** How many distinct users' tokens the authenticated phases cycle through. */
  users: number;
  modes: ModeRun[];
  /** The default algorithm (the main phases) first, then {@link COMPARED_ALGORITHM} in a server of its own. */
  algorithms: AlgorithmRun[];
  startup: { first: StartupRun; later: StartupRun[] };
  idleRss: number;
  admission: { maxConcurrent: number; maxQueued: number };
  ceilings: Ceilings;
  phases: Record<PhaseName, Measurement>;
}

export interface SweepRun {
  maxConcurrentHashes: number;
  token: Measurement;
  isolationLoaded: Measurement;
  ceiling: CeilingResult;
}

const PASSWORD = "bench-password-1";
/** Sessions the refresh phase rotates: two per connection, so one is always idle for the next request. */
const REFRESH_SESSIONS = CHEAP_CONNECTIONS * 2;

/** Signs a user up for the refresh phase and logs in once per session; returns the refresh tokens. */
async function seedSessions(server: BenchServer): Promise<string[]> {
  const credentials = { username: "bench-refresher", password: PASSWORD };
  await server.call(
    "/users/",
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(credentials) },
    201,
    409,
  );
  const tokens: string[] = [];
  for (let i = 0; i < REFRESH_SESSIONS; i += 1) {
    const login = await server.call(
      "/token",
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(credentials).toString(),
      },
      200,
    );
    tokens.push((login as { refresh_token: string }).refresh_token);
  }
  return tokens;
}

const SEED_BATCH = 1000;

/** The `alg` every token's header names (they must agree): what the server signed them with. */
function signedWith(tokens: string[]): string {
  const algs = new Set(
    tokens.map(
      (token) =>
        (JSON.parse(Buffer.from(token.slice(0, token.indexOf(".")), "base64url").toString()) as { alg?: unknown }).alg,
    ),
  );
  const [alg] = algs;
  if (algs.size !== 1 || typeof alg !== "string") {
    throw new Error(`The seeded tokens do not all name one algorithm: ${[...algs].map(String).join(", ")}`);
  }
  return alg;
}

/**
 * Makes `count` users, each with a session and an access token (through the bench server's seeding
 * route, in batches), and writes the tokens to a file for the load workers.
 */
async function seedManyUsers(server: BenchServer, count: number): Promise<{ file: string; signedWith: string }> {
  const tokens: string[] = [];
  for (let start = 0; start < count; start += SEED_BATCH) {
    const batch = Math.min(SEED_BATCH, count - start);
    const body = JSON.stringify({ prefix: `many-${start / SEED_BATCH}`, count: batch });
    const seeded = (await server.call(
      "/bench/seed-users",
      { method: "POST", headers: { "content-type": "application/json" }, body },
      200,
    )) as { accessTokens: string[] };
    tokens.push(...seeded.accessTokens);
  }
  const dir = await mkdtemp(join(tmpdir(), "latchkey-bench-"));
  const file = join(dir, "tokens.json");
  await writeFile(file, JSON.stringify(tokens));
  return { file, signedWith: signedWith(tokens) };
}

/** Signs the bench user up (unless a sweep's earlier run did) and logs in once; returns an access token. */
async function seed(server: BenchServer): Promise<string> {
  const credentials = { username: "bench-user", password: PASSWORD };
  await server.call(
    "/users/",
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(credentials) },
    201,
    409,
  );
  const login = await server.call(
    "/token",
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(credentials).toString(),
    },
    200,
  );
  return (login as { access_token: string }).access_token;
}

export interface RunContext {
  durations: Durations;
  bcryptCost: number;
  /** The server's whole environment (database, limits, overrides). */
  serverEnv: Record<string, string>;
  /** Environment of the ceiling process: the server's thread-pool size. */
  ceilingEnv: NodeJS.ProcessEnv;
  postgres: boolean;
  /** A new, empty database of the same kind (for a server whose keyring must start from nothing). */
  openDatabase(): Promise<TestDatabase>;
  log(line: string): void;
}

function loads(url: string, tokensFile: string | undefined, refreshTokens: string[], durations: Durations) {
  const many = tokensFile === undefined ? {} : { bearerTokensFile: tokensFile };
  const cheap = (path: string, headers: Record<string, string> = {}): LoadSpec => ({
    url,
    method: "GET",
    path,
    headers,
    connections: CHEAP_CONNECTIONS,
    ...durations.cheap,
  });
  const tokenLoad: LoadSpec = {
    url,
    method: "POST",
    path: "/token",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: "bench-user", password: PASSWORD }).toString(),
    connections: BCRYPT_CONNECTIONS,
    ...durations.bcrypt,
  };
  const probe: LoadSpec = {
    url,
    method: "GET",
    path: "/bench/protected",
    ...many,
    connections: PROBE.connections,
    rate: PROBE.rate,
    ...durations.isolationProbe,
  };
  const p = durations.isolationProbe;
  const flood: LoadSpec = {
    ...tokenLoad,
    warmupSeconds: durations.isolationLeadSeconds,
    windowSeconds: p.warmupSeconds + p.windowSeconds + p.tailSeconds + 2,
    tailSeconds: 0,
  };
  return {
    bare: cheap("/bench/hello"),
    authenticate: { ...cheap("/bench/protected"), ...many },
    me: { ...cheap("/users/me"), ...many },
    // Every request a real rotation of one of many live sessions: a read, a conditional UPDATE, a commit.
    refresh: {
      ...cheap("/token", { "content-type": "application/x-www-form-urlencoded" }),
      method: "POST",
      refreshTokens,
    } satisfies LoadSpec,
    token: tokenLoad,
    users: {
      ...tokenLoad,
      path: "/users/",
      headers: { "content-type": "application/json" },
      uniqueUsernames: "bench",
    } satisfies LoadSpec,
    probe,
    flood,
  };
}

const ROUTES = {
  bare: "GET /bench/hello",
  authenticate: "GET /bench/protected",
  me: "GET /users/me",
  refresh: "POST /token",
  token: "POST /token",
  users: "POST /users/",
} as const;

function ceiling(
  context: RunContext,
  operation: CeilingSpec["operation"],
  concurrency: number,
): Promise<CeilingResult> {
  const spec: CeilingSpec = { operation, cost: context.bcryptCost, concurrency, ...context.durations.ceiling };
  return runForResult<CeilingResult>("bcrypt-ceiling", spec, context.ceilingEnv);
}

/**
 * Seeds the bench user (and, for the refresh phase, its sessions), then gives the loads for its
 * tokens and a measuring function for this server.
 */
async function prepare(server: BenchServer, context: RunContext, options: { sessions?: boolean; users?: number } = {}) {
  await seed(server);
  const refreshTokens = options.sessions ? await seedSessions(server) : [];
  const { file: tokensFile, signedWith } = await seedManyUsers(server, options.users ?? context.durations.users);
  return {
    tokensFile,
    signedWith,
    load: loads(server.url, tokensFile, refreshTokens, context.durations),
    measure: (route: string, load: LoadSpec, background?: LoadSpec) =>
      measureWindow(server, { route, load, postgres: context.postgres, ...(background && { background }) }),
  };
}

const threadPoolSize = (env: NodeJS.ProcessEnv) => Number(env.UV_THREADPOOL_SIZE ?? 4);

/** Every phase on one database, from empty: start-up, ceilings, then load. */
export async function runDatabase(database: DatabaseRun["database"], context: RunContext): Promise<DatabaseRun> {
  const { log, durations } = context;
  log(`[${database}] start-up: first start on an empty database`);
  const first = await timeStartup(context.serverEnv);
  const later: StartupRun[] = [];
  for (let i = 0; i < durations.laterStarts; i += 1) later.push(await timeStartup(context.serverEnv));

  const server = await startBenchServer(context.serverEnv);
  try {
    const idle = await server.stats();
    const { maxConcurrent, maxQueued } = idle.admission;
    const pool = threadPoolSize(context.ceilingEnv);
    log(`[${database}] bcrypt ceilings (cost ${context.bcryptCost}, thread pool ${pool}, gate ${maxConcurrent})`);
    const ceilings: Ceilings = {
      compare: await ceiling(context, "compare", pool),
      hash: await ceiling(context, "hash", pool),
      compareAtGate: await ceiling(context, "compare", maxConcurrent),
      hashAtGate: await ceiling(context, "hash", maxConcurrent),
    };
    log(`[${database}] seeding ${durations.users} users, each with a session and an access token`);
    const { load, measure, signedWith } = await prepare(server, context, { sessions: true });

    const phases = {} as Record<PhaseName, Measurement>;
    for (const name of ["bare", "authenticate", "me", "refresh", "token", "users"] as const) {
      log(`[${database}] ${name}`);
      phases[name] = await measure(ROUTES[name], load[name]);
    }
    log(`[${database}] isolation: authenticate-only latency, idle then under a /token flood`);
    phases.isolationIdle = await measure(ROUTES.authenticate, load.probe);
    phases.isolationLoaded = await measure(ROUTES.authenticate, load.probe, load.flood);
    await server.stop();
    const modes: ModeRun[] = [];
    for (const mode of MODES) {
      // One server per mode on the same database and tokens (PGlite allows one process at a time).
      log(`[${database}] ACCESS_TOKEN_CHECKS=${mode}: bare, authenticate, me (${durations.users} users' tokens)`);
      const modeServer = await startBenchServer({ ...context.serverEnv, ACCESS_TOKEN_CHECKS: mode });
      try {
        const measureHere = (route: string, spec: LoadSpec) =>
          measureWindow(modeServer, { route, load: { ...spec, url: modeServer.url }, postgres: context.postgres });
        modes.push({
          mode,
          bare: await measureHere(ROUTES.bare, load.bare),
          authenticate: await measureHere(ROUTES.authenticate, load.authenticate),
          me: await measureHere(ROUTES.me, load.me),
        });
      } finally {
        await modeServer.stop();
      }
    }
    const configured = context.serverEnv.TOKEN_ALGORITHM;
    const algorithms: AlgorithmRun[] = [
      {
        label: configured ? `TOKEN_ALGORITHM=${signedWith}` : `default algorithm (${signedWith})`,
        tokenAlgorithm: configured ?? null,
        signedWith,
        ownServer: false,
        bare: phases.bare,
        authenticate: phases.authenticate,
        me: phases.me,
      },
    ];
    log(
      `[${database}] TOKEN_ALGORITHM=${COMPARED_ALGORITHM} on a new database: ${durations.users} users, then bare, authenticate, me`,
    );
    algorithms.push(await runAlgorithmServer(COMPARED_ALGORITHM, context));
    return {
      database,
      users: durations.users,
      modes,
      algorithms,
      startup: { first, later },
      idleRss: idle.rss,
      admission: { maxConcurrent, maxQueued },
      ceilings,
      phases,
    };
  } finally {
    await server.stop();
  }
}

/**
 * A server started with TOKEN_ALGORITHM=`algorithm`, measured as the main phases measure theirs
 * (same loads, same number of users' tokens in turn). On a new database of its own: the keyring of
 * a database keeps the key it began with, whatever TOKEN_ALGORITHM says later, so only an empty one
 * signs with `algorithm` from the start.
 */
async function runAlgorithmServer(algorithm: string, context: RunContext): Promise<AlgorithmRun> {
  const fresh = await context.openDatabase();
  try {
    const server = await startBenchServer({ ...context.serverEnv, ...fresh.env, TOKEN_ALGORITHM: algorithm });
    try {
      const { load, measure, signedWith } = await prepare(server, context);
      if (signedWith !== algorithm) {
        throw new Error(`A server started with TOKEN_ALGORITHM=${algorithm} signed its tokens with ${signedWith}`);
      }
      return {
        label: algorithm,
        tokenAlgorithm: algorithm,
        signedWith,
        ownServer: true,
        bare: await measure(ROUTES.bare, load.bare),
        authenticate: await measure(ROUTES.authenticate, load.authenticate),
        me: await measure(ROUTES.me, load.me),
      };
    } finally {
      await server.stop();
    }
  } finally {
    await fresh.dispose();
  }
}

/**
 * Signing and verifying cost per algorithm, once per run, in a process of its own (no server, no
 * load): see `token-algorithms.ts`.
 */
export function runTokenAlgorithms(spec: TokenAlgorithmsSpec, env: NodeJS.ProcessEnv): Promise<TokenAlgorithmsResult> {
  return runForResult<TokenAlgorithmsResult>("token-algorithms", spec, env);
}

/**
 * /token throughput and authenticate-only latency under a /token flood for other sizes of the
 * bcrypt admission gate: what bounding concurrent bcrypt work costs and buys.
 */
export async function runSweep(values: number[], context: RunContext): Promise<SweepRun[]> {
  const runs: SweepRun[] = [];
  for (const maxConcurrentHashes of values) {
    context.log(`[sweep] MAX_CONCURRENT_HASHES=${maxConcurrentHashes}`);
    const env = { ...context.serverEnv, MAX_CONCURRENT_HASHES: String(maxConcurrentHashes) };
    const server = await startBenchServer(env);
    try {
      const { load, measure } = await prepare(server, context, { users: CHEAP_CONNECTIONS * 2 });
      runs.push({
        maxConcurrentHashes,
        ceiling: await ceiling(context, "compare", maxConcurrentHashes),
        token: await measure(ROUTES.token, load.token),
        isolationLoaded: await measure(ROUTES.authenticate, load.probe, load.flood),
      });
    } finally {
      await server.stop();
    }
  }
  return runs;
}
