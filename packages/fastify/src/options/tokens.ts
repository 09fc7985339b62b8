import {
  type AsymmetricAlgorithm,
  createKeyring,
  createTokenService,
  type HmacAlgorithm,
  type KeyAlgorithm,
  type KeyEncryption,
  type Keyring,
  type KeyStore,
  type TokenService,
  WeakSecretError,
} from "@latchkey/core";
import { fail, rethrowWithPrefix } from "./checks.js";

/**
 * Signing keys that change over time: a keyring in `store` (`createKyselyKeyStore(db)`), with
 * asymmetric algorithms, `kid` in every token, rotation and revocation, published at
 * `/.well-known/jwks.json`. Without it, `secret` signs every token (HMAC, kid-less), as the original.
 */
export interface LatchkeyKeyOptions {
  store: KeyStore;
  /** Seals private keys at rest (`createKeyEncryption(parseKeyEncryptionKey(process.env.KEY_ENCRYPTION_KEY))`). */
  encryption?: KeyEncryption | undefined;
  /** Algorithm of keys rotation adds. Default `RS256`. */
  algorithm?: AsymmetricAlgorithm | undefined;
  /** Algorithm of the first key of an empty keyring (`HS256`: keep signing with `secret`). Default `algorithm`. */
  initialAlgorithm?: KeyAlgorithm | undefined;
  /** Rotate this often (seconds); off by default. */
  rotateEverySeconds?: number | undefined;
  /** `Cache-Control: max-age` of the JWKS; a new key is published this long plus a minute (twice this long when under a minute) before it signs. Default 300. */
  jwksMaxAgeSeconds?: number | undefined;
  /** How often each instance reads the keys again besides change notifications. Default 10. */
  reloadIntervalSeconds?: number | undefined;
}

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
  keys?: LatchkeyKeyOptions | undefined;
}

/** The keyring of the `keys` option, not started yet (the plugin starts it before any request). */
function resolveKeyring(options: TokenSettings, warn: (message: string) => void): Keyring | undefined {
  const { keys } = options;
  if (keys === undefined) return undefined;
  if (typeof keys !== "object" || keys === null || typeof keys.store?.listKeys !== "function") {
    fail("option `keys` must be { store, encryption?, algorithm?, ... } with a KeyStore as `store`");
  }
  try {
    return createKeyring({
      store: keys.store,
      encryption: keys.encryption,
      secret: options.secret,
      hmacAlgorithm: options.algorithm,
      algorithm: keys.algorithm,
      initialAlgorithm: keys.initialAlgorithm,
      tokenLifetimeSeconds: options.expiresInSeconds ?? 1800,
      clockToleranceSeconds: options.clockToleranceSeconds,
      rotateEverySeconds: keys.rotateEverySeconds,
      jwksMaxAgeSeconds: keys.jwksMaxAgeSeconds,
      reloadIntervalSeconds: keys.reloadIntervalSeconds,
      onWarning: warn,
    });
  } catch (error) {
    return rethrowWithPrefix(error, "keys");
  }
}

export function resolveTokens(
  options: TokenSettings,
  warn: (message: string) => void = () => {},
): { tokens: TokenService; keyring: Keyring | undefined } {
  for (const claim of ["issuer", "audience"] as const) {
    const value = options[claim];
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      fail(`option \`${claim}\` must be a non-empty string`);
    }
  }
  const keyring = resolveKeyring(options, warn);
  try {
    const tokens = createTokenService({
      secret: options.secret,
      ...(options.algorithm !== undefined && { algorithm: options.algorithm }),
      ...(options.expiresInSeconds !== undefined && { expiresInSeconds: options.expiresInSeconds }),
      ...(options.issuer !== undefined && { issuer: options.issuer }),
      ...(options.audience !== undefined && { audience: options.audience }),
      ...(options.clockToleranceSeconds !== undefined && { clockToleranceSeconds: options.clockToleranceSeconds }),
      ...(options.maxTokenBytes !== undefined && { maxTokenBytes: options.maxTokenBytes }),
      ...(options.verifiedTokenCacheSize !== undefined && { verifiedTokenCacheSize: options.verifiedTokenCacheSize }),
      keys: keyring,
    });
    return { tokens, keyring };
  } catch (error) {
    // Core's messages for the other token options already name them (`expiresInSeconds must be …`).
    return rethrowWithPrefix(error, error instanceof WeakSecretError ? "secret" : undefined);
  }
}
