import { STATUS_CODES } from "node:http";
import { createError } from "@fastify/error";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * The body of every error response of Latchkey's routes and of `app.authenticate`.
 * `detail` is the original FastAPI API's field; `code` is stable and meant for programs.
 */
export interface ErrorBody {
  /** What went wrong, for people. Never contains a password, hash or token. */
  detail: string;
  /** Stable machine-readable code: `USERNAME_TAKEN`, `VALIDATION_FAILED`, `TOKEN_EXPIRED`, … */
  code: string;
  /** The request field at fault (`username`, `password`, `grant_type`), when there is one. */
  field?: string;
  /** OAuth 2.0 error code (RFC 6749 section 5.2), only on `POST /token` errors that OAuth defines. */
  error?: string;
  /** OAuth 2.0 error description, alongside `error`. */
  error_description?: string;
}

/** `UNSUPPORTED_MEDIA_TYPE` (415): the route reads another Content-Type. The argument names it. */
export const UnsupportedMediaTypeError = createError<"UNSUPPORTED_MEDIA_TYPE", 415, [string]>(
  "UNSUPPORTED_MEDIA_TYPE",
  "Content-Type must be %s",
  415,
);

/** `UNSUPPORTED_GRANT_TYPE` (400): `grant_type` is one this server does not offer; the argument lists those it does. */
export const UnsupportedGrantTypeError = createError<"UNSUPPORTED_GRANT_TYPE", 400, [string]>(
  "UNSUPPORTED_GRANT_TYPE",
  "Unsupported grant type: only %s supported",
  400,
);

/**
 * A field the route needs that the body lacks, answered as a schema failure (422
 * `VALIDATION_FAILED` naming the field): which fields `POST /token` needs depends on its grant.
 */
export function fieldRequiredError(field: string): Error {
  return Object.assign(new Error(`Field required: ${field}`), {
    validation: [{ keyword: "required", params: { requiredProperties: [field] } }],
  });
}

/** `SESSION_NOT_FOUND` (404): the user has no live session with this id (another user's is not theirs to see). */
export const SessionNotFoundError = createError("SESSION_NOT_FOUND", "No such session", 404);

/** `UNSUPPORTED_TOKEN_TYPE` (400): a `token_type_hint` this server does not know (RFC 7009 section 2.2.1). */
export const UnsupportedTokenTypeError = createError(
  "UNSUPPORTED_TOKEN_TYPE",
  'Unsupported token type hint: only "access_token" and "refresh_token" are known',
  400,
);

/** A field whose value is not one of those allowed, answered as a schema failure (422 naming the field). */
export function fieldValueError(field: string, allowed: readonly string[]): Error {
  return Object.assign(new Error(`${field} must be one of ${allowed.join(", ")}`), {
    validation: [{ keyword: "enum", instancePath: `/${field}`, message: `must be one of ${allowed.join(", ")}` }],
  });
}

/** `NOT_AUTHENTICATED` (401): no `Authorization` header at all. */
export const NotAuthenticatedError = createError("NOT_AUTHENTICATED", "Not authenticated", 401);

/**
 * `OVERLOADED` (503): every bcrypt slot and queue place is taken (admission control); the client
 * should retry after `Retry-After`. Refused before any bcrypt work, so a flood cannot grow a backlog.
 */
export const OverloadedError = createError(
  "OVERLOADED",
  "The server is busy hashing passwords, please retry later",
  503,
);

const RateLimitedBase = createError<"RATE_LIMITED", 429, [string]>(
  "RATE_LIMITED",
  "Too many %s, please retry later",
  429,
);

/**
 * `RATE_LIMITED` (429): too many requests from one address, or too many failed logins for one
 * username. `retryAfterSeconds` goes into `Retry-After` (RFC 6585 section 4).
 */
export class RateLimitedError extends RateLimitedBase {
  readonly retryAfterSeconds: number;

