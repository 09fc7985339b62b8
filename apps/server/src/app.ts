import helmet from "@fastify/helmet";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { latchkey, latchkeyRedactPaths, latchkeySerializers } from "@latchkey/fastify";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import { Redis } from "ioredis";
import proxyAddr from "proxy-addr";
import type { ServerConfig } from "./config.js";
import { limitConnections, TIMEOUT_CHECK_INTERVAL_MS } from "./connections.js";
import type { Database } from "./database.js";
import { resolveKeyOptions } from "./keys.js";

/** What {@link buildApp} needs; `main.ts` gathers it from the environment. */
export interface AppOptions {
  config: ServerConfig;
  database: Database;
  secretKey: string;
  /** Overrides the logger (tests capture output through it). */
  logger?: FastifyServerOptions["logger"];
}

/**
 * pino options: JSON lines, or pretty lines in a terminal. At every level passwords, hashes and
 * tokens stay out: redacted fields, request URLs without credential parameters, and errors without
 * the raw bytes Node's parser attaches to a malformed request (Fastify logs those at `trace`).
 */
export function loggerOptions(config: ServerConfig, pretty = Boolean(process.stdout.isTTY)) {
  return {
    level: config.logLevel,
    redact: { paths: [...latchkeyRedactPaths], censor: "[redacted]" },
    serializers: latchkeySerializers,
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss" } } } : {}),
  };
}

/**
 * A Redis client for the rate limits that never makes a request wait for Redis: no offline queue
 * (a command while disconnected fails at once and the plugin counts in memory instead), one try
 * per command, and reconnection in the background.
 */
function connectRedis(url: string, app: FastifyInstance): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let reported = false;
  redis.on("error", (error: Error) => {
    // Reconnection errors repeat every retry; one line per outage is enough.
    if (!reported) app.log.warn({ err: { message: error.message } }, "Redis connection error; retrying");
    reported = true;
  });
  redis.on("ready", () => {
    reported = false;
  });
  app.addHook("onClose", async () => {
    redis.disconnect();
  });
  return redis;
}

const perWindow = (max: number, timeWindowSeconds: number) => (max === 0 ? false : { max, timeWindowSeconds });

/**
 * Warns once when a request carries `X-Forwarded-For` from a peer that is not a trusted proxy:
 * behind a proxy without `TRUST_PROXY`, every client shares the proxy's per-address budget (20
 * logins a minute for the whole site), and nothing else would say so.
 */
function warnOnUntrustedForwarding(app: FastifyInstance, isTrustedProxy: (address: string) => boolean): void {
  let warned = false;
  // A callback hook, not an async one: it runs on every request, and a promise per request costs.
  app.addHook("onRequest", (request, _reply, done) => {
    if (!warned && request.headers["x-forwarded-for"] !== undefined) {
      const peer = request.socket.remoteAddress;
      if (peer !== undefined && !isTrustedProxy(peer)) {
        warned = true;
        request.log.warn(
          { peer },
          "a request carries X-Forwarded-For from a peer TRUST_PROXY does not name: the header is ignored, so if " +
            "a proxy sits in front, all its clients share its per-address limits; set TRUST_PROXY to the proxy's address",
        );
      }
    }
    done();
  });
}

/**
 * Builds the server (no `listen`): the Latchkey routes of the original API, OpenAPI 3 with
 * interactive docs at `/docs`, `/health` and `/ready`, with the connection caps and timeouts of
 * `config.connections` (a slow client gets 408 or a closed socket; everyone else is served).
 */
