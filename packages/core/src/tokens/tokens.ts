import { randomBytes } from "node:crypto";
import { type SignerOptions, TokenError, type VerifierOptions } from "fast-jwt";
import { InvalidOptionsError, TokenExpiredError, TokenInvalidError, type TokenProblem } from "../errors.js";
import { assertClaims, type ClaimRules } from "./claim-rules.js";
import { decodeSegment, encodeSegment, hmacJwsKey, type JwsKey, splitCompact, tokenHeader } from "./jws.js";
import { assertStrongSecret, type HmacAlgorithm } from "./secret.js";
import { createVerifiedTokenCache, deepFreeze } from "./verified-token-cache.js";

/** Default lifetime of an access token: 30 minutes, the original's `ACCESS_TOKEN_EXPIRE_MINUTES`. */
export const DEFAULT_TOKEN_TTL_SECONDS = 30 * 60;
/** Default size limit of a token we agree to parse; ours are about 200 bytes. */
export const DEFAULT_MAX_TOKEN_BYTES = 4096;
/** Default number of verified tokens remembered until their expiry (a few hundred kB at most). */
export const DEFAULT_VERIFIED_TOKEN_CACHE_SIZE = 1000;

/** How access tokens are signed and checked. One object configures both sides. */
export interface TokenOptions {
  /** HMAC secret: at least 32 bytes for HS256 (48 for HS384, 64 for HS512); strings count UTF-8 bytes. */
  secret: string | Uint8Array;
  /** The only algorithm accepted on verification. Default `HS256`, as the original. */
  algorithm?: HmacAlgorithm;
  /** Token lifetime. Default {@link DEFAULT_TOKEN_TTL_SECONDS} (30 minutes). */
  expiresInSeconds?: number;
  /** `iss` to set, and to require when verifying. */
  issuer?: string;
  /** `aud` to set, and to require when verifying. */
  audience?: string;
  /** Allowed clock skew for `exp` and `nbf`, in seconds. Default 0. */
  clockToleranceSeconds?: number;
  /** Tokens longer than this many bytes are refused before parsing. Default {@link DEFAULT_MAX_TOKEN_BYTES}. */
  maxTokenBytes?: number;
  /**
   * How many verified tokens to remember (least recently used go first), each until its `exp`,
   * so that a token presented again skips the signature check. 0 turns it off.
   * Default {@link DEFAULT_VERIFIED_TOKEN_CACHE_SIZE}.
   */
  verifiedTokenCacheSize?: number;
  /**
   * Where signing and verification keys come from when they change over time (a keyring with
   * rotation, `createKeyring`). Without it, `secret` signs and verifies, kid-less, as the original.
   */
  keys?: KeySource | undefined;
}

/** The keys in use at one moment: one signs; those that verify are found by header or by `kid`. */
export interface KeySet {
  readonly signer: { readonly kid: string | undefined; readonly header: string; readonly key: JwsKey };
  /** The key for a header segment that is exactly one we write (no parsing needed). */
  keyForOwnHeader(segment: string): JwsKey | undefined;
  /** The verifying key with this `kid`, if it is one in use (not retired, not revoked). */
  keyForKid(kid: string): JwsKey | undefined;
  /** The key for tokens without `kid` (the HMAC `SECRET_KEY`, as the original signed), if it still verifies. */
  readonly unkeyed: JwsKey | undefined;
}

/** Gives the key set of the moment; called per token, so it must answer from memory. */
export interface KeySource {
  current(): KeySet;
}

/** What goes into a token: at least `sub`, the username. */
export interface AccessTokenData {
  sub: string;
  [claim: string]: unknown;
}

/** The claims of a verified access token. Times are seconds since the epoch (RFC 7519). */
export interface AccessTokenClaims {
  sub: string;
  exp: number;
  iat?: number;
  /** The token's own id. */
  jti?: string;
  /** The session (login) the token was issued for, when sessions are on. */
  sid?: string;
  /** The user's id in the store: the account, not just the name. */
  uid?: string;
  nbf?: number;
  iss?: string;
  aud?: string | string[];
  [claim: string]: unknown;
}

/** Options of one signing call. */
export interface CreateAccessTokenCallOptions {
  /** Lifetime of this token only (the original's `expires_delta`). */
  expiresInSeconds?: number;
  /** Issue as if at this time (tests, replays). Default: now. */
  now?: Date;
}

/** Options of one verification call. */
export interface VerifyAccessTokenCallOptions {
  /** Verify as if at this time. Default: now. */
  now?: Date;
}

