// The reference server as `apps/server` builds it (same config from the environment, database,
// plugins and hooks), plus the routes the benchmark measures against. Run by `main.ts` as a child
// process; prints `BENCH_SERVER <url>` once it listens on 127.0.0.1.
// The type import brings `app.authenticate`, `request.user` and `app.latchkey` into the types.

import { usernameKey } from "@latchkey/core";
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
// Many users, each with a session and an access token, made the way the routes make them but
// without a bcrypt login apiece (10 000 logins would take most of an hour at cost 12): one hash
// shared by all, the store's create, the session service's start, the token service's claims.
let benchHash: Promise<string> | undefined;
app.post<{ Body: { prefix: string; count: number } }>("/bench/seed-users", async (request) => {
  const { prefix, count } = request.body;
  const { store, sessions, tokens, hasher, usernamePolicy } = app.latchkey;
  benchHash ??= hasher.hash("bench-password-1");
  const passwordHash = await benchHash;
  const accessTokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const username = `${prefix}-${i}`;
    const key = usernameKey(username, usernamePolicy.uniqueness);
    const user =
      (await store.findByUsername(username)) ?? (await store.create({ username, passwordHash, usernameKey: key }));
    const issued = await sessions?.start({ userId: user.id, username });
    const claims = { sub: username, uid: user.id, ...(issued && { sid: issued.session.id }) };
    accessTokens.push(await tokens.createAccessToken(claims));
  }
  return { accessTokens };
});
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
