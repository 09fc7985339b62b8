import type { JWTPayload } from "jose";
import { TokenInvalidError } from "./errors.js";

/** The claims of a Latchkey access token, as {@link LatchkeyVerifier.verify} has checked them. */
export interface LatchkeyAccessTokenClaims extends JWTPayload {
  /** The username. A non-empty string. */
  sub: string;
  /** Expiry, seconds since the epoch. Always present. */
  exp: number;
  /** The issuer; equal to the configured `issuer`. */
  iss: string;
  /** The user's id at the issuer: the account, not just the name. */
  uid?: string;
  /** The session (login) the token was issued for. */
  sid?: string;
  /** The token's own id. */
  jti?: string;
  iat?: number;
  nbf?: number;
  aud?: string | string[];
}

/** What `verify` resolves to. */
export interface VerifiedAccessToken {
  /** The token's `sub`. */
  username: string;
  /** Every claim of the token. */
  claims: LatchkeyAccessTokenClaims;
}

const wrong = (claim: string, rule: string) =>
  new TokenInvalidError("claim_value", `Token is invalid (its "${claim}" claim ${rule})`);

const OPTIONAL_STRINGS = ["uid", "sid", "jti"] as const;

/**
 * The checks jose leaves to us, so that {@link LatchkeyAccessTokenClaims} is true of every result.
 * jose has already required `exp` and `sub`, pinned `iss` (and `aud` when configured) and checked
 * that `exp`, `nbf` and `iat` are numbers.
 *
 * @throws {TokenInvalidError} `claim_value`.
 */
export function checkClaims(payload: JWTPayload): LatchkeyAccessTokenClaims {
  if (typeof payload.sub !== "string" || payload.sub === "") throw wrong("sub", "must be a non-empty string");
  for (const claim of OPTIONAL_STRINGS) {
    if (payload[claim] !== undefined && typeof payload[claim] !== "string") throw wrong(claim, "must be a string");
  }
  const { aud } = payload;
  if (
    aud !== undefined &&
    typeof aud !== "string" &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === "string"))
  ) {
    throw wrong("aud", "must be a string or an array of strings");
  }
  return payload as LatchkeyAccessTokenClaims;
}