/** Token options with every default filled in and every value checked. */
export interface ResolvedTokenOptions {
  readonly secret: string | Uint8Array;
  readonly algorithm: HmacAlgorithm;
  readonly expiresInSeconds: number;
  readonly issuer: string | undefined;
  readonly audience: string | undefined;
  readonly clockToleranceSeconds: number;
  readonly maxTokenBytes: number;
  readonly verifiedTokenCacheSize: number;
}

const ALGORITHMS: readonly HmacAlgorithm[] = ["HS256", "HS384", "HS512"];

function assertPositive(name: string, value: number, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new InvalidOptionsError(
      `${name} must be a ${allowZero ? "non-negative" : "positive"} number, got ${String(value)}`,
    );
  }
}

/**
 * Fills in defaults and checks token options once, at set-up.
 * @throws {WeakSecretError} `WEAK_SECRET` for a short or placeholder secret.
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for an unknown algorithm or a bad duration or size.
 */
export function resolveTokenOptions(options: TokenOptions): ResolvedTokenOptions {
  const algorithm = options.algorithm ?? "HS256";
  if (!ALGORITHMS.includes(algorithm)) {
    throw new InvalidOptionsError(`Token algorithm must be one of ${ALGORITHMS.join(", ")}, got ${String(algorithm)}`);
  }
  assertStrongSecret(options.secret, algorithm);
  const resolved: ResolvedTokenOptions = {
    secret: options.secret,
    algorithm,
    expiresInSeconds: options.expiresInSeconds ?? DEFAULT_TOKEN_TTL_SECONDS,
    issuer: options.issuer,
    audience: options.audience,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 0,
    maxTokenBytes: options.maxTokenBytes ?? DEFAULT_MAX_TOKEN_BYTES,
    verifiedTokenCacheSize: options.verifiedTokenCacheSize ?? DEFAULT_VERIFIED_TOKEN_CACHE_SIZE,
  };
  assertPositive("expiresInSeconds", resolved.expiresInSeconds);
  assertPositive("clockToleranceSeconds", resolved.clockToleranceSeconds, true);
  assertPositive("maxTokenBytes", resolved.maxTokenBytes);
  if (!Number.isSafeInteger(resolved.verifiedTokenCacheSize) || resolved.verifiedTokenCacheSize < 0) {
    throw new InvalidOptionsError(
      `verifiedTokenCacheSize must be a whole number (0 or more), got ${String(resolved.verifiedTokenCacheSize)}`,
    );
  }
  return resolved;
}

/**
 * The `fast-jwt` settings that sign and verify tokens exactly as core does. `@fastify/jwt` is built
 * on `fast-jwt`, so handing it these makes the plugin and core agree by construction.
 */
export function toFastJwtOptions(resolved: ResolvedTokenOptions): {
  key: string | Buffer;
  sign: Partial<SignerOptions>;
  verify: Partial<VerifierOptions>;
} {
  const requiredClaims = ["exp", "sub"];
  const verify: Partial<VerifierOptions> = {
    algorithms: [resolved.algorithm],
    requiredClaims,
    clockTolerance: resolved.clockToleranceSeconds * 1000,
  };
  const sign: Partial<SignerOptions> = {
    algorithm: resolved.algorithm,
    expiresIn: resolved.expiresInSeconds * 1000,
  };
  if (resolved.issuer !== undefined) {
    sign.iss = resolved.issuer;
    verify.allowedIss = resolved.issuer;
    requiredClaims.push("iss");
  }
  if (resolved.audience !== undefined) {
    sign.aud = resolved.audience;
    verify.allowedAud = resolved.audience;
    requiredClaims.push("aud");
  }
  const key = typeof resolved.secret === "string" ? resolved.secret : Buffer.from(resolved.secret);
  return { key, sign, verify };
}

const PROBLEM_BY_FAST_JWT_CODE: Partial<Record<string, TokenProblem>> = {
  [TokenError.codes.invalidAlgorithm]: "algorithm",
  [TokenError.codes.invalidSignature]: "signature",
  [TokenError.codes.missingSignature]: "signature",
  [TokenError.codes.inactive]: "not_yet_valid",
  [TokenError.codes.missingRequiredClaim]: "missing_claim",
  [TokenError.codes.invalidClaimType]: "claim_value",
  [TokenError.codes.invalidClaimValue]: "claim_value",
};