export async function buildApp({ config, database, secretKey, logger }: AppOptions): Promise<FastifyInstance> {
  const { connections } = config;
  const app = Fastify({
    logger: logger ?? loggerOptions(config),
    trustProxy: config.trustProxy,
    requestTimeout: connections.requestTimeoutMs,
    connectionTimeout: connections.idleTimeoutMs,
    keepAliveTimeout: connections.keepAliveTimeoutMs,
    http: { headersTimeout: connections.headersTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
  });
  const trusted = config.trustProxy === false ? () => false : proxyAddr.compile(config.trustProxy);
  const isTrustedProxy = (address: string) => trusted(address, 0);
  limitConnections(app.server, connections, isTrustedProxy, app.log);
  warnOnUntrustedForwarding(app, isTrustedProxy);

  // Security headers on every response. The API answers JSON only, so helmet's strict default CSP
  // costs nothing there; /docs gets Swagger UI's own CSP (`staticCSP`: the hashes of any inline
  // script or style it serves, and its validator badge image), on its routes only.
  // No `upgrade-insecure-requests`: the server speaks plain HTTP unless TLS is put in front of it.
  await app.register(helmet, {
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Latchkey",
        description: "Create users and get JWT access tokens for a username and password.",
        version: "0.1.0",
      },
      components: {
        securitySchemes: {
          // The same scheme FastAPI's OAuth2PasswordBearer declares: "Authorize" in /docs asks for
          // a username and password and fetches the token from /token itself.
          OAuth2PasswordBearer: { type: "oauth2", flows: { password: { tokenUrl: "token", scopes: {} } } },
        },
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    // No top bar: its Swagger logo is an inline SVG with a <style> element that the CSP rightly
    // blocks (a console error on every load), and its "Explore" box, which loads any other spec
    // into a page on our origin, has no use here. The page keeps "Authorize" and every operation.
    uiConfig: { layout: "BaseLayout" },
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ""),
  });

  const { generatedKekFile, ...keys } = await resolveKeyOptions(config, database);
  if (generatedKekFile !== undefined) {
    app.log.warn(
      `KEY_ENCRYPTION_KEY is not set: private signing keys are sealed with a generated key in ${generatedKekFile} ` +
        "(mode 0600). Set KEY_ENCRYPTION_KEY (openssl rand -hex 32), the same on every instance; NODE_ENV=production requires it.",
    );
  }
  await app.register(latchkey, {
    store: database.store,
    secret: secretKey,
    keys,
    ...(config.keys.issuer !== undefined && { issuer: config.keys.issuer }),
    expiresInSeconds: config.accessTokenExpireMinutes * 60,
    bcryptCost: config.bcryptCost,
    openApiSecurityScheme: "OAuth2PasswordBearer",
    invalidGrantStatus: config.invalidGrantStatus,
    usernamePolicy: { uniqueness: database.usernameUniqueness },
    sessionStore: database.sessionStore,
    refreshTokens: config.refreshTokens ?? false,
    accessTokenChecks: config.accessTokenChecks,
    ...(config.maxConcurrentHashes !== undefined && { maxConcurrentHashes: config.maxConcurrentHashes }),
    ...(config.maxQueuedHashes !== undefined && { maxQueuedHashes: config.maxQueuedHashes }),
    rateLimit: {
      tokenPerAddress: perWindow(config.tokenRequestsPerMinute, 60),
      signUpPerAddress: perWindow(config.signUpsPerHour, 3600),
      loginFailuresPerUsername: perWindow(config.loginFailuresPer15Minutes, 900),
      ...(config.redisUrl !== undefined && { redis: connectRedis(config.redisUrl, app) }),
    },
  });

  app.get(
    "/health",
    {
      schema: {
        summary: "The process is up",
        response: { 200: { type: "object", properties: { status: { type: "string" } } } },
      },
    },
    async () => ({ status: "ok" }),
  );
  app.get(
    "/ready",
    {
      schema: {
        summary: "The database answers",
        response: {
          200: { type: "object", properties: { status: { type: "string" } } },
          503: { type: "object", properties: { status: { type: "string" } } },
        },
      },
    },
    async (request, reply) => {
      try {
        await database.ping();
        return { status: "ready" };
      } catch (error) {
        request.log.warn({ err: error }, "readiness check: database did not answer");
        return reply.code(503).header("retry-after", "5").send({ status: "unavailable" });
      }
    },
  );
  return app;
}
