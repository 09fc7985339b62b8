/**
 * Every error Latchkey throws on purpose is a {@link LatchkeyError} with a stable `code`.
 * Callers switch on `code` (the Fastify plugin maps codes to HTTP statuses in one table);
 * messages are for people and may change. No message ever contains a password, a hash or a token.
 */
export class LatchkeyError extends Error {
  /** Stable, machine-readable identifier of the failure. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** `USERNAME_TAKEN`: a user with this (normalized) username already exists. */
export class UsernameTakenError extends LatchkeyError {
  constructor(options?: ErrorOptions) {
    super("USERNAME_TAKEN", "Username already registered", options);
  }
}

/**
 * `USERNAME_KEY_CONFLICT`: a store cannot adopt a username uniqueness policy because some of its
 * users would become one account under it (`JohnDoe` and `johndoe` under `case-insensitive`).
 * `conflicts` lists the groups of stored names; the message shows the first few.
 */
export class UsernameKeyConflictError extends LatchkeyError {
  readonly conflicts: readonly (readonly string[])[];

  constructor(policy: string, conflicts: readonly (readonly string[])[], options?: ErrorOptions) {
    const shown = conflicts
      .slice(0, 5)
      .map((group) => group.map((name) => JSON.stringify(name)).join(" = "))
      .join("; ");
    const more = conflicts.length > 5 ? ` and ${conflicts.length - 5} more` : "";
    super(
      "USERNAME_KEY_CONFLICT",
      `${conflicts.length} group(s) of existing users would be one account under username uniqueness "${policy}": ` +
        `${shown}${more}. Rename all but one of each group, or keep the current policy`,
      options,
    );
    this.conflicts = conflicts;
  }
}

/** Why a username was refused; see {@link UsernameInvalidError}. */
export type UsernameProblem =
  | "not_a_string"
  | "too_short"
  | "too_long"
  | "surrounding_whitespace"
  | "forbidden_character";

/** `USERNAME_INVALID`: the username breaks the username policy; `problem` says which rule. */
export class UsernameInvalidError extends LatchkeyError {
  readonly problem: UsernameProblem;

  constructor(problem: UsernameProblem, message: string) {
    super("USERNAME_INVALID", message);
    this.problem = problem;
  }
}

/** `PASSWORD_TOO_SHORT`: shorter than the configured minimum (or empty). */
export class PasswordTooShortError extends LatchkeyError {
  readonly minLength: number;

  constructor(minLength: number) {
    super("PASSWORD_TOO_SHORT", `Password must be at least ${minLength} characters long`);
    this.minLength = minLength;
  }
}

/**
 * `PASSWORD_TOO_LONG`: over 72 bytes in UTF-8. bcrypt ignores every byte after the 72nd, so
 * accepting such a password would silently make its tail worthless; Latchkey refuses it instead.
 */
export class PasswordTooLongError extends LatchkeyError {
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    super("PASSWORD_TOO_LONG", `Password must be at most ${maxBytes} bytes long in UTF-8`);
    this.maxBytes = maxBytes;
  }
}

/** `PASSWORD_INVALID`: not a string. */
export class PasswordInvalidError extends LatchkeyError {
  constructor() {
    super("PASSWORD_INVALID", "Password must be a string");
  }
}

/** `INVALID_CREDENTIALS`: unknown username or wrong password; deliberately does not say which. */
export class InvalidCredentialsError extends LatchkeyError {
  constructor() {
    super("INVALID_CREDENTIALS", "Incorrect username or password");
  }
}

/** `WEAK_SECRET`: the token signing secret is too short or is a well-known placeholder. */
export class WeakSecretError extends LatchkeyError {
  constructor(message: string) {
    super("WEAK_SECRET", message);
  }
}

/** `INVALID_OPTIONS`: a configuration value is out of range; thrown at set-up, never per request. */
export class InvalidOptionsError extends LatchkeyError {
  constructor(message: string) {
    super("INVALID_OPTIONS", message);
  }
}

/** `TOKEN_EXPIRED`: the token's `exp` has passed. */
export class TokenExpiredError extends LatchkeyError {
  constructor(options?: ErrorOptions) {
    super("TOKEN_EXPIRED", "Token has expired", options);
  }
}

/** Why a token was refused; see {@link TokenInvalidError}. */
export type TokenProblem =
  | "revoked"
  | "malformed"
  | "too_large"
  | "algorithm"
  | "signature"
  | "not_yet_valid"
  | "missing_claim"
  | "claim_value";

/** `TOKEN_INVALID`: the token is not one we issued or is not usable; `problem` says why. */
export class TokenInvalidError extends LatchkeyError {
  readonly problem: TokenProblem;

  constructor(problem: TokenProblem, message: string, options?: ErrorOptions) {
    super("TOKEN_INVALID", message, options);
    this.problem = problem;
  }
}

/**
 * `STORE_UNAVAILABLE`: the user store could not answer (database down, pool exhausted, timeout).
 * Stores throw it in place of raw driver errors so callers can answer "try again later".
 */
export class StoreUnavailableError extends LatchkeyError {
  constructor(message = "User store is unavailable", options?: ErrorOptions) {
    super("STORE_UNAVAILABLE", message, options);
  }
}

/** Why a refresh token was refused; logged and given to hooks, never sent to the client. */
export type RefreshFailure =
  | "malformed"
  | "unknown_session"
  | "forged"
  | "revoked"
  | "expired_idle"
  | "expired_absolute"
  | "future_generation"
  | "reused";

/**
 * `REFRESH_TOKEN_INVALID`: a refresh token that cannot be used. Clients get one generic answer;
 * `reason` (and the session, when known) is for logs and hooks. `reused` means a rotated-away
 * token was presented after the reuse window: its session has been revoked.
 */
export class RefreshTokenInvalidError extends LatchkeyError {
  readonly reason: RefreshFailure;
  readonly sessionId: string | undefined;
  readonly userId: string | undefined;

  constructor(reason: RefreshFailure, session?: { id: string; userId: string }, options?: ErrorOptions) {
    super("REFRESH_TOKEN_INVALID", `Refresh token refused (${reason.replaceAll("_", " ")})`, options);
    this.reason = reason;
    this.sessionId = session?.id;
    this.userId = session?.userId;
  }
}
