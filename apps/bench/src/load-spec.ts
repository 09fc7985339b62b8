/** What one load worker is asked to do. */
export interface LoadSpec {
  url: string;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** A prefix: each request signs up a new user `<prefix>-<pid>-<n>` (JSON body) instead of `body`. */
  uniqueUsernames?: string;
  /**
   * Refresh tokens of distinct sessions, at least one per connection: each request refreshes one
   * of them (`grant_type=refresh_token`, form body instead of `body`) and puts back the token it is
   * answered with, so every request is a real rotation of a live session.
   */
  refreshTokens?: string[];
  /**
   * A JSON file with an array of access tokens: each request sends the next one as its bearer
   * token (round robin), so tokens are many and distinct, as from many users, and a verified-token
   * cache smaller than the pool never holds the one asked for.
   */
  bearerTokensFile?: string;
  connections: number;
  /** Requests per second over all connections; absent: as fast as the server answers. */
  rate?: number;
  /** Load before the window opens, so queues and pools are in their steady state. */
  warmupSeconds: number;
  windowSeconds: number;
  /** Load after the window closes, so the window never sees the load stop. */
  tailSeconds: number;
}

/** Responses that arrived inside the window, as the client saw them. */
export interface LoadResult {
  responses: number;
  /** Count by status code; transport errors as `error <message>`. */
  statuses: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number } | null;
}
