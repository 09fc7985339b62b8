export type { LatchkeyAccessTokenClaims, VerifiedAccessToken } from "./claims.js";
export {
  InvalidOptionsError,
  KeysUnavailableError,
  LatchkeyVerifyError,
  TokenExpiredError,
  TokenInvalidError,
  type TokenProblem,
} from "./errors.js";
export {
  DEFAULT_ALGORITHMS,
  DEFAULT_CACHE_MAX_AGE,
  DEFAULT_COOLDOWN_DURATION,
  DEFAULT_MAX_TOKEN_BYTES,
  DEFAULT_TIMEOUT_DURATION,
  DEFAULT_TYP,
  type LatchkeyVerifierOptions,
  type VerifyAlgorithm,
} from "./options.js";
export { createLatchkeyVerifier, type LatchkeyVerifier } from "./verifier.js";
