import { randomUUID } from "node:crypto";
import { type JWTHeaderParameters, type JWTPayload, SignJWT } from "jose";
import type { TestKey } from "./keys.js";

/** Claims as the Latchkey server puts them in an access token, for `issuer`, valid for 10 minutes. */
export function latchkeyClaims(issuer: string, overrides: Record<string, unknown> = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: "JohnDoe",
    uid: "u-1",
    sid: "s-1",
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
    iss: issuer,
    ...overrides,
  };
}

/**
 * Signs `claims` with `key` under the header the Latchkey server uses (`alg`, `typ: at+jwt`, `kid`),
 * changed by `header`. An `undefined` member, in either, leaves it out; other types than the
 * usual ones are allowed, to make tokens the server would never issue.
 */
export function sign(
  key: TestKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const protectedHeader = { alg: key.alg, typ: "at+jwt", kid: key.kid, ...header } as JWTHeaderParameters;
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A compact JWS put together by hand, for tokens no library would sign (`alg: none`). */
export function craft(header: Record<string, unknown>, claims: JWTPayload, signature = ""): string {
  return `${b64(header)}.${b64(claims)}.${signature}`;
}
