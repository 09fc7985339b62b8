export {
  InvalidCredentialsError,
  InvalidOptionsError,
  LatchkeyError,
  PasswordInvalidError,
  PasswordTooLongError,
  PasswordTooShortError,
  type RefreshFailure,
  RefreshTokenInvalidError,
  StoreUnavailableError,
  TokenExpiredError,
  TokenInvalidError,
  type TokenProblem,
  UsernameInvalidError,
  UsernameKeyConflictError,
  type UsernameProblem,
  UsernameTakenError,
  WeakSecretError,
} from "./errors.js";
export {
  createKeyEncryption,
  type KeyEncryption,
  parseKeyEncryptionKey,
} from "./keys/key-encryption.js";
export { type AsymmetricAlgorithm, generateSigningKey, type PublicJwk, publicJwkOf } from "./keys/key-material.js";
export { type KeyState, type KeyStatus, keyStates } from "./keys/key-states.js";
export {
  createKeyring,
  DEFAULT_JWKS_MAX_AGE_SECONDS,
  DEFAULT_KEY_ALGORITHM,
  DEFAULT_KEY_RELOAD_INTERVAL_SECONDS,
  KEY_ALGORITHMS,
  type KeyInfo,
  type Keyring,
  KeyringError,
  type KeyringOptions,
} from "./keys/keyring.js";
export { createMemoryKeyStore } from "./keys/memory-store.js";
export type { KeyAlgorithm, KeyStore, StoredKey } from "./keys/store.js";
export { jwkThumbprint } from "./keys/thumbprint.js";
export {
  BCRYPT_MAX_PASSWORD_BYTES,
  type BcryptHasherOptions,
  createBcryptHasher,
  DEFAULT_BCRYPT_COST,
} from "./passwords/bcrypt-hasher.js";
export { type PasswordHasher, utf8ByteLength } from "./passwords/hasher.js";
export { normalizePassword, passwordCandidates } from "./passwords/normalize.js";
export { getDefaultHasher, type HashPasswordOptions, hashPassword, verifyPassword } from "./passwords/password.js";
export {
  assertAcceptablePassword,
  DEFAULT_MIN_PASSWORD_LENGTH,
  type PasswordPolicy,
  resolvePasswordPolicy,
} from "./passwords/password-policy.js";
export {
  ACCESS_TOKEN_CHECKS,
  type AccessControl,
  type AccessControlOptions,
  type AccessTokenChecks,
  createAccessControl,
  DEFAULT_CLEANUP_BATCH_SIZE,
  DEFAULT_CLEANUP_INTERVAL_SECONDS,
  DEFAULT_ENDED_SESSION_RETENTION_SECONDS,
  LOGOUT_SCOPES,
  type LogoutScope,
  type PasswordChanged,
} from "./sessions/access-control.js";
export { createMemorySessionStore, type MemorySessionStoreOptions } from "./sessions/memory-store.js";
export { parseRefreshToken, REFRESH_TOKEN_PREFIX } from "./sessions/refresh-token.js";
export {
  createRevocationCache,
  DEFAULT_MAX_STALENESS_MS,
  DEFAULT_POLL_INTERVAL_MS,
  type RevocationCache,
  type RevocationCacheOptions,
  type RevocationVerdict,
} from "./sessions/revocation-cache.js";
export { revocationRefuses, tokensNotBefore } from "./sessions/revocation-rules.js";
export {
  createSessionService,
  DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
  DEFAULT_IDLE_TIMEOUT_SECONDS,
  DEFAULT_REUSE_WINDOW_SECONDS,
  type IssuedRefreshToken,
  MAX_REUSE_WINDOW_SECONDS,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
  type SessionService,
  type SessionStart,
} from "./sessions/service.js";
export type {
  EndedUserAccess,
  EndUserAccess,
  NewSession,
  RevocableClaims,
  Revocation,
  RevocationPage,
  RevocationWatch,
  SessionChange,
  SessionDecision,
  SessionStore,
  StoredSession,
} from "./sessions/store.js";
export {
  ASYMMETRIC_ALGORITHMS,
  isAsymmetricAlgorithm,
  isHmacAlgorithm,
  type JwsAlgorithm,
  type JwsKey,
} from "./tokens/jws.js";
export { assertStrongSecret, type HmacAlgorithm, MIN_SECRET_BYTES, PLACEHOLDER_SECRETS } from "./tokens/secret.js";
export {
  type AccessTokenClaims,
  type AccessTokenData,
  type CreateAccessTokenCallOptions,
  createAccessToken,
  createTokenService,
  DEFAULT_MAX_TOKEN_BYTES,
  DEFAULT_TOKEN_TTL_SECONDS,
  DEFAULT_VERIFIED_TOKEN_CACHE_SIZE,
  type KeySet,
  type KeySource,
  type ResolvedTokenOptions,
  resolveTokenOptions,
  type TokenOptions,
  type TokenService,
  toFastJwtOptions,
  toTokenError,
  type VerifyAccessTokenCallOptions,
  verifyAccessToken,
} from "./tokens/tokens.js";
export { type AuthenticateOptions, authenticateUser } from "./users/authenticate.js";
export { createFailureTimer, type FailureTimer, hashClass } from "./users/failure-timing.js";
export { createMemoryUserStore } from "./users/memory-store.js";
export { type RegisterUserOptions, registerUser } from "./users/register.js";
export type { NewUser, StoredUser, UpdatePasswordHashOptions, UserStore } from "./users/store.js";
export {
  assertStoreSupportsUniqueness,
  findUsernameKeyConflicts,
  resolveUsernameUniqueness,
  USERNAME_UNIQUENESS_POLICIES,
  type UsernameUniqueness,
  usernameKey,
  usernameKeyScheme,
} from "./users/username-keys.js";
export {
  DEFAULT_USERNAME_MAX_LENGTH,
  DEFAULT_USERNAME_MIN_LENGTH,
  normalizeLoginName,
  normalizeUsername,
  resolveUsernamePolicy,
  type UsernamePolicy,
} from "./users/usernames.js";
