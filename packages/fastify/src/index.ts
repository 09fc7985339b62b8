export { readBearerToken } from "./authenticate.js";
export {
  type ErrorBody,
  NotAuthenticatedError,
  OverloadedError,
  RateLimitedError,
  SessionNotFoundError,
  UnsupportedGrantTypeError,
  UnsupportedMediaTypeError,
  UnsupportedTokenTypeError,
} from "./errors.js";
export type { AdmissionState } from "./limits/admission.js";
export type { RedisClientLike } from "./limits/counters.js";
export { addressGroup, clientAddressKey, type RateLimitRule } from "./limits/rate-limit.js";
export {
  DEFAULT_BODY_LIMIT,
  DEFAULT_LOGIN_FAILURE_LIMIT,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_SIGN_UP_RATE_LIMIT,
  DEFAULT_TOKEN_RATE_LIMIT,
  type LatchkeyKeyOptions,
  type LatchkeyOptions,
  type LatchkeyRateLimitOptions,
  type LatchkeyRefreshTokenOptions,
  type LatchkeySessionCleanupOptions,
} from "./options.js";
export { latchkey } from "./plugin.js";
export {
  type LoggableRequest,
  type LoggedError,
  type LoggedRequest,
  latchkeyRedactPaths,
  latchkeySerializers,
  redactUrl,
} from "./redact.js";
export type {
  AuthenticateHook,
  LatchkeyDecorator,
  LatchkeyEventContext,
  LatchkeyHook,
  LatchkeyUser,
  LoginEvent,
  LoginFailedEvent,
  LogoutEvent,
  PasswordChangeEvent,
  RefreshEvent,
  RefreshFailedEvent,
  RefreshReuseEvent,
  RevokeEvent,
  SessionEndedEvent,
  UserCreatedEvent,
  UserDeletedEvent,
} from "./types.js";
