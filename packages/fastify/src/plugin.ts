import fastifyFormbody from "@fastify/formbody";
import fastifyJwt from "@fastify/jwt";
import { TypeBoxValidatorCompiler } from "@fastify/type-provider-typebox";
import { type AccessTokenClaims, InvalidOptionsError, usernameKey, usernameKeyScheme } from "@latchkey/core";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { createAuthenticate } from "./authenticate.js";
import { sendError } from "./errors.js";
import { registerRateLimit } from "./limits/rate-limit.js";
import { type LatchkeyOptions, type ResolvedLatchkeyOptions, resolveLatchkeyOptions } from "./options.js";
import { registerAccountRoutes } from "./routes/account.js";
import { registerLogoutRoutes } from "./routes/logout.js";
import { registerMeRoute } from "./routes/me.js";
import { registerSessionRoutes } from "./routes/sessions.js";
import { registerTokenRoute } from "./routes/token.js";
import { registerUserRoutes } from "./routes/users.js";
import { registerWellKnownRoutes } from "./routes/well-known.js";
import type { LatchkeyDecorator } from "./types.js";

const FORM = "application/x-www-form-urlencoded";

/** `@fastify/jwt` on the very key, algorithm and claim rules core uses, so tokens pass both ways. */
async function registerJwt(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  if (app.hasDecorator("jwt")) {
    throw new InvalidOptionsError(
      "@latchkey/fastify: @fastify/jwt is already registered on this instance; Latchkey registers and " +
        "configures it from its own options, so remove the other registration (or register Latchkey in its own context)",
    );
  }
  const { key, sign, verify } = resolved.jwt;
  await app.register(fastifyJwt, {
    secret: key,
    // core hands fast-jwt milliseconds; @fastify/jwt reads a number `expiresIn` as seconds.
    sign: { ...sign, expiresIn: resolved.tokens.options.expiresInSeconds },
    verify,
    formatUser: (payload) => ({ username: payload.sub, claims: payload as AccessTokenClaims }),
  });
}

/** The routes, in their own encapsulated context so their validator, parser and error handler stay theirs. */
async function registerRoutes(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  await app.register(
    async (scope) => {
      // TypeBox's compiler never coerces: `{"username": 12345}` is a 422, not the user "12345".
      scope.setValidatorCompiler(TypeBoxValidatorCompiler);
      scope.setErrorHandler((error, request, reply) => sendError(request, reply, error, resolved));
      if (!scope.hasContentTypeParser(FORM)) await scope.register(fastifyFormbody);
      await registerRateLimit(scope, resolved.rateLimits);
      await registerUserRoutes(scope, resolved);
      await registerTokenRoute(scope, resolved);
      await registerMeRoute(scope, resolved);
      await registerAccountRoutes(scope, resolved);
      const { access, sessionService } = resolved;
      if (access !== undefined && sessionService !== undefined) {
        await registerLogoutRoutes(scope, resolved, access);
        await registerSessionRoutes(scope, resolved, sessionService, access);
      }
    },
    { prefix: resolved.prefix },
  );
  await app.register(async (scope) => {
    scope.setErrorHandler((error, request, reply) => sendError(request, reply, error, resolved));
    await registerWellKnownRoutes(scope, resolved);
  });
}

/**
 * Brings the store's username keys up to date with the uniqueness policy before any request, so
 * sign-ups and logins never meet keys of another policy. Fails start-up with
 * `USERNAME_KEY_CONFLICT` if existing users would merge under it.
 */
async function prepareUsernameKeys(resolved: ResolvedLatchkeyOptions): Promise<void> {
  const { store, usernamePolicy } = resolved;
  if (store.prepareUsernameKeys === undefined) return;
  const { uniqueness } = usernamePolicy;
  await store.prepareUsernameKeys(usernameKeyScheme(uniqueness), (name) => usernameKey(name, uniqueness));
}

const plugin: FastifyPluginAsync<LatchkeyOptions> = async (app, options) => {
  const resolved = resolveLatchkeyOptions(options, app.log);
  await prepareUsernameKeys(resolved);
  await registerJwt(app, resolved);
  // The keys are read (the first one made in an empty keyring) before any token is signed or checked.
  const { keyring } = resolved;
  if (keyring !== undefined) {
    await keyring.start();
    app.addHook("onClose", async () => keyring.close());
  }
  // The revocation feed is read once before any request, then kept fresh until the app closes.
  const { access } = resolved;
  if (access !== undefined) {
    await access.start();
    app.addHook("onClose", async () => access.close());
  }
  const decorator: LatchkeyDecorator = Object.freeze({
    tokens: resolved.tokens,
    store: resolved.store,
    hasher: resolved.hasher,
    admission: resolved.hasher.admission,
    usernamePolicy: resolved.usernamePolicy,
    sessions: resolved.sessions,
    access: resolved.access,
    keyring: resolved.keyring,
  });
  app.decorate("latchkey", decorator);
  app.decorate("authenticate", createAuthenticate(resolved, resolved.requireExistingUser));
  await registerRoutes(app, resolved);
};

/**
 * The Latchkey Fastify plugin: the original FastAPI auth API on any Fastify 5 app.
 *
 * ```ts
 * await app.register(latchkey, { store: createMemoryUserStore(), secret: process.env.SECRET_KEY })
 * ```
 *
 * Serves `POST /users/` (and `/users`), `POST /token`, `GET /users/me`, `POST /users/me/password` and
 * `DELETE /users/me` under `prefix`, and with a `sessionStore` also `POST /logout`, `POST /revoke`,
 * `GET /users/me/sessions` and `DELETE /users/me/sessions/{id}`; decorates
 * `app.authenticate`, `app.latchkey`, and (through `@fastify/jwt`) `app.jwt` and `request.jwtVerify()`.
 * It is wrapped with `fastify-plugin`, so the decorators are visible to the host; the routes keep
 * their error handler, validator and form parser to themselves.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` / {@link WeakSecretError} `WEAK_SECRET` from
 *   `app.ready()` for bad options (see {@link LatchkeyOptions}).
 */
export const latchkey = fp(plugin, { name: "@latchkey/fastify", fastify: "5.x" });
