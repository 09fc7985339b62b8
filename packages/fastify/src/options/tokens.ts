import { createTokenService, type HmacAlgorithm, type TokenService, WeakSecretError } from "@latchkey/core";
import { fail, rethrowWithPrefix } from "./checks.js";

/** The token options of the plugin. */
export interface TokenSettings {
  secret: string | Uint8Array;
  algorithm?: HmacAlgorithm | undefined;
  expiresInSeconds?: number | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  clockToleranceSeconds?: number | undefined;
  maxTokenBytes?: number | undefined;
  verifiedTokenCacheSize?: number | undefined;
}

export function resolveTokens(options: TokenSettings): TokenService {
  for (const claim of ["issuer", "audience"] as const) {
    const value = options[claim];
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      fail(`option \`${claim}\` must be a non-empty string`);
    }
  }
  try {
    return createTokenService({
      secret: options.secret,
      ...(options.algorithm !== undefined && { algorithm: options.algorithm }),
      ...(options.expiresInSeconds !== undefined && { expiresInSeconds: options.expiresInSeconds }),
      ...(options.issuer !== undefined && { issuer: options.issuer }),
      ...(options.audience !== undefined && { audience: options.audience }),
      ...(options.clockToleranceSeconds !== undefined && { clockToleranceSeconds: options.clockToleranceSeconds }),
      ...(options.maxTokenBytes !== undefined && { maxTokenBytes: options.maxTokenBytes }),
      ...(options.verifiedTokenCacheSize !== undefined && { verifiedTokenCacheSize: options.verifiedTokenCacheSize }),
    });
  } catch (error) {
    // Core's messages for the other token options already name them (`expiresInSeconds must be …`).
    return rethrowWithPrefix(error, error instanceof WeakSecretError ? "secret" : undefined);
  }
}
