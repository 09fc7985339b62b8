import { createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey, type RemoteJWKSetOptions } from "jose";
import { KeysUnavailableError, TokenInvalidError } from "./errors.js";
import type { ResolvedVerifierOptions } from "./options.js";

/**
 * The key resolver given to `jwtVerify`: jose's remote JWKS (cache, cooldown on an unknown `kid`,
 * one request in flight at a time), with its failures sorted into the token's fault and the key
 * set's. Only keys from the JWKS are ever returned: header members that carry or point at a key
 * (`jwk`, `jku`, `x5u`, `x5c`) are never read, since jose selects by `kid` and `alg` alone.
 */
export function createKeyResolver(options: ResolvedVerifierOptions): JWTVerifyGetKey {
  const remoteOptions: RemoteJWKSetOptions = {
    cooldownDuration: options.cooldownDuration,
    cacheMaxAge: options.cacheMaxAge,
    timeoutDuration: options.timeoutDuration,
  };
  if (options.headers !== undefined) remoteOptions.headers = options.headers;
  if (options.fetch !== undefined) remoteOptions[customFetch] = options.fetch;
  const jwks = createRemoteJWKSet(options.jwksUri, remoteOptions);

  return async (header, token) => {
    // Latchkey always sends a kid. Without one, jose would try any key of the type, and a JWKS with
    // two such keys would fail as the key set's fault: a 503 a client could cause at will.
    if (typeof header.kid !== "string" || header.kid === "") {
      throw new TokenInvalidError("malformed", 'Token is invalid (its header has no "kid")');
    }
    try {
      return await jwks(header, token);
    } catch (error) {
      // No key with this kid and alg, even after a refetch (or inside the cooldown): the token's fault.
      if (error instanceof errors.JWKSNoMatchingKey) throw error;
      // Anything else came from fetching or reading the key set: network, timeout, status, JSON, a bad key.
      throw new KeysUnavailableError(keysProblem(error), { cause: error });
    }
  };
}

function keysProblem(error: unknown): string {
  if (error instanceof errors.JWKSTimeout) return "The issuer's JWKS did not answer in time";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "The issuer's JWKS has several keys with this kid";
  const reason = error instanceof Error ? error.message : String(error);
  return `The issuer's JWKS could not be fetched or read: ${reason}`;
}
