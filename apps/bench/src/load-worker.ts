// One load generator: autocannon against 127.0.0.1, in a process of its own so that its CPU is
// measured apart from the server's. Run by `main.ts` with a JSON `LoadSpec` as its argument.
// It drives the measuring window itself and says so on stdout:
//   WINDOW_START <ms>     after the warm-up (the orchestrator samples the server then)
//   WINDOW_END <ms>       when the window closes (and samples again)
//   RESULT <json>         the latencies and statuses of responses that arrived inside the window
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import type { LoadResult, LoadSpec } from "./load-spec.js";

const spec = JSON.parse(process.argv[2] ?? "{}") as LoadSpec;

let sequence = 0;
// Sessions not in flight. A request takes one (its connection's context remembers which) and puts
// back the token it was answered with, or the same one when the refresh did not go through.
const idleRefreshTokens = [...(spec.refreshTokens ?? [])];
const refreshing = spec.refreshTokens !== undefined && {
  setupRequest: (req: autocannon.Request, context: object) => {
    const token = idleRefreshTokens.pop();
    if (token === undefined) throw new Error("more connections than sessions: give one refresh token per connection");
    (context as { refreshToken?: string }).refreshToken = token;
    return { ...req, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: token }).toString() };
  },
  onResponse: (status: number, body: string, context: object) => {
    const answered = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
    idleRefreshTokens.push(answered ?? ((context as { refreshToken?: string }).refreshToken as string));
  },
};
const bearerTokens =
  spec.bearerTokensFile === undefined
    ? undefined
    : (JSON.parse(readFileSync(spec.bearerTokensFile, "utf8")) as string[]);
let nextBearer = 0;
const manyUsers = bearerTokens !== undefined && {
  setupRequest: (req: autocannon.Request) => {
    const token = bearerTokens[nextBearer % bearerTokens.length];
    nextBearer += 1;
    return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } };
  },
};
const request: autocannon.Request = {
  method: spec.method,
  path: spec.path,
  headers: spec.headers ?? {},
  ...(spec.body !== undefined && { body: spec.body }),
  // Sign-ups need a username nobody has taken yet, one per request.
  ...(spec.uniqueUsernames && {
    setupRequest: (req: autocannon.Request) => {
      sequence += 1;
      const username = `${spec.uniqueUsernames}-${process.pid}-${sequence}`;
      return { ...req, body: JSON.stringify({ username, password: "bench-password-1" }) };
    },
  }),
  ...refreshing,
  ...manyUsers,
};

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let inWindow = false;

const say = (tag: string, value: unknown) => process.stdout.write(`${tag} ${JSON.stringify(value)}\n`);

const instance = autocannon(
  {
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    duration: spec.warmupSeconds + spec.windowSeconds + spec.tailSeconds,
    // A request that waits longer than this counts as an error, not a hang.
    timeout: 30,
    requests: [request],
    ...(spec.rate !== undefined && { overallRate: spec.rate }),
  },
  (error) => {
    if (error) {
      process.stderr.write(`autocannon failed: ${error.message}\n`);
      process.exit(1);
    }
    const sorted = latencies.sort((a, b) => a - b);
    const result: LoadResult = {
      responses: sorted.length,
      statuses,
      latencyMs: sorted.length ? percentiles(sorted) : null,
    };
    say("RESULT", result);
  },
);

instance.on("response", (_client, statusCode, _bytes, responseTime) => {
  if (!inWindow) return;
  latencies.push(responseTime);
  statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
});
instance.on("reqError", (error) => {
  if (inWindow) statuses[`error ${error.message}`] = (statuses[`error ${error.message}`] ?? 0) + 1;
});

setTimeout(() => {
  inWindow = true;
  say("WINDOW_START", Date.now());
  setTimeout(() => {
    inWindow = false;
    say("WINDOW_END", Date.now());
  }, spec.windowSeconds * 1000);
}, spec.warmupSeconds * 1000);

function percentiles(sorted: number[]): LoadResult["latencyMs"] {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] as number };
}
