import type { LoadSpec } from "./load-spec.js";

/** How long each kind of phase runs, in seconds. */
export interface Durations {
  /** Phases that cost microseconds per request (bare, authenticate, /users/me). */
  cheap: Pick<LoadSpec, "warmupSeconds" | "windowSeconds" | "tailSeconds">;
  /** bcrypt-bound phases: ~1 s per request once queued, so a long warm-up and window. */
  bcrypt: Pick<LoadSpec, "warmupSeconds" | "windowSeconds" | "tailSeconds">;
  ceiling: { warmupSeconds: number; windowSeconds: number };
  /** The /token flood runs this long before the latency probe starts. */
  isolationLeadSeconds: number;
  isolationProbe: Pick<LoadSpec, "warmupSeconds" | "windowSeconds" | "tailSeconds">;
  /** Starts of the real server after the first one (which begins on an empty database). */
  laterStarts: number;
  /** Users (each with a session and an access token) whose tokens the authenticated phases cycle through. */
  users: number;
  /** Signing and verifying per algorithm: distinct tokens per algorithm and round, and timed rounds. */
  tokenAlgorithms: { tokens: number; rounds: number };
}

export const FULL: Durations = {
  cheap: { warmupSeconds: 2, windowSeconds: 10, tailSeconds: 1 },
  bcrypt: { warmupSeconds: 5, windowSeconds: 20, tailSeconds: 2 },
  ceiling: { warmupSeconds: 2, windowSeconds: 20 },
  isolationLeadSeconds: 5,
  isolationProbe: { warmupSeconds: 1, windowSeconds: 15, tailSeconds: 1 },
  laterStarts: 3,
  users: 10_000,
  tokenAlgorithms: { tokens: 5000, rounds: 5 },
};

/** Seconds in all: only proves that every phase produces figures (the smoke test, `--smoke`). */
export const SMOKE: Durations = {
  cheap: { warmupSeconds: 0.3, windowSeconds: 1, tailSeconds: 0.2 },
  bcrypt: { warmupSeconds: 0.5, windowSeconds: 1.5, tailSeconds: 0.2 },
  ceiling: { warmupSeconds: 0.2, windowSeconds: 1 },
  isolationLeadSeconds: 0.5,
  isolationProbe: { warmupSeconds: 0.2, windowSeconds: 1, tailSeconds: 0.2 },
  laterStarts: 1,
  users: 200,
  tokenAlgorithms: { tokens: 200, rounds: 3 },
};

/** Connections for phases that should run as fast as the server answers. */
export const CHEAP_CONNECTIONS = 32;
/**
 * Connections for bcrypt-bound phases: enough to keep every bcrypt slot busy with requests
 * queued behind it, fewer than the admission gate admits (slots + 8 per slot), so none is refused.
 */
export const BCRYPT_CONNECTIONS = 8;
/** The latency probe of the isolation phase: a light, fixed rate on a few connections. */
export const PROBE = { connections: 4, rate: 200 };

/** Server settings that keep the rate limits out of the way (their hooks still run). */
export const UNLIMITED_RATES = {
  RATE_LIMIT_TOKEN_PER_MINUTE: "1000000",
  RATE_LIMIT_SIGNUPS_PER_HOUR: "1000000",
  RATE_LIMIT_LOGIN_FAILURES: "1000000",
};
