export { readBearerToken } from "./authenticate.js";
export {
  type ErrorBody,
  NotAuthenticatedError,
  UnsupportedGrantTypeError,
  UnsupportedMediaTypeError,
} from "./errors.js";
export { DEFAULT_BODY_LIMIT, DEFAULT_RETRY_AFTER_SECONDS, type LatchkeyOptions } from "./options.js";
export { latchkey } from "./plugin.js";
export { latchkeyRedactPaths } from "./redact.js";
export type {
  AuthenticateHook,
  LatchkeyDecorator,
  LatchkeyEventContext,
  LatchkeyHook,
  LatchkeyUser,
  LoginEvent,
  LoginFailedEvent,
  UserCreatedEvent,
} from "./types.js";
