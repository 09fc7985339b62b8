import { type JWTVerifyOptions, jwtVerify } from "jose";
import { checkClaims, type LatchkeyAccessTokenClaims, type VerifiedAccessToken } from "./claims.js";
import { TokenInvalidError } from "./errors.js";
import { toVerifyError } from "./jose-errors.js";
import { createKeyResolver } from "./keys.js";
import { type LatchkeyVerifierOptions, resolveOptions } from "./options.js";

/** Verifies access tokens of one issuer; see {@link createLatchkeyVerifier}. */
export interface LatchkeyVerifier {
  /**
   * Checks a token's signature against the issuer's JWKS and its claims against the pins.
   *
   * @throws {TokenInvalidError} `TOKEN_INVALID` (401), `problem` says why.
   * @throws {TokenExpiredError} `TOKEN_EXPIRED` (401).
   * @throws {KeysUnavailableError} `KEYS_UNAVAILABLE` (503): the JWKS could not be fetched; retry later.
   */
  verify(token: string): Promise<VerifiedAccessToken>;
}

/**
 * A verifier for the access tokens of `options.issuer`, with public keys from its JWKS. Create one
 * per issuer and keep it: the key cache lives in it.
 *
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for a bad option, such as `HS256` in `algorithms`.
 */
export function createLatchkeyVerifier(options: LatchkeyVerifierOptions): LatchkeyVerifier {
  const resolved = resolveOptions(options);
  const getKey = createKeyResolver(resolved);
  // Everything pinned lives here, fixed at construction: no token header can widen it.
  const verifyOptions: JWTVerifyOptions = {
    issuer: resolved.issuer,
    algorithms: resolved.algorithms,
    typ: resolved.typ,
    clockTolerance: resolved.clockToleranceSeconds,
    requiredClaims: ["exp", "sub"],
  };
  if (resolved.audience !== undefined) verifyOptions.audience = resolved.audience;
  const { maxTokenBytes } = resolved;

  return {
    async verify(token: string): Promise<VerifiedAccessToken> {
      if (typeof token !== "string" || token === "") {
        throw new TokenInvalidError("malformed", "Token is invalid (it is not a non-empty string)");
      }
      // Before any parsing: base64url decoding and JSON.parse cost in proportion to the input.
      if (token.length > maxTokenBytes || Buffer.byteLength(token, "utf8") > maxTokenBytes) {
        throw new TokenInvalidError("malformed", `Token is invalid (longer than ${maxTokenBytes} bytes)`);
      }
      let claims: LatchkeyAccessTokenClaims;
      try {
        const { payload } = await jwtVerify(token, getKey, verifyOptions);
        claims = checkClaims(payload);
      } catch (error) {
        throw toVerifyError(error);
      }
      return { username: claims.sub, claims };
    },
  };
}