  constructor(what: string, retryAfterSeconds: number) {
    super(what);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** Settings the error replies depend on. */
export interface ErrorReplySettings {
  /** Seconds for `Retry-After` on a 503. */
  retryAfterSeconds: number;
}

/** One error, as the HTTP response it becomes. */
export interface ErrorReply {
  statusCode: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

interface HttpMapping {
  statusCode: number;
  field?: string;
  /** Replaces the error's own message, when that message could say too much. */
  detail?: string;
  headers?: (settings: ErrorReplySettings, error: unknown) => Record<string, string>;
  /** RFC 6749 section 5.2 `error` value on OAuth routes, when it is not the status's default. */
  oauthError?: string;
}

/** Options of {@link toErrorReply} that depend on the route. */
export interface ErrorReplyContext {
  /**
   * The route is an OAuth 2.0 token endpoint: every error body also carries RFC 6749 section 5.2's
   * `error` and `error_description`, which OAuth client libraries read whatever the status.
   */
  oauth?: boolean;
  /**
   * With `oauth`: the status of `INVALID_CREDENTIALS`. 401 (the default) keeps its
   * `WWW-Authenticate: Bearer`; 400 is RFC 6749 section 5.2's `invalid_grant` answer, without one.
   */
  invalidGrantStatus?: 400 | 401;
}

// RFC 6750 section 3: a 401 names the scheme; section 3.1: `invalid_token` when a token was sent but
// is unusable. Descriptions stay fixed strings, so no client input ever reaches a header.
const BEARER_CHALLENGE = () => ({ "www-authenticate": "Bearer" });
const invalidToken = (description: string) => () => ({
  "www-authenticate": `Bearer error="invalid_token", error_description="${description}"`,
});

/**
 * The only table that turns error codes into HTTP. Core codes come from `@latchkey/core`'s typed
 * errors; the others are the plugin's own (above) or translations of Fastify's (below).
 */
const HTTP_BY_CODE: Readonly<Record<string, HttpMapping>> = {
  VALIDATION_FAILED: { statusCode: 422 },
  USERNAME_INVALID: { statusCode: 422, field: "username" },
  PASSWORD_TOO_SHORT: { statusCode: 422, field: "password" },
  PASSWORD_TOO_LONG: { statusCode: 422, field: "password" },
  PASSWORD_INVALID: { statusCode: 422, field: "password" },
  USERNAME_TAKEN: { statusCode: 409, field: "username" },
  // Stays 401 (the original's status) where RFC 6749 would say 400: clients read `error` either way.
  INVALID_CREDENTIALS: { statusCode: 401, headers: BEARER_CHALLENGE, oauthError: "invalid_grant" },
  NOT_AUTHENTICATED: { statusCode: 401, headers: BEARER_CHALLENGE },
  TOKEN_INVALID: {
    statusCode: 401,
    detail: "Could not validate credentials",
    headers: invalidToken("The access token is invalid"),
  },
  TOKEN_EXPIRED: {
    statusCode: 401,
    detail: "Could not validate credentials: the token has expired",
    headers: invalidToken("The access token expired"),
  },
  UNSUPPORTED_GRANT_TYPE: { statusCode: 400, field: "grant_type", oauthError: "unsupported_grant_type" },
  // One description for every reason (unknown, forged, expired, revoked, reused): the reason is
  // logged and given to hooks, never to a client that may be the thief.
  REFRESH_TOKEN_INVALID: {
    statusCode: 400,
    detail: "The refresh token is invalid, expired or revoked",
    oauthError: "invalid_grant",
  },
  SESSION_NOT_FOUND: { statusCode: 404 },
  UNSUPPORTED_TOKEN_TYPE: { statusCode: 400, field: "token_type_hint", oauthError: "unsupported_token_type" },
  UNSUPPORTED_MEDIA_TYPE: { statusCode: 415 },
  BODY_TOO_LARGE: { statusCode: 413, detail: "Request body is too large" },
  MALFORMED_BODY: { statusCode: 400 },
  STORE_UNAVAILABLE: {
    statusCode: 503,
    // A store's message may name hosts or ports; clients get a fixed sentence.
    detail: "The service is temporarily unavailable, please retry later",
    headers: ({ retryAfterSeconds }) => ({ "retry-after": String(retryAfterSeconds) }),
  },
  OVERLOADED: {
    statusCode: 503,
    headers: ({ retryAfterSeconds }) => ({ "retry-after": String(retryAfterSeconds) }),
  },
  RATE_LIMITED: {
    statusCode: 429,
    headers: (settings, error) => {
      const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      return { "retry-after": String(typeof seconds === "number" ? seconds : settings.retryAfterSeconds) };
    },
  },
};

// Fastify's own request errors, renamed to stable Latchkey codes. Their messages are fixed strings
// (a JSON syntax error never echoes the body), so they can be shown as they are.
const CODE_BY_FASTIFY_CODE: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "BODY_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "MALFORMED_BODY",
  FST_ERR_CTP_INVALID_JSON_BODY: "MALFORMED_BODY",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "MALFORMED_BODY",
};

/**
 * The OAuth `error` of a reply that has none of its own: RFC 6749 section 5.2 names
 * `invalid_request` for every malformed request; `server_error` and `temporarily_unavailable` are
 * the registered codes (RFC 6749 section 4.1.2.1) that client libraries know for the rest.
 */
function defaultOAuthError(statusCode: number): string {
  if (statusCode >= 500) return statusCode === 503 ? "temporarily_unavailable" : "server_error";
  return statusCode === 429 ? "temporarily_unavailable" : "invalid_request";
}

/**
 * RFC 6749 section 5.2 allows only printable ASCII except `"` and `\` in `error_description`;
 * a detail naming a non-ASCII field or quoting a rule is made to fit rather than dropped.
 */
function toOAuthDescription(detail: string): string {
  return detail.replaceAll('"', "'").replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "?");
}

function withOAuthFields(reply: ErrorReply, oauthError: string | undefined): ErrorReply {
  reply.body.error = oauthError ?? defaultOAuthError(reply.statusCode);
  reply.body.error_description = toOAuthDescription(reply.body.detail);
  // Token endpoint answers are never cached, failures included (RFC 6749 section 5.1's rule).
  reply.headers["cache-control"] = "no-store";
  reply.headers.pragma = "no-cache";
  return reply;
}

function internalError(): ErrorReply {
  return { statusCode: 500, headers: {}, body: { detail: "Internal Server Error", code: "INTERNAL_ERROR" } };
}

interface SchemaValidationIssue {
  keyword?: string;
  instancePath?: string;
  message?: string;
  params?: { requiredProperties?: unknown; missingProperty?: unknown };
}

function firstPathSegment(instancePath: string | undefined): string | undefined {
  const segment = instancePath?.split("/")[1];
  // JSON Pointer escapes (RFC 6901 section 4).
  return segment ? segment.replaceAll("~1", "/").replaceAll("~0", "~") : undefined;
}

/** Names the field and the rule of a schema validation failure (TypeBox or Ajv error objects). */
function describeValidation(issues: readonly SchemaValidationIssue[]): { detail: string; field?: string } {
  const issue = issues[0] ?? {};
  if (issue.keyword === "required") {
    const listed = issue.params?.requiredProperties ?? issue.params?.missingProperty;
    const names = (Array.isArray(listed) ? listed : [listed]).filter((name) => typeof name === "string");
    const [field] = names;
    if (field !== undefined) {
      return { field, detail: `Field required: ${names.join(", ")}` };
    }
  }
  const field = firstPathSegment(issue.instancePath);
  const rule = issue.message ?? "is invalid";
  return field === undefined ? { detail: `Request body ${rule}` } : { field, detail: `${field} ${rule}` };
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/**
 * Turns any error into the response Latchkey sends for it: known codes by the table, schema
 * failures as 422 `VALIDATION_FAILED` with `field`, other client errors from Fastify as their 4xx
 * with a generic text, and everything else as a bare 500 `INTERNAL_ERROR`. With `context.oauth`,
 * every body also carries the OAuth `error` and `error_description`.
 */
export function toErrorReply(
  error: unknown,
  settings: ErrorReplySettings,
  context: ErrorReplyContext = {},
): ErrorReply {
  const reply = toPlainErrorReply(error, settings);
  if (!context.oauth) return reply;
  if (reply.body.code === "INVALID_CREDENTIALS" && context.invalidGrantStatus === 400) {
    reply.statusCode = 400;
    delete reply.headers["www-authenticate"];
  }
  return withOAuthFields(reply, HTTP_BY_CODE[reply.body.code]?.oauthError);
}

function toPlainErrorReply(error: unknown, settings: ErrorReplySettings): ErrorReply {
  const validation = (error as { validation?: unknown } | null)?.validation;
  if (Array.isArray(validation)) {
    const { detail, field } = describeValidation(validation as SchemaValidationIssue[]);
    return {
      statusCode: 422,
      headers: {},
      body: { detail, code: "VALIDATION_FAILED", ...(field !== undefined && { field }) },
    };
  }

  // Matched by code, not class: a store built against another copy of @latchkey/core throws errors
  // that fail `instanceof` but carry the same stable codes.
  const ownCode = codeOf(error);
  const code = ownCode === undefined ? undefined : (CODE_BY_FASTIFY_CODE[ownCode] ?? ownCode);
  const mapping = code === undefined ? undefined : HTTP_BY_CODE[code];
  if (code !== undefined && mapping !== undefined) {
    const message = (error as { message?: unknown }).message;
    const detail = mapping.detail ?? (typeof message === "string" && message !== "" ? message : code);
    const body: ErrorBody = { detail, code };
    if (mapping.field !== undefined) body.field = mapping.field;
    return { statusCode: mapping.statusCode, headers: mapping.headers?.(settings, error) ?? {}, body };
  }

  const status = statusOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    // A client error raised by Fastify or another plugin: keep its status, not its wording.
    return {
      statusCode: status,
      headers: {},
      body: { detail: STATUS_CODES[status] ?? "Bad Request", code: "BAD_REQUEST" },
    };
  }
  return internalError();
}

/**
 * The error as it may be logged: name, message, code, stack and the chain of causes, but none of
 * its other properties. Database drivers attach the failed query's parameters to their errors,
 * and for a sign-up those parameters hold the password hash.
 */
export function loggable(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(`Non-error thrown: ${typeof error}`);
  const copy = new Error(error.message, error.cause === undefined ? undefined : { cause: loggable(error.cause) });
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = error.stack;
  const code = codeOf(error);
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}

/**
 * Sends the error reply for `error` and logs it: a 500 with its cause at `error` level, a store
 * outage at `warn` (both through {@link loggable}), a refused request at `info` with its code only.
 * Request bodies and headers are never logged.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  settings: ErrorReplySettings,
  context: ErrorReplyContext = {},
): FastifyReply {
  const { statusCode, headers, body } = toErrorReply(error, settings, context);
  if (body.code === "INTERNAL_ERROR") {
    request.log.error({ err: loggable(error) }, "latchkey: unexpected error; answered 500");
  } else if (body.code === "STORE_UNAVAILABLE" || body.code === "OVERLOADED") {
    const what = body.code === "OVERLOADED" ? "password hashing overloaded" : "user store unavailable";
    request.log.warn({ err: loggable(error), code: body.code }, `latchkey: ${what}; answered 503`);
  } else {
    const problem = (error as { problem?: unknown } | null)?.problem;
    request.log.info(
      { code: body.code, statusCode, ...(typeof problem === "string" && { problem }) },
      "latchkey: request refused",
    );
  }
  if (reply.sent) return reply;
  return reply.code(statusCode).headers(headers).send(body);
}
