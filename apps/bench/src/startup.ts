import { readFileSync } from "node:fs";
import { startServer } from "@latchkey/server/testing";

export interface StartupRun {
  /** Process spawn to the first `GET /ready` that answers 200, in milliseconds. */
  readyMs: number;
  /** RSS of the idle server once ready, bytes (from /proc; null elsewhere). */
  rss: number | null;
}

function rssOf(pid: number): number | null {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Starts the real server (`dist/main.js`, as `pnpm start` does) with `env`, polls `/ready` every
 * 10 ms from the moment it prints its address, and stops it again.
 */
export async function timeStartup(env: Record<string, string>): Promise<StartupRun> {
  const started = performance.now();
  const server = await startServer(env);
  try {
    for (;;) {
      const response = await fetch(`${server.url}/ready`).catch(() => null);
      if (response?.status === 200) break;
      if (performance.now() - started > 120_000)
        throw new Error(`/ready did not answer 200 in 120 s:\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return { readyMs: performance.now() - started, rss: rssOf(server.child.pid as number) };
  } finally {
    await server.stop();
  }
}
