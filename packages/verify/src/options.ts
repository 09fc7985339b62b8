import type { FetchImplementation } from "jose";
import { InvalidOptionsError } from "./errors.js";

/** The public-key JWS algorithms a verifier may accept. Shared-secret ones (HS*) and `none` are not among them. */
export type VerifyAlgorithm =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "EdDSA"
  | "Ed25519";

const ASYMMETRIC: ReadonlySet<string> = new Set<VerifyAlgorithm>([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
]);

/** Options of {@link createLatchkeyVerifier}. Durations of the key cache are in milliseconds, as in jose. */
export interface LatchkeyVerifierOptions {
  /** The issuer URL, e.g. `https://auth.example.com`. Required; a token's `iss` must be exactly this. */
  issuer: string;
  /** Where the issuer publishes its keys. Default: `<issuer>/.well-known/jwks.json`. */
  jwksUri?: string | URL;
  /** When set, a token's `aud` must be (or contain) this; tokens without `aud` are refused. */
  audience?: string;
  /** Accepted `alg` values. Default `["ES256", "EdDSA", "RS256"]`. HS256/HS384/HS512 and `none` are refused here. */
  algorithms?: readonly VerifyAlgorithm[];
  /** Required `typ` header (`application/` prefix optional, case-insensitive). Default `"at+jwt"` (RFC 9068). */
  typ?: string;
  /** Allowed clock skew, in seconds, for `exp` and `nbf`. Default 0. */
  clockToleranceSeconds?: number;
  /** Tokens longer than this many bytes are refused before they are parsed. Default 8192. */
  maxTokenBytes?: number;
  /** After a successful JWKS fetch, how long an unknown `kid` is refused without fetching again. Default 30 000 ms. */
  cooldownDuration?: number;
  /** How long fetched keys are used before the JWKS is fetched again. Default 300 000 ms (5 minutes: the `max-age` Latchkey serves the JWKS with, and less than the time a new key is published before it signs). */
  cacheMaxAge?: number;
  /** Timeout of one JWKS request. Default 5000 ms. */
  timeoutDuration?: number;
  /** Extra headers sent with the JWKS request. */
  headers?: Record<string, string>;
  /** A fetch implementation for the JWKS request (a proxy agent, tests). Default: the global `fetch`. */
  fetch?: FetchImplementation;
}

/** {@link LatchkeyVerifierOptions} checked, with every default filled in. */
export interface ResolvedVerifierOptions {
  issuer: string;
  jwksUri: URL;
  audience: string | undefined;
  algorithms: VerifyAlgorithm[];
  typ: string;
  clockToleranceSeconds: number;
  maxTokenBytes: number;
  cooldownDuration: number;
  cacheMaxAge: number;
  timeoutDuration: number;
  headers: Record<string, string> | undefined;
  fetch: FetchImplementation | undefined;
}

export const DEFAULT_ALGORITHMS: readonly VerifyAlgorithm[] = ["ES256", "EdDSA", "RS256"];
export const DEFAULT_TYP = "at+jwt";
export const DEFAULT_MAX_TOKEN_BYTES = 8192;
// jose's defaults, except cacheMaxAge: the max-age of Latchkey's JWKS (jose's own is 10 minutes).
export const DEFAULT_COOLDOWN_DURATION = 30_000;
export const DEFAULT_CACHE_MAX_AGE = 300_000;
export const DEFAULT_TIMEOUT_DURATION = 5_000;

const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "issuer",
  "jwksUri",
  "audience",
  "algorithms",
  "typ",
  "clockToleranceSeconds",
  "maxTokenBytes",
  "cooldownDuration",
  "cacheMaxAge",
  "timeoutDuration",
  "headers",
  "fetch",
]);

const fail = (message: string): never => {
  throw new InvalidOptionsError(message);
};

function httpUrl(value: string | URL, name: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    fail(`${name} must be an absolute URL`);
  }
  if (url?.protocol !== "https:" && url?.protocol !== "http:") fail(`${name} must be an http: or https: URL`);
  return url as URL;
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== "string" || value === "") fail(`${name} must be a non-empty string`);
  return value as string;
}

