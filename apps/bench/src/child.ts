import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A program of this package run as a child process whose stdout speaks in tagged lines `TAG <payload>`. */
export interface TaggedChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Resolves with the payload of the next line tagged `tag` (already seen lines count once). */
  next(tag: string, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts `dist/<name>.js` (a sibling of this file once built) with node, `args` and `env`. */
export function startChild(name: string, args: string[], env: NodeJS.ProcessEnv): TaggedChild {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const seen: { tag: string; payload: string }[] = [];
  const waiters: { tag: string; resolve: (payload: string) => void }[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    const space = line.indexOf(" ");
    const tag = space === -1 ? line : line.slice(0, space);
    const payload = space === -1 ? "" : line.slice(space + 1);
    const waiter = waiters.findIndex((w) => w.tag === tag);
    if (waiter === -1) seen.push({ tag, payload });
    else waiters.splice(waiter, 1)[0]?.resolve(payload);
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  return {
    process: child,
    pid: child.pid as number,
    exited,
    next(tag, timeoutMs = 120_000) {
      const earlier = seen.findIndex((line) => line.tag === tag);
      if (earlier !== -1) return Promise.resolve(seen.splice(earlier, 1)[0]?.payload as string);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no ${tag} line within ${timeoutMs} ms\n${stderr}`)),
          timeoutMs,
        );
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code}) before printing ${tag}\n${stderr}`));
        });
        waiters.push({
          tag,
          resolve: (payload) => {
            clearTimeout(timer);
            resolve(payload);
          },
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Runs a program of this package to its `RESULT` line and returns the parsed payload. */
export async function runForResult<T>(name: string, input: unknown, env: NodeJS.ProcessEnv): Promise<T> {
  const child = startChild(name, [JSON.stringify(input)], env);
  try {
    return JSON.parse(await child.next("RESULT", 600_000)) as T;
  } finally {
    await child.stop();
  }
}
