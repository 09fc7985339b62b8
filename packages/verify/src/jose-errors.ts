import { errors } from "jose";
import { LatchkeyVerifyError, TokenExpiredError, TokenInvalidError, type TokenProblem } from "./errors.js";

const invalid = (problem: TokenProblem, detail: string, cause: unknown) =>
  new TokenInvalidError(problem, `Token is invalid (${detail})`, { cause });

const CLAIM_REASONS: Partial<Record<string, string>> = {
  missing: "is missing",
  check_failed: "has a value not accepted here",
  invalid: "has the wrong type",
};

/** What a claim or header check that jose refused means for the caller. */
function claimProblem(error: errors.JWTClaimValidationFailed): TokenProblem {
  if (error.claim === "typ") return "type";
  if (error.reason === "missing") return "missing_claim";
  if (error.claim === "nbf") return "not_yet_valid";
  // `iss` or `aud` not the pinned value, or a time claim that is not a number.
  return "claim_value";
}

/**
 * Turns whatever `jwtVerify` (or our key resolver) threw into one of this package's typed errors.
 * Key-set failures were already made {@link KeysUnavailableError}s inside the resolver, so all that
 * is left is about the token: nothing a client sends can come out as anything but 401 material.
 */
export function toVerifyError(error: unknown): LatchkeyVerifyError {
  if (error instanceof LatchkeyVerifyError) return error;
  if (error instanceof errors.JWTExpired) return new TokenExpiredError({ cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) {
    const problem = claimProblem(error);
    if (problem === "type") return invalid(problem, 'its "typ" header is not the expected one', error);
    return invalid(problem, `its "${error.claim}" claim ${CLAIM_REASONS[error.reason] ?? "is refused"}`, error);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return invalid("algorithm", 'its "alg" is not allowed', error);
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid("signature", "bad signature", error);
  if (error instanceof errors.JWKSNoMatchingKey) {
    return invalid("unknown_key", 'no key of the issuer has its "kid" for its "alg"', error);
  }
  // JWSInvalid, JWTInvalid, JOSENotSupported (an unknown `crit`), and anything unforeseen.
  return invalid("malformed", "not a well-formed signed JWT", error);
}