/** Turns a `fast-jwt` failure into Latchkey's typed token errors. */
export function toTokenError(error: unknown): TokenExpiredError | TokenInvalidError {
  const code = error instanceof TokenError ? error.code : undefined;
  if (code === TokenError.codes.expired) return new TokenExpiredError({ cause: error });
  const problem = (code && PROBLEM_BY_FAST_JWT_CODE[code]) || "malformed";
  return new TokenInvalidError(problem, `Token is invalid (${problem.replaceAll("_", " ")})`, { cause: error });
}

/** Signs and verifies access tokens with one validated configuration. */
export interface TokenService {
  readonly options: ResolvedTokenOptions;
  /** See {@link createAccessToken}. */
  createAccessToken(data: AccessTokenData, callOptions?: CreateAccessTokenCallOptions): Promise<string>;
  /** See {@link verifyAccessToken}. */
  verifyAccessToken(token: string, callOptions?: VerifyAccessTokenCallOptions): Promise<AccessTokenClaims>;
  /**
   * {@link verifyAccessToken} without a promise (HMAC verification needs no I/O), for hot paths
   * such as a request hook. Throws the same typed errors.
   */
  verifyAccessTokenSync(token: string, callOptions?: VerifyAccessTokenCallOptions): AccessTokenClaims;
}

// Claims the service sets itself; a caller's values for them are dropped, as the original's
// `to_encode.update({"exp": expire})` overrides any `exp` in the data.
const MANAGED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud"] as const;

// Header parameters that name a key source; we only ever use our own keys, so a token that
// carries one was not made by us (RFC 8725 section 3.10), and `crit` extensions we implement none of.
const FOREIGN_KEY_HEADERS = ["jwk", "jku", "x5u", "x5c", "crit"] as const;

/** The one HMAC key of `secret`, kid-less, with the header the original's python-jose wrote. */
function secretKeySource(resolved: ResolvedTokenOptions): KeySource {
  const key = hmacJwsKey(resolved.algorithm, resolved.secret);
  const header = tokenHeader(resolved.algorithm);
  const set: KeySet = {
    signer: { kid: undefined, header, key },
    keyForOwnHeader: (segment) => (segment === header ? key : undefined),
    keyForKid: () => undefined,
    unkeyed: key,
  };
  return { current: () => set };
}

/**
 * Validates token options once and returns a signer/verifier pair bound to them.
 * @throws {WeakSecretError} `WEAK_SECRET` / {@link InvalidOptionsError} `INVALID_OPTIONS`.
 */
