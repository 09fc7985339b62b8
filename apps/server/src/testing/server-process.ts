import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * The built server entry point (`dist/main.js`, what `pnpm start` and `npx latchkey-server` run):
 * tests and the benchmark run the real process, as users do. Found through the package's own
 * name, so it is the same path from the sources and from the built `dist/testing`.
 */
export const MAIN = join(
  dirname(createRequire(import.meta.url).resolve("@latchkey/server/package.json")),
  "dist",
  "main.js",
);

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Environment for a child server: nothing inherited that could change its behaviour, plus `env`. */
export function serverEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: "info", PORT: "0", ...env };
}

/** Runs the server to completion (for start-up failures); resolves with its exit code and output. */
export function runToExit(env: Record<string, string>, cwd?: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], { env: serverEnv(env), cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Starts the server on a free port and resolves once it printed its URL. */
export function startServer(env: Record<string, string>, cwd?: string): Promise<RunningServer> {
  const child = spawn(process.execPath, [MAIN], { env: serverEnv(env), cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start within 90 s; output:\n${output}`));
    }, 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /Latchkey API: (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: (match[1] as string).replace("localhost", "127.0.0.1"),
        child,
        output: () => output,
        stop: async (signal = "SIGTERM") => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting; output:\n${output}`));
    });
  });
}
