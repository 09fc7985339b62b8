import type { RevocableClaims, Revocation } from "./store.js";

/** True when `revocation` refuses an access token with these claims (see {@link Revocation}). */
export function revocationRefuses(revocation: Revocation, claims: RevocableClaims): boolean {
  switch (revocation.kind) {
    case "session":
      return claims.sid === revocation.sessionId;
    case "token":
      return claims.jti === revocation.jti;
    case "user":
      return (
        claims.sid === undefined &&
        claims.sub === revocation.username &&
        (claims.iat === undefined || claims.iat * 1000 < revocation.notBefore.getTime())
      );
  }
}

/** The key under which a revocation is kept in a cache: one entry per thing it names. */
export function revocationKey(revocation: Revocation): string {
  switch (revocation.kind) {
    case "session":
      return `s:${revocation.sessionId}`;
    case "token":
      return `t:${revocation.jti}`;
    case "user":
      return `u:${revocation.username}`;
  }
}

/**
 * The `notBefore` of a `user` revocation made now. `inclusive`: also refuse tokens issued earlier
 * in the current second (`iat` has whole seconds), for when no session-less token will be issued
 * right after (logout everywhere, deletion). Otherwise the answer's own fresh token, issued in this
 * second, must pass: tokens issued earlier in it do too.
 */
export function tokensNotBefore(now: number, inclusive: boolean): Date {
  const second = Math.floor(now / 1000) * 1000;
  return new Date(inclusive ? second + 1000 : second);
}