function checkedNumber(value: unknown, name: string, fallback: number, valid: boolean, rule: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !valid) fail(`${name} must be ${rule}`);
  return value as number;
}

const nonNegative = (value: unknown, name: string, fallback: number, why = "") =>
  checkedNumber(value, name, fallback, Number.isFinite(value) && (value as number) >= 0, `a finite number ≥ 0${why}`);

const positiveInteger = (value: unknown, name: string, fallback: number) =>
  checkedNumber(value, name, fallback, Number.isInteger(value) && (value as number) > 0, "a positive integer");

function algorithms(value: unknown): VerifyAlgorithm[] {
  if (value === undefined) return [...DEFAULT_ALGORITHMS];
  if (!Array.isArray(value) || value.length === 0) fail("algorithms must be a non-empty array");
  for (const alg of value as unknown[]) {
    if (typeof alg === "string" && (/^HS\d+$/i.test(alg) || alg.toLowerCase() === "none")) {
      // With a JWKS, an HS* token's "secret" would be a public key anyone can download.
      fail(
        `algorithms: "${alg}" is refused: a JWKS verifier accepts only public-key algorithms ` +
          `(a shared-secret or unsigned token could be forged by anyone who can read the public keys)`,
      );
    }
    if (typeof alg !== "string" || !ASYMMETRIC.has(alg)) {
      fail(`algorithms: ${JSON.stringify(alg)} is not one of ${[...ASYMMETRIC].join(", ")}`);
    }
  }
  return [...new Set(value as VerifyAlgorithm[])];
}

/** The JWKS URL next to the issuer: `<issuer>/.well-known/jwks.json`, as the Latchkey server serves it. */
function defaultJwksUri(issuer: URL): URL {
  const url = new URL(issuer);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/.well-known/jwks.json`;
  url.search = "";
  url.hash = "";
  return url;
}

/**
 * Checks every option once, at construction, so a typo or a dangerous value fails start-up instead
 * of every request.
 *
 * @throws {InvalidOptionsError} naming the option.
 */
export function resolveOptions(options: LatchkeyVerifierOptions): ResolvedVerifierOptions {
  if (typeof options !== "object" || options === null) fail("options must be an object with at least `issuer`");
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(name)) fail(`unknown option "${name}"`);
  }
  const issuer = nonEmptyString(options.issuer, "issuer");
  const issuerUrl = httpUrl(issuer, "issuer");
  if (options.headers !== undefined && (typeof options.headers !== "object" || options.headers === null)) {
    fail("headers must be an object of header names to values");
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") fail("fetch must be a function");
  return {
    issuer,
    jwksUri: options.jwksUri === undefined ? defaultJwksUri(issuerUrl) : httpUrl(options.jwksUri, "jwksUri"),
    audience: options.audience === undefined ? undefined : nonEmptyString(options.audience, "audience"),
    algorithms: algorithms(options.algorithms),
    typ: options.typ === undefined ? DEFAULT_TYP : nonEmptyString(options.typ, "typ"),
    clockToleranceSeconds: nonNegative(options.clockToleranceSeconds, "clockToleranceSeconds", 0),
    maxTokenBytes: positiveInteger(options.maxTokenBytes, "maxTokenBytes", DEFAULT_MAX_TOKEN_BYTES),
    cooldownDuration: nonNegative(options.cooldownDuration, "cooldownDuration", DEFAULT_COOLDOWN_DURATION),
    // Infinity would keep a key removed from the JWKS (a revoked one) verifying for ever.
    cacheMaxAge: nonNegative(
      options.cacheMaxAge,
      "cacheMaxAge",
      DEFAULT_CACHE_MAX_AGE,
      ": with Infinity a removed key would verify forever",
    ),
    timeoutDuration: positiveInteger(options.timeoutDuration, "timeoutDuration", DEFAULT_TIMEOUT_DURATION),
    headers: options.headers,
    fetch: options.fetch,
  };
}
