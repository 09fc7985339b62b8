import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { latchkey, latchkeyRedactPaths } from "@latchkey/fastify";
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { ServerConfig } from "./config.js";
import type { Database } from "./database.js";

/** What {@link buildApp} needs; `main.ts` gathers it from the environment. */
export interface AppOptions {
  config: ServerConfig;
  database: Database;
  secretKey: string;
  /** Overrides the logger (tests capture output through it). */
  logger?: FastifyServerOptions["logger"];
}

/** pino options: JSON lines, or pretty lines in a terminal; passwords, hashes and tokens redacted. */
export function loggerOptions(config: ServerConfig, pretty = Boolean(process.stdout.isTTY)) {
  return {
    level: config.logLevel,
    redact: { paths: [...latchkeyRedactPaths], censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "SYS:HH:MM:ss" } } } : {}),
  };
}

/**
 * Builds the server (no `listen`): the Latchkey routes of the original API, OpenAPI 3 with
 * interactive docs at `/docs`, `/health` and `/ready`.
 */
export async function buildApp({ config, database, secretKey, logger }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: logger ?? loggerOptions(config) });

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
  await app.register(swaggerUi, { routePrefix: "/docs" });

  await app.register(latchkey, {
    store: database.store,
    secret: secretKey,
    expiresInSeconds: config.accessTokenExpireMinutes * 60,
    bcryptCost: config.bcryptCost,
    openApiSecurityScheme: "OAuth2PasswordBearer",
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
