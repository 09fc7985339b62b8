import type { IssuedRefreshToken } from "@latchkey/core";
import type { FastifyReply } from "fastify";
import type { ResolvedLatchkeyOptions } from "../options.js";

/**
 * The token answer (RFC 6749 section 5.1) for a user: a fresh access token, with the session's
 * `sid` and refresh token when there is one. `uid` (the user's id) binds the token to this account,
 * so it never opens another one created later under the same name. Marks the response uncacheable.
 */
export async function tokenResponse(
  resolved: ResolvedLatchkeyOptions,
  reply: FastifyReply,
  user: { username: string; id: string },
  issued: IssuedRefreshToken | undefined,
) {
  const { tokens } = resolved;
  const base = { sub: user.username, uid: user.id };
  const claims = issued === undefined ? base : { ...base, sid: issued.session.id };
  const accessToken = await tokens.createAccessToken(claims);
  // RFC 6749 section 5.1: responses carrying tokens must not be cached.
  reply.header("cache-control", "no-store").header("pragma", "no-cache");
  return {
    access_token: accessToken,
    token_type: "bearer" as const,
    // Whole seconds, as clients expect; a fractional lifetime (tests use them) rounds down.
    expires_in: Math.floor(tokens.options.expiresInSeconds),
    ...(issued !== undefined && {
      refresh_token: issued.refreshToken,
      refresh_expires_in: issued.refreshExpiresInSeconds,
    }),
  };
}
