import { TokenInvalidError } from "../errors.js";

// RFC 6750 section 2.1: `credentials = "Bearer" 1*SP b64token`; RFC 9110 section 11.1: the scheme is
// case-insensitive. Node has already trimmed the header value's surrounding white space.
const BEARER_CREDENTIALS = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;
const SCHEME = /^[^ ]*/;

/**
 * The bearer token of an `Authorization` header value.
 *
 * Returns `undefined` when the request carries no bearer credentials: no header, an empty one, or
 * another scheme (RFC 6750 section 3.1: then the answer is a plain challenge, without an error code).
 *
 * @throws {TokenInvalidError} `malformed` for a `Bearer` header that does not hold exactly one token.
 */
export function readBearerToken(authorization: unknown): string | undefined {
  if (authorization === undefined || authorization === "") return undefined;
  // Node joins repeated headers into one string, but a client or a proxy can still send odd shapes.
  if (typeof authorization !== "string") {
    throw new TokenInvalidError("malformed", "Token is invalid (the Authorization header is not one value)");
  }
  const scheme = SCHEME.exec(authorization)?.[0] ?? "";
  if (scheme.toLowerCase() !== "bearer") return undefined;
  const token = BEARER_CREDENTIALS.exec(authorization)?.[1];
  if (token === undefined) {
    throw new TokenInvalidError("malformed", "Token is invalid (the Authorization header is not `Bearer <token>`)");
  }
  return token;
}
