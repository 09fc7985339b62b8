import type { ServerStats } from "./bench-server.js";
import { startChild, type TaggedChild } from "./child.js";
import { machineCpuSeconds, postgresCpuBetween, postgresCpuSeconds, processCpuSeconds } from "./cpu.js";
import type { LoadResult, LoadSpec } from "./load-spec.js";
import type { BenchServer } from "./server.js";

/** CPU used inside a window, in cores (1 = one core busy for the whole window). */
export interface CpuShare {
  server: number;
  loadGenerator: number | null;
  /** Every `postgres` process of the machine; null on PGlite (it runs inside the server) or without /proc. */
  postgres: number | null;
  /** Everything else that ran on the machine meanwhile: the bench's own orchestrator, other programs. */
  others: number | null;
  machineCores: number;
}

/** One measured window. */
export interface Measurement {
  seconds: number;
  /** Responses the server sent for the measured route inside the window, by status. */
  serverStatuses: Record<string, number>;
  /** 2xx responses per second, counted by the server. */
  perSecond: number;
  /** What the measuring client saw inside the window (latency, statuses). */
  client: LoadResult;
  cpu: CpuShare;
  /** Server RSS at the end of the window, bytes. */
  rssAfter: number;
}

interface Sample {
  at: number;
  stats: ServerStats;
  server: number;
  workers: (number | null)[];
  postgres: Map<number, number> | null;
  machine: { busy: number; total: number };
}

async function sample(server: BenchServer, workers: TaggedChild[], postgres: boolean): Promise<Sample> {
  const stats = await server.stats();
  return {
    at: performance.now(),
    stats,
    server: (stats.cpu.user + stats.cpu.system) / 1e6,
    workers: workers.map((worker) => processCpuSeconds(worker.pid)),
    postgres: postgres ? postgresCpuSeconds() : null,
    machine: machineCpuSeconds(),
  };
}

function responsesOf(stats: ServerStats, route: string): Record<string, number> {
  return stats.responses[route] ?? {};
}

function cpuShare(a: Sample, b: Sample, seconds: number): CpuShare {
  const cores = (value: number) => value / seconds;
  const server = cores(b.server - a.server);
  // Null when any worker's CPU could not be read (no /proc): a partial sum would understate it.
  const workerSeconds = b.workers.map((end, i) => {
    const start = a.workers[i];
    return end === null || start == null ? null : end - start;
  });
  const loadGenerator = workerSeconds.includes(null)
    ? null
    : cores(workerSeconds.reduce<number>((sum, seconds) => sum + (seconds ?? 0), 0));
  const postgres =
    a.postgres === null || b.postgres === null ? null : cores(postgresCpuBetween(a.postgres, b.postgres));
  const busy = cores(b.machine.busy - a.machine.busy);
  const others = loadGenerator === null ? null : Math.max(0, busy - server - loadGenerator - (postgres ?? 0));
  return { server, loadGenerator, postgres, others, machineCores: busy };
}

export interface WindowOptions {
  /** The route whose responses the server counts, `METHOD path` as Fastify registered it. */
  route: string;
  /** The load whose window is measured. */
  load: LoadSpec;
  /**
   * Load running before and through the window (e.g. a /token flood while latency is probed); the
   * window's load starts once this one's warm-up is over.
   */
  background?: LoadSpec;
  /** Whether PostgreSQL processes belong to the measurement. */
  postgres: boolean;
}

const workerEnv = () => ({ PATH: process.env.PATH, HOME: process.env.HOME });

/**
 * Runs load against the server and measures one window of it: server-side counts and CPU are
 * sampled when the measuring worker opens and closes its window, so warm-up and wind-down never
 * enter the figures, and requests in flight at either edge are simply not counted.
 */
export async function measureWindow(server: BenchServer, options: WindowOptions): Promise<Measurement> {
  const workers: TaggedChild[] = [];
  try {
    if (options.background) {
      const background = startChild("load-worker", [JSON.stringify(options.background)], workerEnv());
      workers.push(background);
      await background.next("WINDOW_START");
    }
    const worker = startChild("load-worker", [JSON.stringify(options.load)], workerEnv());
    workers.push(worker);
    await worker.next("WINDOW_START");
    const start = await sample(server, workers, options.postgres);
    await worker.next("WINDOW_END");
    const end = await sample(server, workers, options.postgres);
    const client = JSON.parse(await worker.next("RESULT")) as LoadResult;
    const seconds = (end.at - start.at) / 1000;
    const before = responsesOf(start.stats, options.route);
    const after = responsesOf(end.stats, options.route);
    const serverStatuses: Record<string, number> = {};
    for (const [status, count] of Object.entries(after)) {
      const delta = count - (before[status] ?? 0);
      if (delta > 0) serverStatuses[status] = delta;
    }
    const ok = Object.entries(serverStatuses)
      .filter(([status]) => status.startsWith("2"))
      .reduce((sum, [, count]) => sum + count, 0);
    return {
      seconds,
      serverStatuses,
      perSecond: ok / seconds,
      client,
      cpu: cpuShare(start, end, seconds),
      rssAfter: end.stats.rss,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
}
