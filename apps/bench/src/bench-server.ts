// The reference server as `apps/server` builds it (same config from the environment, database,
// plugins and hooks), plus the routes the benchmark measures against. Run by `main.ts` as a child
// process; prints `BENCH_SERVER <url>` once it listens on 127.0.0.1.
// The type import brings `app.authenticate`, `request.user` and `app.latchkey` into the types.
import type {} from "@latchkey/fastify";
import { buildApp, loadConfig, loggerOptions, openDatabase, resolveSecretKey } from "@latchkey/server";

/** What `GET /bench/stats` answers: the process's own view, sampled at the edges of a window. */
export interface ServerStats {
  rss: number;
  heapUsed: number;
  /** process.cpuUsage() in microseconds. */
  cpu: { user: number; system: number };
  /** Responses sent so far, by `METHOD path` and status code. */
  responses: Record<string, Record<string, number>>;
  admission: { active: number; queued: number; maxConcurrent: number; maxQueued: number; rejected: number };
}

const config = loadConfig(process.env);
const { secretKey } = await resolveSecretKey(config.secretKey, config.dataDir);
const database = await openDatabase(config);
// The server's own logger settings (JSON lines; the bench runs it at LOG_LEVEL=warn, so a healthy run logs nothing).
const app = await buildApp({ config, database, secretKey, logger: loggerOptions(config, false) });

const responses: ServerStats["responses"] = {};
app.addHook("onResponse", async (request, reply) => {
  const route = `${request.method} ${request.routeOptions.url ?? "(no route)"}`;
  if (route === "GET /bench/stats") return;
  const byStatus = responses[route] ?? {};
  byStatus[reply.statusCode] = (byStatus[reply.statusCode] ?? 0) + 1;
  responses[route] = byStatus;
});

// The baseline: a bare route in the same process, behind the same global hooks (helmet, counters).
app.get("/bench/hello", async () => ({ hello: "world" }));
// A host route protected only by `app.authenticate`, with the plugin's default options.
app.get("/bench/protected", { onRequest: [app.authenticate] }, async (request) => ({
  username: request.user.username,
}));
app.get("/bench/stats", async (): Promise<ServerStats> => {
  const memory = process.memoryUsage();
  return {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    cpu: process.cpuUsage(),
    responses,
    admission: { ...app.latchkey.admission },
  };
});

const close = async () => {
  await app.close();
  await database.close();
  process.exit(0);
};
process.on("SIGTERM", () => void close());
process.on("SIGINT", () => void close());

const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`BENCH_SERVER ${url}\n`);
