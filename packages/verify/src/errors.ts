/**
 * Every error this package throws on purpose is a {@link LatchkeyVerifyError} with a stable `code`.
 * Callers switch on `code`; messages are for people and never contain the token.
 */
export class LatchkeyVerifyError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  readonly code: "TOKEN_INVALID" | "TOKEN_EXPIRED" | "KEYS_UNAVAILABLE" | "INVALID_OPTIONS";

  constructor(code: LatchkeyVerifyError["code"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Why a token was refused; see {@link TokenInvalidError}. */
export type TokenProblem =
  /** Not a JWS compact JWT, too large, no `kid` header, a `crit` header we do not know. */
  | "malformed"
  /** The header's `alg` is not one of the allowed asymmetric algorithms (HS256, `none`, …). */
  | "algorithm"
  /** The signature does not match the key the `kid` names. */
  | "signature"
  /** No key in the issuer's JWKS has this `kid` for this `alg` (unknown, retired, or another key type). */
  | "unknown_key"
  /** A claim has a value or JSON type we do not accept: `iss`, `aud`, an empty `sub`, a string `exp`. */
  | "claim_value"
  /** A required claim is absent: `exp`, `sub`, `iss`, or `aud` when an audience is configured. */
  | "missing_claim"
  /** The header's `typ` is not the expected one (`at+jwt`): an ID token or another JWT. */
  | "type"
  /** Its `nbf` is in the future. */
  | "not_yet_valid";

/** `TOKEN_INVALID`: the token is not a usable access token of this issuer; `problem` says why. Answer 401. */
export class TokenInvalidError extends LatchkeyVerifyError {
  declare readonly code: "TOKEN_INVALID";
  readonly problem: TokenProblem;

  constructor(problem: TokenProblem, message: string, options?: ErrorOptions) {
    super("TOKEN_INVALID", message, options);
    this.problem = problem;
  }
}

/** `TOKEN_EXPIRED`: the token was valid, but its `exp` has passed. Answer 401. */
export class TokenExpiredError extends LatchkeyVerifyError {
  declare readonly code: "TOKEN_EXPIRED";

  constructor(options?: ErrorOptions) {
    super("TOKEN_EXPIRED", "Token has expired", options);
  }
}

/**
 * `KEYS_UNAVAILABLE`: the issuer's JWKS could not be fetched or used (unreachable, timeout, not 200,
 * not a JSON Web Key Set). Says nothing about the token: answer 503, not 401. `cause` has the details.
 */
export class KeysUnavailableError extends LatchkeyVerifyError {
  declare readonly code: "KEYS_UNAVAILABLE";

  constructor(message: string, options?: ErrorOptions) {
    super("KEYS_UNAVAILABLE", message, options);
  }
}

/** `INVALID_OPTIONS`: a configuration mistake, thrown when the verifier is created, never per token. */
export class InvalidOptionsError extends LatchkeyVerifyError {
  declare readonly code: "INVALID_OPTIONS";

  constructor(message: string) {
    super("INVALID_OPTIONS", message);
  }
}
