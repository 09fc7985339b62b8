import { TokenExpiredError, TokenInvalidError, type TokenProblem } from "../errors.js";
import type { AccessTokenClaims } from "./tokens.js";

/** What a verified payload must hold besides its signature. */
export interface ClaimRules {
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  /** Allowed clock skew for `exp` and `nbf`, in milliseconds. */
  readonly toleranceMs: number;
}

const invalid = (problem: TokenProblem, detail: string) =>
  new TokenInvalidError(problem, `Token is invalid (${detail})`);

const isTime = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);

/**
 * Checks the registered claims of a payload whose signature is verified (RFC 7519 section 4.1):
 * `exp` required and in the future (inclusive, plus the tolerance), `nbf` passed, `iat` a number,
 * `sub` a non-empty string, and `iss`/`aud` required and equal when configured.
 *
 * @throws {TokenExpiredError} `TOKEN_EXPIRED` / {@link TokenInvalidError} `TOKEN_INVALID` with its `problem`.
 */
export function assertClaims(payload: Record<string, unknown>, rules: ClaimRules, nowMs: number): AccessTokenClaims {
  const { exp, nbf, iat, sub, iss, aud } = payload;
  if (exp === undefined) throw invalid("missing_claim", "exp is required");
  if (!isTime(exp)) throw invalid("claim_value", "exp must be a number");
  if (sub === undefined) throw invalid("missing_claim", "sub is required");
  if (typeof sub !== "string" || sub.length === 0) throw invalid("claim_value", "sub must be a non-empty string");
  if (iat !== undefined && !isTime(iat)) throw invalid("claim_value", "iat must be a number");
  if (nbf !== undefined && !isTime(nbf)) throw invalid("claim_value", "nbf must be a number");
  if (rules.issuer !== undefined) {
    if (iss === undefined) throw invalid("missing_claim", "iss is required");
    if (iss !== rules.issuer) throw invalid("claim_value", "iss is not this issuer");
  }
  if (rules.audience !== undefined) {
    if (aud === undefined) throw invalid("missing_claim", "aud is required");
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(rules.audience)) throw invalid("claim_value", "aud does not name this audience");
  }
  if (nbf !== undefined && nbf * 1000 > nowMs + rules.toleranceMs) throw invalid("not_yet_valid", "not yet valid");
  if (nowMs > exp * 1000 + rules.toleranceMs) throw new TokenExpiredError();
  return payload as AccessTokenClaims;
}
