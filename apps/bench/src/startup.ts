import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The reference server's executable, exactly as `pnpm start` and `npx latchkey-server` run it. */
const serverPackage = createRequire(import.meta.url).resolve("@latchkey/server/package.json");
export const SERVER_MAIN = join(dirname(serverPackage), "dist", "main.js");

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
 * Starts the real server (`dist/main.js`) with `env`, polls `/ready` every 10 ms from the moment it
 * prints its address, and stops it again.
 */
export async function timeStartup(env: NodeJS.ProcessEnv): Promise<StartupRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [SERVER_MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    const base = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start in 120 s:\n${output}`)), 120_000);
      const onData = (chunk: Buffer) => {
        output += chunk;
        const match = /Latchkey API: (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve((match[1] as string).replace("localhost", "127.0.0.1"));
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      void exited.then((code) => reject(new Error(`server exited (${code}) before starting:\n${output}`)));
    });
    for (;;) {
      const response = await fetch(`${base}/ready`).catch(() => null);
      if (response?.status === 200) break;
      if (performance.now() - started > 120_000) throw new Error(`/ready did not answer 200 in 120 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const readyMs = performance.now() - started;
    return { readyMs, rss: rssOf(child.pid as number) };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}