export function createTokenService(options: TokenOptions): TokenService {
  const resolved = resolveTokenOptions(options);
  const keys = options.keys ?? secretKeySource(resolved);
  const rules: ClaimRules = {
    issuer: resolved.issuer,
    audience: resolved.audience,
    toleranceMs: resolved.clockToleranceSeconds * 1000,
  };
  const cache = resolved.verifiedTokenCacheSize > 0 ? createVerifiedTokenCache(resolved.verifiedTokenCacheSize) : null;

  /**
   * The key for a header we did not write byte for byte (another library's token, e.g. the
   * original's): found by `kid` (or the kid-less key), and only if the header's `alg` is that key's
   * own, so no header can choose how a key is used.
   */
  function keyForHeader(set: KeySet, segment: string): JwsKey {
    const header = decodeSegment(segment);
    if (header === undefined) throw new TokenInvalidError("malformed", "Token is invalid (malformed header)");
    if (FOREIGN_KEY_HEADERS.some((name) => header[name] !== undefined)) {
      throw new TokenInvalidError("signature", "Token is invalid (its header names a key source we never use)");
    }
    const key =
      header.kid === undefined ? set.unkeyed : typeof header.kid === "string" ? set.keyForKid(header.kid) : undefined;
    if (key === undefined) {
      throw new TokenInvalidError("signature", "Token is invalid (no key in use has its kid)");
    }
    if (header.alg !== key.alg) {
      throw new TokenInvalidError("algorithm", `Token is invalid (its key signs ${key.alg} only)`);
    }
    return key;
  }

  function verifyAccessTokenSync(token: string, callOptions: VerifyAccessTokenCallOptions = {}): AccessTokenClaims {
    if (typeof token !== "string" || token.length === 0) {
      throw new TokenInvalidError("malformed", "Token is invalid (malformed)");
    }
    if (token.length > resolved.maxTokenBytes) {
      throw new TokenInvalidError("too_large", `Token is invalid (over ${resolved.maxTokenBytes} bytes)`);
    }
    // Compact JWS is ASCII. Anything else is refused before a signature is checked, since the
    // signature is computed over the text's Latin-1 bytes, and only ASCII maps to them one to one.
    if (Buffer.byteLength(token, "utf8") !== token.length) {
      throw new TokenInvalidError("malformed", "Token is invalid (not ASCII)");
    }
    // A verification "as of" another time neither reads nor fills the cache.
    const useCache = cache !== null && callOptions.now === undefined;
    const now = callOptions.now?.getTime() ?? Date.now();
    const set = keys.current();
    // Entries are tagged with the key set that verified them: after a revocation they verify again.
    const cached = useCache ? cache.get(token, now, set) : undefined;
    if (cached !== undefined) return cached;
    const segments = splitCompact(token);
    if (segments === undefined) throw new TokenInvalidError("malformed", "Token is invalid (not three segments)");
    const [header, payload, signature] = segments;
    const verifier = set.keyForOwnHeader(header) ?? keyForHeader(set, header);
    if (!verifier.verify(token.slice(0, header.length + 1 + payload.length), signature)) {
      throw new TokenInvalidError("signature", "Token is invalid (signature)");
    }
    const decoded = decodeSegment(payload, true);
    if (decoded === undefined) throw new TokenInvalidError("malformed", "Token is invalid (malformed payload)");
    const claims = assertClaims(decoded, rules, now);
    // Frozen whether cached or not, so callers see the same behaviour either way.
    deepFreeze(claims);
    // `exp` is required and checked above; the entry ends when verification would start failing.
    if (useCache) cache.set(token, claims, claims.exp * 1000 + rules.toleranceMs, set);
    return claims;
  }

  return {
    options: resolved,

    async createAccessToken(data, callOptions = {}) {
      if (typeof data?.sub !== "string" || data.sub.length === 0) {
        throw new InvalidOptionsError("Token data must have a non-empty string `sub` (the username)");
      }
      const lifetime = callOptions.expiresInSeconds ?? resolved.expiresInSeconds;
      assertPositive("expiresInSeconds", lifetime);
      const issuedAt = Math.floor((callOptions.now ?? new Date()).getTime() / 1000);
      const payload: Record<string, unknown> = { ...data };
      for (const claim of MANAGED_CLAIMS) delete payload[claim];
      payload.iat = issuedAt;
      payload.exp = issuedAt + Math.ceil(lifetime);
      if (resolved.issuer !== undefined) payload.iss = resolved.issuer;
      if (resolved.audience !== undefined) payload.aud = resolved.audience;
      // RFC 7519 section 4.1.7: an identifier per token, so one token can be revoked by itself.
      if (typeof payload.jti !== "string" || payload.jti.length === 0)
        payload.jti = randomBytes(16).toString("base64url");
      const { signer } = keys.current();
      const signingInput = `${signer.header}.${encodeSegment(payload)}`;
      return `${signingInput}.${(signer.key.sign as (input: string) => string)(signingInput)}`;
    },

    async verifyAccessToken(token, callOptions = {}) {
      return verifyAccessTokenSync(token, callOptions);
    },

    verifyAccessTokenSync,
  };
}

const servicesByOptions = new WeakMap<TokenOptions, TokenService>();

function serviceFor(options: TokenOptions): TokenService {
  let service = servicesByOptions.get(options);
  if (!service) {
    service = createTokenService(options);
    servicesByOptions.set(options, service);
  }
  return service;
}

/**
 * Creates a signed JWT access token (the original's `create_access_token`): `data` plus `iat`,
 * `exp` (30 minutes by default), a random `jti` unless `data` has one, and `iss`/`aud` when configured. HS256 unless configured otherwise.
 * Reuse one options object (or a {@link TokenService}) so the key is checked once.
 *
 * @throws {WeakSecretError} `WEAK_SECRET` for a short or placeholder secret.
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` for data without `sub` or bad options.
 */
export function createAccessToken(
  data: AccessTokenData,
  options: TokenOptions & CreateAccessTokenCallOptions,
): Promise<string> {
  return serviceFor(options).createAccessToken(data, options);
}

/**
 * Verifies an access token and resolves to its claims. Accepts only the configured algorithm
 * (never `none`), requires `exp` and a non-empty string `sub` (plus `iss`/`aud` when configured),
 * and refuses tokens over the size limit before parsing them. Tokens made by python-jose with the
 * same key and algorithm verify.
 *
 * @throws {TokenExpiredError} `TOKEN_EXPIRED` when `exp` has passed.
 * @throws {TokenInvalidError} `TOKEN_INVALID` for anything else; `problem` says what.
 */
export function verifyAccessToken(
  token: string,
  options: TokenOptions & VerifyAccessTokenCallOptions,
): Promise<AccessTokenClaims> {
  return serviceFor(options).verifyAccessToken(token, options);
}
