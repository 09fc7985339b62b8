import { type TSchema, Type } from "typebox";

// Request schemas check types only and allow unknown properties, as pydantic does in the
// original: `{"username": "a", "password": "…", "email": "…"}` signs up `a` and ignores `email`.
// Lengths and characters are checked by core (one source of truth for the policies), which
// answers with a specific code such as `USERNAME_INVALID` or `PASSWORD_TOO_LONG`.

/** Body of `POST /users/` (the original's `UserIn`). */
export const UserInSchema = Type.Object(
  {
    username: Type.String({ description: "1 to 150 characters; no control or invisible characters." }),
    password: Type.String({ description: "At least 8 characters and at most 72 bytes in UTF-8." }),
  },
  { description: "A new user. Unknown properties are ignored." },
);

/**
 * A user as the API shows it (the original's `UserOut`). `additionalProperties: false` makes the
 * serializer drop anything else, so a handler bug can never send a password hash.
 */
export const UserOutSchema = Type.Object(
  { username: Type.String() },
  { additionalProperties: false, description: "The user." },
);

/**
 * Form of `POST /token`: the OAuth 2.0 password grant (RFC 6749 section 4.3.2), as FastAPI's
 * `OAuth2PasswordRequestForm` reads it, or the refresh grant (section 6). Which fields are required
 * depends on `grant_type`, so the route checks that; the schema checks types. `scope`, `client_id`
 * and `client_secret` are accepted and ignored. A field sent twice arrives as an array and fails
 * the `string` type.
 */
export const TokenFormSchema = Type.Object(
  {
    username: Type.Optional(Type.String({ description: "Password grant: required." })),
    password: Type.Optional(Type.String({ description: "Password grant: required." })),
    refresh_token: Type.Optional(Type.String({ description: "Refresh grant: required." })),
    grant_type: Type.Optional(
      Type.String({
        description: '"password" (the default) or, when refresh tokens are on, "refresh_token".',
      }),
    ),
    scope: Type.Optional(Type.String({ description: "Accepted and ignored." })),
    client_id: Type.Optional(Type.String({ description: "Accepted and ignored." })),
    client_secret: Type.Optional(Type.String({ description: "Accepted and ignored." })),
  },
  { description: "OAuth 2.0 password or refresh-token grant form. Unknown fields are ignored." },
);

/** Response of `POST /token` (the original's `Token`, plus `expires_in`, which its clients ignore). */
export const TokenOutSchema = Type.Object(
  {
    access_token: Type.String({ description: "A JWT; send it as `Authorization: Bearer <token>`." }),
    token_type: Type.Literal("bearer"),
    expires_in: Type.Integer({ description: "Seconds until the access token expires (RFC 6749 section 5.1)." }),
    refresh_token: Type.Optional(
      Type.String({
        description:
          "When refresh tokens are on: an opaque token for `grant_type=refresh_token`. Every use returns a new " +
          "one and retires this one; keep it secret, like a password.",
      }),
    ),
    refresh_expires_in: Type.Optional(
      Type.Integer({ description: "Seconds until the session ends unless refreshed (idle or absolute limit)." }),
    ),
  },
  { additionalProperties: false, description: "An access token." },
);

/** Body of `POST /users/me/password`. */
export const PasswordChangeSchema = Type.Object(
  {
    current_password: Type.String({ description: "The password now; a wrong one is a 401 like a wrong login." }),
    new_password: Type.String({ description: "The new password, under the same policy as at sign-up." }),
  },
  { description: "A password change. Unknown properties are ignored." },
);

/** Body of `DELETE /users/me`. */
export const AccountDeletionSchema = Type.Object(
  { password: Type.String({ description: "The user's password, to confirm." }) },
  { description: "Confirms the deletion of the account." },
);

