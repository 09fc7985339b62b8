import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { type AccessControl, LOGOUT_SCOPES, type LogoutScope, REFRESH_TOKEN_PREFIX } from "@latchkey/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { assertNotRevoked, createAuthenticate } from "../authenticate.js";
import { fieldRequiredError, fieldValueError, sendError, UnsupportedTokenTypeError } from "../errors.js";
import { emitEvent, eventContext } from "../events.js";
import { routeRateLimit } from "../limits/rate-limit.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { errorResponses, LogoutScopeSchema, RevokeFormSchema } from "../schemas.js";
import { requireContentType } from "./content-type.js";
import { announceEndedSessions, withSecurity } from "./ended-sessions.js";

const FORM = "application/x-www-form-urlencoded";
const TOKEN_TYPES = ["refresh_token", "access_token"];

const logoutSchema = {
  summary: "Log out",
  description:
    "Ends sessions of the bearer token's user: `scope=local` (this session, the default), `others` (every other " +
    "session) or `global` (all, and every token without a session). `scope` in the query string or in a form or " +
    "JSON body. The ended sessions' refresh tokens stop working at once and their access tokens within seconds on " +
    "every instance (with `accessTokenChecks` `session` or `strict`). 204, and 204 again when repeated with the same token.",
  tags: ["sessions"],
  querystring: LogoutScopeSchema,
  response: {
    204: { type: "null", description: "Logged out." },
    ...errorResponses(401, 415, 422, 500, 503),
  },
};

const revokeSchema = {
  summary: "Revoke a token (RFC 7009)",
  description:
    "Form `token` (a refresh token or an access token) and optional `token_type_hint`. A refresh token ends its " +
    "session; an access token is refused from then on until it expires. Always 200 for a token that is unknown, " +
    "invalid or already revoked (RFC 7009 section 2.2), so the answer tells nothing about it; 400 " +
    "`unsupported_token_type` for a hint other than `refresh_token` or `access_token`. Rate-limited like `/token`.",
  tags: ["sessions"],
  consumes: [FORM],
  body: RevokeFormSchema,
  response: {
    200: { type: "null", description: "Revoked, or nothing to revoke." },
    ...errorResponses(400, 413, 415, 422, 429, 500, 503),
  },
};

/** The logout scope of a request: the query string's, else the body's, else `local`. */
function scopeOf(request: FastifyRequest): LogoutScope {
  const query = (request.query as { scope?: unknown } | undefined)?.scope;
  const body = (request.body as { scope?: unknown } | null | undefined)?.scope;
  const scope = query ?? body ?? "local";
  if (typeof scope !== "string" || !LOGOUT_SCOPES.includes(scope as LogoutScope)) {
    throw fieldValueError("scope", LOGOUT_SCOPES);
  }
  return scope as LogoutScope;
}

/** `POST /logout` and `POST /revoke` (RFC 7009). */
export async function registerLogoutRoutes(
  app: FastifyInstance,
  resolved: ResolvedLatchkeyOptions,
  access: AccessControl,
): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { hooks, tokens } = resolved;

  typed.post(
    "/logout",
    {
      schema: withSecurity(resolved, logoutSchema),
      bodyLimit: resolved.bodyLimit,
      // Signature and expiry only: a token this logout already ended may log out again (204).
      onRequest: createAuthenticate(resolved, false, false),
    },
    async (request, reply) => {
      const scope = scopeOf(request);
      const { claims, username } = request.user;
      // Ending *other* sessions takes a token that still opens routes: an ended one (a thief's
      // copy, say) must not log its owner out of the sessions made since.
      if (scope !== "local") await assertNotRevoked(access, claims);
      const ended = await access.logout(claims, scope);
      const sessionIds = ended?.endedSessionIds ?? [];
      await announceEndedSessions(request, resolved, username, sessionIds, "logout");
      await emitEvent(request, "onLogout", hooks.onLogout, { ...eventContext(request), username, scope, sessionIds });
      return reply.code(204).send();
    },
  );

  const config = routeRateLimit(resolved.rateLimits.tokenPerAddress, "latchkey-revoke");
  typed.post(
    "/revoke",
    {
      schema: revokeSchema,
      bodyLimit: resolved.bodyLimit,
      onRequest: requireContentType(FORM),
      // RFC 7009 section 2.2.1: errors as RFC 6749 section 5.2 defines them.
      errorHandler: (error, request, reply) => sendError(request, reply, error, resolved, { oauth: true }),
      ...(config !== undefined && { config }),
    },
    async (request, reply) => {
      const { token, token_type_hint: hint } = request.body;
      if (hint !== undefined && !TOKEN_TYPES.includes(hint)) throw new UnsupportedTokenTypeError();
      if (token === undefined) throw fieldRequiredError("token");
      reply.header("cache-control", "no-store");
      // The hint only says where to look first (section 2.1); the shape of the token decides.
      if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
        const session = await access.revokeRefreshToken(token);
        if (session !== null) {
          request.log.info({ sessionId: session.id }, "latchkey: refresh token revoked");
          await announceEndedSessions(request, resolved, session.username, [session.id], "revoked");
          await emitEvent(request, "onRevoke", hooks.onRevoke, {
            ...eventContext(request),
            tokenType: "refresh_token",
            username: session.username,
            sessionId: session.id,
          });
        }
        return reply.code(200).send();
      }
      let claims: Awaited<ReturnType<typeof tokens.verifyAccessToken>>;
      try {
        claims = await tokens.verifyAccessToken(token);
      } catch {
        // Invalid or expired: nothing to revoke, and the answer says nothing about it.
        return reply.code(200).send();
      }
      await access.revokeAccessToken(claims);
      request.log.info({ sessionId: claims.sid }, "latchkey: access token revoked");
      await emitEvent(request, "onRevoke", hooks.onRevoke, {
        ...eventContext(request),
        tokenType: "access_token",
        username: claims.sub,
        sessionId: claims.sid,
      });
      return reply.code(200).send();
    },
  );
}
