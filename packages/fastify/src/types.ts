import type {
  AccessControl,
  AccessTokenClaims,
  AccessTokenData,
  Keyring,
  LogoutScope,
  PasswordHasher,
  RefreshFailure,
  SessionService,
  TokenService,
  UsernamePolicy,
  UserStore,
} from "@latchkey/core";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { AdmissionState } from "./limits/admission.js";

/**
 * What `request.user` holds after {@link LatchkeyDecorator | `app.authenticate`} (or `request.jwtVerify()`)
 * accepted a bearer token: the username and the token's verified claims.
 */
export interface LatchkeyUser {
  /** The user's username: the token's `sub`, as stored. */
  username: string;
  /** Every verified claim of the access token (`sub`, `exp`, `iat`, and `iss`/`aud` when configured). */
  claims: AccessTokenClaims;
}

/** Where an event happened, without anything secret: never the body, never a header. */
export interface LatchkeyEventContext {
  /** Fastify's request id, to correlate with the request's log lines. */
  requestId: string;
  /** The client address as Fastify sees it (`request.ip`, which honours `trustProxy`). */
  ip: string;
}

/** Passed to `onUserCreated` after `POST /users/` stored a user. */
export interface UserCreatedEvent extends LatchkeyEventContext {
  /** The username as stored (NFC-normalized). */
  username: string;
  /** The store's id of the new user. */
  userId: string;
}

/** Passed to `onLogin` after `POST /token` issued an access token. */
export interface LoginEvent extends LatchkeyEventContext {
  /** The username as stored. */
  username: string;
  /** The store's id of the user. */
  userId: string;
}

/** Passed to `onLoginFailed` after `POST /token` refused a username and password. */
export interface LoginFailedEvent extends LatchkeyEventContext {
  /**
   * The username exactly as the client sent it (it may not exist). A password typed into the
   * username field ends up here: treat it as untrusted input when you store it.
   */
  username: string;
  /** Why: an unknown username and a wrong password are deliberately one reason. */
  reason: "INVALID_CREDENTIALS";
}

/** Passed to `onRefresh` after `POST /token` exchanged a refresh token. */
export interface RefreshEvent extends LatchkeyEventContext {
  sessionId: string;
  userId: string;
  username: string;
  /** The session's generation now. */
  generation: number;
  /** True when a token rotated away within the reuse window was answered with the current one. */
  replayed: boolean;
}

/** Passed to `onRefreshFailed` after `POST /token` refused a refresh token. */
export interface RefreshFailedEvent extends LatchkeyEventContext {
  /** Why; the client only ever hears `invalid_grant`. */
  reason: RefreshFailure;
  /** The session the token named, when it named a real one. */
  sessionId: string | undefined;
  userId: string | undefined;
}

/** Passed to `onRefreshReuse` when a stolen (rotated-away) refresh token came back: the session is revoked. */
export interface RefreshReuseEvent extends LatchkeyEventContext {
  sessionId: string;
  userId: string;
}

/**
 * An audit callback. Awaited before the response is sent; if it throws or rejects, the error is
 * logged and the response goes out unchanged. Events never carry a password, a hash or a token.
 */
/** After `POST /logout`. */
export interface LogoutEvent extends LatchkeyEventContext {
  username: string;
  scope: LogoutScope;
  /** The sessions it ended (none for a session-less token logged out by its `jti`). */
  sessionIds: readonly string[];
}

/** After `POST /revoke` revoked something. */
export interface RevokeEvent extends LatchkeyEventContext {
  tokenType: "refresh_token" | "access_token";
  username: string;
  /** The session a refresh token ended, or the access token's `sid`. */
  sessionId: string | undefined;
}

/** After a password change: every session ended, `sessionId` the caller's new one (when sessions are on). */
export interface PasswordChangeEvent extends LatchkeyEventContext {
  username: string;
  userId: string;
  endedSessionIds: readonly string[];
  sessionId: string | undefined;
}

/** After `DELETE /users/me`. */
export interface UserDeletedEvent extends LatchkeyEventContext {
  username: string;
  userId: string;
  endedSessionIds: readonly string[];
}

/** One per session ended by anything but expiry and reuse detection (that is `onRefreshReuse`). */
export interface SessionEndedEvent extends LatchkeyEventContext {
  sessionId: string;
  username: string;
  reason: "logout" | "revoked" | "password_change" | "user_deleted" | "ended";
}

export type LatchkeyHook<Event> = (event: Event) => void | Promise<void>;

/**
 * A Fastify `onRequest`/`preHandler` hook that lets a request through only with a valid bearer
 * token. When it refuses, it has sent the 401 itself and resolves to the reply (Fastify's signal
 * that the request is answered).
 */
export type AuthenticateHook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

/** `app.latchkey`: the core pieces the plugin built from its options, for hosts that go further. */
export interface LatchkeyDecorator {
  /** Signs and verifies access tokens with the plugin's key, algorithm, lifetime, issuer and audience. */
  readonly tokens: TokenService;
  /** The user store the plugin was given. */
  readonly store: UserStore;
  /** The password hasher (bcrypt at `bcryptCost` unless a `hasher` was given), behind the admission gate. */
  readonly hasher: PasswordHasher;
  /** The admission gate's live state: running and queued hash operations, refusals so far. */
  readonly admission: AdmissionState;
  /** The username policy with defaults filled in. */
  readonly usernamePolicy: Required<UsernamePolicy>;
  /** Sessions and refresh tokens, when a `sessionStore` was given and they are not turned off. */
  readonly sessions: SessionService | undefined;
  /** Logout, revocation and the access-token checks (with a session store). */
  readonly access: AccessControl | undefined;
  /** The signing keys (with the `keys` option): list, rotate, revoke, JWKS. */
  readonly keyring: Keyring | undefined;
}

declare module "fastify" {
  interface FastifyInstance {
    /**
     * Protects a route: `{ onRequest: [app.authenticate] }`. Answers 401 with `WWW-Authenticate`
     * itself (RFC 6750) when the bearer token is missing, malformed, forged or expired, or when its
     * user no longer exists (with `requireExistingUser: true`); otherwise sets `request.user`.
     */
    authenticate: AuthenticateHook;
    /** The plugin's token service, store and hasher. */
    latchkey: LatchkeyDecorator;
  }
}

declare module "@fastify/jwt" {
  interface FastifyJWT {
    payload: AccessTokenData;
    user: LatchkeyUser;
  }
}