/** Form of `POST /revoke` (RFC 7009 section 2.1). */
export const RevokeFormSchema = Type.Object(
  {
    token: Type.Optional(Type.String({ description: "The refresh token or access token to revoke. Required." })),
    token_type_hint: Type.Optional(Type.String({ description: '"refresh_token" or "access_token" (a hint only).' })),
    client_id: Type.Optional(Type.String({ description: "Accepted and ignored." })),
    client_secret: Type.Optional(Type.String({ description: "Accepted and ignored." })),
  },
  { description: "RFC 7009 token revocation form." },
);

/** `scope` of `POST /logout`, in the query string or the body. */
export const LogoutScopeSchema = Type.Object(
  {
    scope: Type.Optional(
      Type.String({
        description: '"local" (this session, the default), "others" (every other one) or "global" (all).',
      }),
    ),
  },
  { description: "Which sessions to end." },
);

/** One session in `GET /users/me/sessions`. */
export const SessionOutSchema = Type.Object(
  {
    id: Type.String({ description: "The session id (the `sid` of its access tokens)." }),
    created_at: Type.String({ format: "date-time", description: "The login." }),
    last_used_at: Type.String({ format: "date-time", description: "The login or the last refresh." }),
    ip: Type.Union([Type.String(), Type.Null()], { description: "The address of the login." }),
    user_agent: Type.Union([Type.String(), Type.Null()], { description: "The User-Agent of the login." }),
    current: Type.Boolean({ description: "Whether this is the session of the token that asked." }),
  },
  { additionalProperties: false },
);

/** Response of `GET /users/me/sessions`. */
export const SessionListSchema = Type.Object(
  { sessions: Type.Array(SessionOutSchema) },
  { additionalProperties: false, description: "The user's live sessions, newest first." },
);

/** The one shape of every error Latchkey's routes answer with. */
export const ErrorBodySchema = Type.Object(
  {
    detail: Type.String({ description: "What went wrong, for people." }),
    code: Type.String({ description: "Stable machine-readable code, e.g. USERNAME_TAKEN." }),
    field: Type.Optional(Type.String({ description: "The request field at fault, when there is one." })),
    error: Type.Optional(Type.String({ description: "OAuth 2.0 error code (RFC 6749 section 5.2), on /token." })),
    error_description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** Response schema of one error status, with the description OpenAPI shows for it. */
function errorResponse(description: string): TSchema {
  return Type.Object(ErrorBodySchema.properties, { additionalProperties: false, description });
}

/** The error statuses a route documents, each with its description. */
export const ErrorResponses = {
  400: errorResponse(
    "Unsupported grant type or a refresh token that cannot be used (`invalid_grant`, RFC 6749 section 5.2), " +
      "or a malformed body.",
  ),
  401: errorResponse("Not authenticated; see the WWW-Authenticate header."),
  404: errorResponse("No such session of this user (SESSION_NOT_FOUND)."),
  409: errorResponse("Username already registered (USERNAME_TAKEN)."),
  413: errorResponse("Request body too large (BODY_TOO_LARGE)."),
  415: errorResponse("Wrong Content-Type (UNSUPPORTED_MEDIA_TYPE)."),
  422: errorResponse("Invalid input; `field` names the field (VALIDATION_FAILED, USERNAME_INVALID, PASSWORD_*)."),
  429: errorResponse(
    "Too many requests from this address, or too many failed logins for this username (RATE_LIMITED); " +
      "retry after the Retry-After header.",
  ),
  500: errorResponse("Unexpected server error (INTERNAL_ERROR); details are in the server log only."),
  503: errorResponse(
    "User store unavailable (STORE_UNAVAILABLE) or too many password hashes in progress (OVERLOADED); " +
      "retry after the Retry-After header.",
  ),
} as const;

/** The error responses of a route, by status: `errorResponses(401, 500, 503)`. */
export function errorResponses<Status extends keyof typeof ErrorResponses>(
  ...statuses: Status[]
): Pick<typeof ErrorResponses, Status> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponses[status]])) as Pick<
    typeof ErrorResponses,
    Status
  >;
}
