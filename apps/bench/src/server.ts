import type { ServerStats } from "./bench-server.js";
import { startChild, type TaggedChild } from "./child.js";

/** The bench server running as a child process. */
export interface BenchServer {
  readonly url: string;
  readonly child: TaggedChild;
  stats(): Promise<ServerStats>;
  /** `fetch` against the server, throwing on a status not in `expected`. */
  call(path: string, init: RequestInit, ...expected: number[]): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts the bench server with `env` (its whole environment) and waits until it listens. */
export async function startBenchServer(env: NodeJS.ProcessEnv): Promise<BenchServer> {
  const child = startChild("bench-server", [], env);
  const url = await child.next("BENCH_SERVER", 120_000);
  const call = async (path: string, init: RequestInit, ...expected: number[]) => {
    const response = await fetch(new URL(path, url), init);
    const body = await response.json();
    if (!expected.includes(response.status)) {
      const wanted = expected.join(" or ");
      throw new Error(
        `${init.method ?? "GET"} ${path}: expected ${wanted}, got ${response.status} ${JSON.stringify(body)}`,
      );
    }
    return body;
  };
  return {
    url,
    child,
    call,
    stats: () => call("/bench/stats", {}, 200) as Promise<ServerStats>,
    async stop() {
      await child.stop();
    },
  };
}
