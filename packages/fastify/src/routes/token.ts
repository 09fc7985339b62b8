import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { authenticateUser, InvalidCredentialsError } from "@latchkey/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { loggable, sendError, UnsupportedGrantTypeError } from "../errors.js";
import { emitEvent, eventContext } from "../events.js";
import { createLoginFailureGuard, routeRateLimit } from "../limits/rate-limit.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { ErrorResponses, TokenFormSchema, TokenOutSchema } from "../schemas.js";
import { requireContentType } from "./content-type.js";

const FORM = "application/x-www-form-urlencoded";

const schema = {
  summary: "Log in: get an access token",
  description:
    "OAuth 2.0 password grant (RFC 6749 section 4.3) with a form body `username`, `password` and optional " +
    "`grant_type=password` (the original's `POST /token`). A wrong password and an unknown username get the same 401 " +
    "(`error: invalid_grant`). Every error body carries the OAuth fields `error` and `error_description` " +
    "(RFC 6749 section 5.2): `invalid_request` for a malformed request, `unsupported_grant_type`, " +
    "`temporarily_unavailable` with 429 and 503, `server_error` with 500.",
  tags: ["auth"],
  consumes: [FORM],
  body: TokenFormSchema,
  response: {
    200: TokenOutSchema,
    400: ErrorResponses[400],
    401: ErrorResponses[401],
    413: ErrorResponses[413],
    415: ErrorResponses[415],
    422: ErrorResponses[422],
    429: ErrorResponses[429],
    500: ErrorResponses[500],
    503: ErrorResponses[503],
  },
};

/**
 * Runs before schema validation, so a client asking for another grant learns that first, with the
 * OAuth error RFC 6749 section 5.2 defines, whatever else its form lacks. An array (a repeated
 * `grant_type`) is left to the schema, which refuses it with 422.
 */
async function refuseOtherGrantTypes(request: FastifyRequest): Promise<void> {
  const grantType = (request.body as { grant_type?: unknown } | undefined)?.grant_type;
  if (typeof grantType === "string" && grantType !== "password") throw new UnsupportedGrantTypeError();
}

/**
 * `POST /token`: form `username`, `password` → 200 `{access_token, token_type: "bearer", expires_in}`;
 * 401 `INVALID_CREDENTIALS` (`"error": "invalid_grant"`) with `WWW-Authenticate: Bearer`, identical
 * for unknown user and wrong password. Every error body carries RFC 6749 section 5.2's fields.
 */
export async function registerTokenRoute(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { store, hasher, usernamePolicy, tokens, hooks } = resolved;
  const guard = createLoginFailureGuard(resolved.rateLimits, usernamePolicy.uniqueness);
  const config = routeRateLimit(resolved.rateLimits.tokenPerAddress, "latchkey-token");

  typed.post(
    "/token",
    {
      schema,
      bodyLimit: resolved.bodyLimit,
      onRequest: requireContentType(FORM),
      preValidation: refuseOtherGrantTypes,
      // After validation, so the username is a string; before the handler, so a locked name costs no bcrypt.
      preHandler: guard.takeAttempt,
      // A token endpoint: every failure, from the content type to the database, speaks OAuth too.
      errorHandler: (error, request, reply) =>
        sendError(request, reply, error, resolved, { oauth: true, invalidGrantStatus: resolved.invalidGrantStatus }),
      ...(config !== undefined && { config }),
    },
    async (request, reply) => {
      const { username, password } = request.body;
      let user: Awaited<ReturnType<typeof authenticateUser>>;
      try {
        user = await authenticateUser(store, username, password, {
          hasher,
          usernamePolicy,
          onRehashError: (error) =>
            request.log.warn({ err: loggable(error) }, "latchkey: upgrading a password hash failed"),
        });
      } catch (error) {
        // No verdict (store down, hashing overloaded): the attempt guessed nothing.
        await guard.giveBack(username);
        throw error;
      }
      if (user === null) {
        await emitEvent(request, "onLoginFailed", hooks.onLoginFailed, {
          ...eventContext(request),
          username,
          reason: "INVALID_CREDENTIALS",
        });
        throw new InvalidCredentialsError();
      }
      await guard.clear(username);
      const accessToken = await tokens.createAccessToken({ sub: user.username });
      await emitEvent(request, "onLogin", hooks.onLogin, {
        ...eventContext(request),
        username: user.username,
        userId: user.id,
      });
      // RFC 6749 section 5.1: responses carrying tokens must not be cached.
      reply.header("cache-control", "no-store").header("pragma", "no-cache");
      return {
        access_token: accessToken,
        token_type: "bearer" as const,
        // Whole seconds, as clients expect; a fractional lifetime (tests use them) rounds down.
        expires_in: Math.floor(tokens.options.expiresInSeconds),
      };
    },
  );
}
