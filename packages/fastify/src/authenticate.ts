import { type AccessControl, type AccessTokenClaims, type StoredUser, TokenInvalidError } from "@latchkey/core";
import type { FastifyRequest } from "fastify";
import { NotAuthenticatedError, sendError } from "./errors.js";
import type { ResolvedLatchkeyOptions } from "./options.js";
import type { AuthenticateHook, LatchkeyUser } from "./types.js";

// RFC 6750 section 2.1: `Bearer 1*SP b64token`; RFC 7235 section 2.1: the scheme is case-insensitive.
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The bearer token of an `Authorization` header.
 *
 * @throws {NotAuthenticatedError} `NOT_AUTHENTICATED` when there is no header (a plain challenge).
 * @throws {TokenInvalidError} `TOKEN_INVALID` for another scheme or a value that is not one token.
 */
export function readBearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization.trim() === "") throw new NotAuthenticatedError();
  const token = BEARER_CREDENTIALS.exec(authorization)?.[1];
  if (token === undefined) {
    throw new TokenInvalidError("malformed", "Token is invalid (the Authorization header is not `Bearer <token>`)");
  }
  return token;
}

/**
 * Refuses claims that the access-token checks say were ended (logout, revocation, password change,
 * deletion). Synchronous in `session` mode: no promise on the hot path.
 *
 * @throws {TokenInvalidError} `TOKEN_INVALID` (problem `revoked`), or `STORE_UNAVAILABLE`.
 */
export function assertNotRevoked(access: AccessControl, claims: AccessTokenClaims): undefined | Promise<void> {
  const allowed = access.isAllowed(claims);
  if (allowed === true) return undefined;
  if (allowed === false) throw revokedError();
  return allowed.then((ok) => {
    if (!ok) throw revokedError();
  });
}

const revokedError = () => new TokenInvalidError("revoked", "Token is invalid (it was revoked, or its session ended)");

/**
 * Verifies the request's bearer token with core's rules (size limit before parsing, the one
 * configured algorithm, `exp` and `sub` required, `iss`/`aud` when configured), then the
 * `accessTokenChecks` (unless `checkRevocation` is false: logout accepts a token it already
 * ended) and, when `lookUp` is set, that its user still exists.
 *
 * @throws `NOT_AUTHENTICATED`, `TOKEN_INVALID`, `TOKEN_EXPIRED` or `STORE_UNAVAILABLE` (typed errors).
 */
export function verifyRequestUser(
  request: FastifyRequest,
  resolved: ResolvedLatchkeyOptions,
  lookUp: boolean,
  checkRevocation = true,
): LatchkeyUser | Promise<LatchkeyUser> {
  // Synchronous unless a store must be read: a promise per request costs, on every request.
  const token = readBearerToken(request.headers.authorization);
  const claims = resolved.tokens.verifyAccessTokenSync(token);
  const pending =
    checkRevocation && resolved.access !== undefined ? assertNotRevoked(resolved.access, claims) : undefined;
  if (!lookUp) {
    const user = { username: claims.sub, claims };
    return pending === undefined ? user : pending.then(() => user);
  }
  const lookedUp = async () => ({ username: (await findTokenUser(resolved, claims)).username, claims });
  return pending === undefined ? lookedUp() : pending.then(lookedUp);
}

/**
 * The stored user a token names: by `sub`, and, when the token carries `uid`, only if it is the
 * same account (a user deleted and signed up again under the name is another one).
 *
 * @throws {TokenInvalidError} `TOKEN_INVALID` when there is none.
 */
export async function findTokenUser(resolved: ResolvedLatchkeyOptions, claims: AccessTokenClaims): Promise<StoredUser> {
  const stored = await resolved.store.findByUsername(claims.sub);
  if (stored === null || (claims.uid !== undefined && claims.uid !== stored.id)) {
    throw new TokenInvalidError("claim_value", "Token is invalid (its user no longer exists)");
  }
  return stored;
}

/**
 * Builds the `app.authenticate` hook. It answers refusals itself (401 with `WWW-Authenticate`, or
 * 503 when the store is down) through the plugin's error table, so host routes get the same
 * responses as Latchkey's own whatever error handler the host has.
 */
export function createAuthenticate(
  resolved: ResolvedLatchkeyOptions,
  lookUp: boolean,
  checkRevocation = true,
): AuthenticateHook {
  return async function authenticate(request, reply) {
    try {
      const user = verifyRequestUser(request, resolved, lookUp, checkRevocation);
      request.user = user instanceof Promise ? await user : user;
      return undefined;
    } catch (error) {
      return sendError(request, reply, error, resolved);
    }
  };
}
