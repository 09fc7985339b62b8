import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { type IssuedRefreshToken, RefreshTokenInvalidError } from "@latchkey/core";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { fieldRequiredError, sendError, UnsupportedGrantTypeError } from "../errors.js";
import { emitEvent, eventContext } from "../events.js";
import { routeRateLimit } from "../limits/rate-limit.js";
import type { ResolvedLatchkeyOptions } from "../options.js";
import { errorResponses, TokenFormSchema, TokenOutSchema } from "../schemas.js";
import { requireContentType } from "./content-type.js";
import { createPasswordCheck } from "./password-check.js";
import { tokenResponse } from "./token-response.js";

const FORM = "application/x-www-form-urlencoded";
/** A user agent is kept with its session for the session list; beyond this it is cut. */
export const MAX_USER_AGENT_LENGTH = 512;

const schema = (refreshTokens: boolean) => ({
  summary: "Log in, or exchange a refresh token: get an access token",
  description:
    "OAuth 2.0 token endpoint. Password grant (RFC 6749 section 4.3) with a form body `username`, `password` and " +
    "optional `grant_type=password` (the original's `POST /token`): a wrong password and an unknown username get " +
    "the same 401 (`error: invalid_grant`)." +
    (refreshTokens
      ? " A login starts a session and also answers a `refresh_token`. Refresh grant (section 6): " +
        "`grant_type=refresh_token&refresh_token=…` answers a new access token and a new refresh token, and retires " +
        "the one sent; a retired token sent again after the reuse window ends the whole session. Every refresh " +
        "failure is the same 400 `invalid_grant`."
      : "") +
    " Every error body carries the OAuth fields `error` and `error_description` (RFC 6749 section 5.2): " +
    "`invalid_request` for a malformed request, `unsupported_grant_type`, `temporarily_unavailable` with 429 and " +
    "503, `server_error` with 500.",
  tags: ["auth"],
  consumes: [FORM],
  body: TokenFormSchema,
  response: {
    200: TokenOutSchema,
    ...errorResponses(400, 401, 413, 415, 422, 429, 500, 503),
  },
});

interface TokenForm {
  username?: string | undefined;
  password?: string | undefined;
  refresh_token?: string | undefined;
  grant_type?: string | undefined;
}

/**
 * `POST /token`: the password grant → 200 `{access_token, token_type: "bearer", expires_in}` (plus
 * `refresh_token` and `refresh_expires_in` when sessions are on); 401 `INVALID_CREDENTIALS`
 * (`"error": "invalid_grant"`) with `WWW-Authenticate: Bearer`, identical for unknown user and wrong
 * password. With sessions, the refresh grant → the same answer for the token's session, or 400
 * `invalid_grant`. Every error body carries RFC 6749 section 5.2's fields.
 */
export async function registerTokenRoute(app: FastifyInstance, resolved: ResolvedLatchkeyOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { sessions, hooks } = resolved;
  const passwordCheck = createPasswordCheck(resolved);
  const config = routeRateLimit(resolved.rateLimits.tokenPerAddress, "latchkey-token");
  const grants = sessions === undefined ? ["password"] : ["password", "refresh_token"];
  const offered = grants.map((grant) => `"${grant}"`).join(" and ") + (grants.length > 1 ? " are" : " is");

  /**
   * Runs before schema validation, so a client asking for another grant learns that first, with
   * the OAuth error RFC 6749 section 5.2 defines, whatever else its form lacks. An array (a
   * repeated `grant_type`) is left to the schema, which refuses it with 422.
   */
  async function refuseOtherGrantTypes(request: FastifyRequest): Promise<void> {
    const grantType = (request.body as { grant_type?: unknown } | undefined)?.grant_type;
    if (typeof grantType === "string" && !grants.includes(grantType)) throw new UnsupportedGrantTypeError(offered);
  }

  async function passwordGrant(request: FastifyRequest, reply: FastifyReply, form: TokenForm) {
    const { username, password } = form;
    if (username === undefined) throw fieldRequiredError("username");
    if (password === undefined) throw fieldRequiredError("password");
    // The attempt was counted by the pre-handler, before validation let the handler run.
    const user = await passwordCheck.verify(request, username, password, false);
    const userAgent = request.headers["user-agent"]?.slice(0, MAX_USER_AGENT_LENGTH);
    const issued = await sessions?.start({
      userId: user.id,
      username: user.username,
      ip: request.ip,
      userAgent,
      // A password change committed since the check ends the login here (401), not after it.
      ifPasswordHash: user.passwordHash,
    });
    await emitEvent(request, "onLogin", hooks.onLogin, {
      ...eventContext(request),
      username: user.username,
      userId: user.id,
    });
    return tokenResponse(resolved, reply, user, issued);
  }

  async function refreshGrant(request: FastifyRequest, reply: FastifyReply, form: TokenForm) {
    if (sessions === undefined) throw new UnsupportedGrantTypeError(offered);
    const { refresh_token: refreshToken } = form;
    if (refreshToken === undefined) throw fieldRequiredError("refresh_token");
    let issued: IssuedRefreshToken;
    try {
      issued = await sessions.refresh(refreshToken);
    } catch (error) {
      if (error instanceof RefreshTokenInvalidError) {
        const { reason, sessionId, userId } = error;
        request.log.info({ reason, sessionId }, "latchkey: refresh token refused");
        await emitEvent(request, "onRefreshFailed", hooks.onRefreshFailed, {
          ...eventContext(request),
          reason,
          sessionId,
          userId,
        });
        if (reason === "reused" && sessionId !== undefined && userId !== undefined) {
          request.log.warn({ sessionId }, "latchkey: a rotated-away refresh token came back; the session is revoked");
          await emitEvent(request, "onRefreshReuse", hooks.onRefreshReuse, {
            ...eventContext(request),
            sessionId,
            userId,
          });
        }
      }
      throw error;
    }
    const { session, replayed } = issued;
    await emitEvent(request, "onRefresh", hooks.onRefresh, {
      ...eventContext(request),
      sessionId: session.id,
      userId: session.userId,
      username: session.username,
      generation: session.generation,
      replayed,
    });
    return tokenResponse(resolved, reply, { username: session.username, id: session.userId }, issued);
  }

  typed.post(
    "/token",
    {
      schema: schema(sessions !== undefined),
      bodyLimit: resolved.bodyLimit,
      onRequest: requireContentType(FORM),
      preValidation: refuseOtherGrantTypes,
      // After validation, so the username is a string; before the handler, so a locked name costs no bcrypt.
      preHandler: passwordCheck.guard.takeAttempt,
      // A token endpoint: every failure, from the content type to the database, speaks OAuth too.
      errorHandler: (error, request, reply) =>
        sendError(request, reply, error, resolved, { oauth: true, invalidGrantStatus: resolved.invalidGrantStatus }),
      ...(config !== undefined && { config }),
    },
    async (request, reply) =>
      request.body.grant_type === "refresh_token"
        ? refreshGrant(request, reply, request.body)
        : passwordGrant(request, reply, request.body),
  );
}
