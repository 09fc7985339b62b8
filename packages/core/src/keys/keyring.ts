import { createHash } from "node:crypto";
import { InvalidOptionsError } from "../errors.js";
import {
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  hmacJwsKey,
  isHmacAlgorithm,
  type JwsKey,
  tokenHeader,
} from "../tokens/jws.js";
import type { HmacAlgorithm } from "../tokens/secret.js";
import type { KeySet } from "../tokens/tokens.js";
import type { KeyEncryption } from "./key-encryption.js";
import { type AsymmetricAlgorithm, generateSigningKey, jwsKeyOf, type PublicJwk } from "./key-material.js";
import { type KeyState, keyStates, VERIFYING_STATES } from "./key-states.js";
import type { KeyAlgorithm, KeyStore, StoredKey } from "./store.js";
import { jwkThumbprint } from "./thumbprint.js";

/** JWKS responses may be cached this long by verifiers (`Cache-Control: max-age`). */
export const DEFAULT_JWKS_MAX_AGE_SECONDS = 300;
/** How often every instance reads the keys again, besides the store's change notifications. */
export const DEFAULT_KEY_RELOAD_INTERVAL_SECONDS = 10;
/** The default algorithm of new keys: see the README's "Choosing an algorithm". */
export const DEFAULT_KEY_ALGORITHM: AsymmetricAlgorithm = "RS256";
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = [...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS];

export interface KeyringOptions {
  store: KeyStore;
  /** Seals private keys at rest. Required as soon as the keyring holds an asymmetric key. */
  encryption?: KeyEncryption | undefined;
  /** The HMAC secret (`SECRET_KEY`): the only HMAC key, used kid-less as the original did, never stored or published. */
  secret: string | Uint8Array;
  hmacAlgorithm?: HmacAlgorithm | undefined;
  /** Algorithm of keys that rotation adds. Default {@link DEFAULT_KEY_ALGORITHM}. */
  algorithm?: AsymmetricAlgorithm | undefined;
  /** Algorithm of the very first key of an empty keyring. Default `algorithm`. */
  initialAlgorithm?: KeyAlgorithm | undefined;
  /** The longest access-token lifetime, in seconds: how long a superseded key keeps verifying. */
  tokenLifetimeSeconds: number;
  clockToleranceSeconds?: number | undefined;
  /**
   * Default {@link DEFAULT_JWKS_MAX_AGE_SECONDS}. A new key is published this long plus a margin
   * (a minute, or this long again when shorter) before it signs.
   */
  jwksMaxAgeSeconds?: number | undefined;
  /** Add a key (and retire the active one) this often; off by default. */
  rotateEverySeconds?: number | undefined;
  reloadIntervalSeconds?: number | undefined;
  /** Warnings (a key that cannot be used, a failed reload); never given key material. */
  onWarning?: ((message: string) => void) | undefined;
  now?: () => number;
}

/** A key as `list` and the CLI show it: never its private part. */
export interface KeyInfo {
  kid: string;
  alg: KeyAlgorithm;
  state: KeyState;
  generation: number;
  createdAt: Date;
  activatesAt: Date;
  revokedAt: Date | null;
  /** When a retiring key stops verifying. */
  verifiesUntil: Date | null;
}

export interface Keyring {
  /** Reads the keys (adding the first one to an empty store) and starts watching for changes. */
  start(): Promise<void>;
  /** The keys tokens are signed and verified with now: synchronous, no I/O. */
  current(): KeySet;
  /** The published public keys (`/.well-known/jwks.json`) and their ETag. */
  jwks(): { keys: PublicJwk[]; etag: string };
  readonly jwksMaxAgeSeconds: number;
  list(): Promise<KeyInfo[]>;
  /** Adds a `next` key that starts signing after the JWKS publication lead; the active one then retires. */
  rotate(options?: { algorithm?: AsymmetricAlgorithm }): Promise<KeyInfo>;
  /**
   * Revokes a key: refused at once on this instance, on the others at their next read (at once with
   * a watching store). Revoking the active key adds a replacement that signs at once.
   */
  revoke(kid: string): Promise<{ revoked: KeyInfo; replacement: KeyInfo | null }>;
  /** Reads the keys again now. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** `KEY_NOT_FOUND`-style failures of the admin operations, with a message for the operator. */
export class KeyringError extends InvalidOptionsError {}

interface LoadedKey {
  stored: StoredKey;
  jws: JwsKey | undefined;
}

export function createKeyring(options: KeyringOptions): Keyring {
  const now = options.now ?? Date.now;
  const hmacAlgorithm = options.hmacAlgorithm ?? "HS256";
  const algorithm = options.algorithm ?? DEFAULT_KEY_ALGORITHM;
  if (isHmacAlgorithm(algorithm)) {
    throw new KeyringError(
      `Rotation adds asymmetric keys (ES256, EdDSA, RS256); the HMAC key is SECRET_KEY itself, got ${algorithm}`,
    );
  }
  const jwksMaxAgeSeconds = options.jwksMaxAgeSeconds ?? DEFAULT_JWKS_MAX_AGE_SECONDS;
  // Published for one JWKS cache lifetime plus a margin (a minute, or one more lifetime when that is
  // shorter) before it signs: every verifier that cached the JWKS has fetched it again by then.
  const publishLeadMs = (jwksMaxAgeSeconds + Math.min(60, jwksMaxAgeSeconds)) * 1000;
  const retainMs = (options.tokenLifetimeSeconds + (options.clockToleranceSeconds ?? 0) + 60) * 1000;
  const hmacKey = hmacJwsKey(hmacAlgorithm, options.secret);
  const hmacKid = jwkThumbprint({ kty: "oct", k: Buffer.from(options.secret).toString("base64url") });
  const warn = options.onWarning ?? (() => {});

  let loaded: LoadedKey[] = [];
  let view: { keySet: KeySet; jwks: { keys: PublicJwk[]; etag: string }; validUntil: number } | undefined;
  let stopWatching: (() => Promise<void>) | undefined;
  let timers: NodeJS.Timeout[] = [];

  function load(key: StoredKey): LoadedKey {
    if (isHmacAlgorithm(key.alg)) {
      if (key.kid !== hmacKid || key.alg !== hmacAlgorithm) {
        warn(`Key ${key.kid} (${key.alg}) is an HMAC key of another SECRET_KEY or algorithm; it cannot be used`);
        return { stored: key, jws: undefined };
      }
      return { stored: key, jws: hmacKey };
    }
    if (key.publicJwk === null) return { stored: key, jws: undefined };
    let privatePem: string | undefined;
    if (key.sealedPrivateKey !== null && options.encryption !== undefined) {
      try {
        privatePem = options.encryption.open(key.sealedPrivateKey, key.kid);
      } catch (error) {
        warn((error as Error).message);
      }
    }
    return { stored: key, jws: jwsKeyOf(key.alg, key.publicJwk, privatePem) };
  }

  function build(at: number) {
    const { states, active, nextChangeAt } = keyStates(
      loaded.map((k) => k.stored),
      at,
      retainMs,
    );
    const byHeader = new Map<string, JwsKey>();
    const byKid = new Map<string, JwsKey>();
    const published: PublicJwk[] = [];
    let unkeyed: JwsKey | undefined;
    let signer: KeySet["signer"] | undefined;
    for (const { stored, jws } of loaded) {
      const state = states.get(stored.kid)?.state;
      if (jws === undefined || state === undefined || !VERIFYING_STATES.has(state)) continue;
      // The HMAC key signs kid-less, as the original: services that verify with SECRET_KEY see nothing new.
      const hmac = isHmacAlgorithm(stored.alg);
      const header = tokenHeader(stored.alg, hmac ? undefined : stored.kid);
      byHeader.set(header, jws);
      if (hmac) {
        unkeyed = jws;
      } else {
        byKid.set(stored.kid, jws);
        if (stored.publicJwk !== null) published.push(stored.publicJwk);
      }
      if (stored === active && jws.sign !== undefined) signer = { kid: stored.kid, header, key: jws };
    }
    if (signer === undefined) {
      throw new KeyringError(
        active === undefined
          ? "The keyring has no active key"
          : `The active key ${active.kid} (${active.alg}) cannot sign here: its private key does not open with this KEY_ENCRYPTION_KEY, or it is the HMAC key of another SECRET_KEY`,
      );
    }
    const keySet: KeySet = {
      signer,
      keyForOwnHeader: (segment) => byHeader.get(segment),
      keyForKid: (kid) => byKid.get(kid),
      unkeyed,
    };
    // The keys are named by their thumbprints, so the list of kids identifies the document.
    const etag = `"${createHash("sha256")
      .update(published.map((k) => k.kid).join(","))
      .digest("base64url")
      .slice(0, 22)}"`;
    return { keySet, jwks: { keys: published, etag }, validUntil: nextChangeAt };
  }

  function currentView() {
    const at = now();
    if (view === undefined || at >= view.validUntil) view = build(at);
    return view;
  }

  async function reload(): Promise<void> {
    const stored = await options.store.listKeys();
    const known = new Map(loaded.map((k) => [k.stored.kid, k]));
    const next = stored.map((key) => {
      const same = known.get(key.kid);
      // A key's material never changes; only its revocation does. Keep what is already imported.
      return same !== undefined ? { ...same, stored: key } : load(key);
    });
    const previous = loaded;
    loaded = next;
    if (loaded.length === 0) {
      view = undefined;
      return;
    }
    try {
      view = build(now());
    } catch (error) {
      loaded = previous;
      throw error;
    }
  }

  function info(key: StoredKey, at = now()): KeyInfo {
    const status = keyStates(
      loaded.map((k) => k.stored),
      at,
      retainMs,
    ).states.get(key.kid) ?? { state: "retired" as const, verifiesUntil: null };
    const { kid, alg, generation, createdAt, activatesAt, revokedAt } = key;
    return {
      kid,
      alg,
      state: status.state,
      generation,
      createdAt,
      activatesAt,
      revokedAt,
      verifiesUntil: status.verifiesUntil,
    };
  }

  function newAsymmetricKey(alg: AsymmetricAlgorithm, generation: number, activatesAt: number): StoredKey {
    if (options.encryption === undefined) {
      throw new KeyringError("A key-encryption key (KEY_ENCRYPTION_KEY) is required to store asymmetric keys");
    }
    const generated = generateSigningKey(alg);
    return {
      kid: generated.kid,
      alg,
      generation,
      createdAt: new Date(now()),
      activatesAt: new Date(activatesAt),
      revokedAt: null,
      publicJwk: generated.publicJwk,
      sealedPrivateKey: options.encryption.seal(generated.privatePem, generated.kid),
    };
  }

  /** Inserts the key `make` builds for the next free generation, retrying when another instance took it. */
  async function add(make: (generation: number) => StoredKey): Promise<StoredKey> {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const generation = (loaded.at(-1)?.stored.generation ?? 0) + 1;
      const key = make(generation);
      if (await options.store.insertKey(key)) {
        await reload();
        return key;
      }
      await reload();
    }
    throw new KeyringError("Could not add a key: other instances kept adding keys at the same moment");
  }

  async function ensureFirstKey(): Promise<void> {
    if (loaded.length > 0) return;
    const initial = options.initialAlgorithm ?? algorithm;
    await add((generation) =>
      isHmacAlgorithm(initial)
        ? {
            kid: hmacKid,
            alg: hmacAlgorithm,
            generation,
            createdAt: new Date(now()),
            // Active at once: nothing has cached a JWKS of an empty keyring.
            activatesAt: new Date(now()),
            revokedAt: null,
            publicJwk: null,
            sealedPrivateKey: null,
          }
        : newAsymmetricKey(initial, generation, now()),
    );
  }

  async function rotate(rotateOptions: { algorithm?: AsymmetricAlgorithm } = {}): Promise<KeyInfo> {
    const alg = rotateOptions.algorithm ?? algorithm;
    if (isHmacAlgorithm(alg)) throw new KeyringError(`Rotation adds asymmetric keys; got ${alg}`);
    await reload();
    await ensureFirstKey();
    const key = await add((generation) => newAsymmetricKey(alg, generation, now() + publishLeadMs));
    return info(key);
  }

  async function rotateWhenDue(): Promise<void> {
    const every = options.rotateEverySeconds;
    if (every === undefined) return;
    await reload();
    const at = now();
    const { states, active } = keyStates(
      loaded.map((k) => k.stored),
      at,
      retainMs,
    );
    const pending = [...states.values()].some((s) => s.state === "next");
    if (active !== undefined && !pending && active.activatesAt.getTime() + every * 1000 - publishLeadMs <= at) {
      await rotate();
    }
  }

  return {
    jwksMaxAgeSeconds,
    async start() {
      await reload();
      await ensureFirstKey();
      stopWatching = await options.store.watchKeys?.(() => {
        reload().catch((error: Error) => warn(`Reading the keys after a change failed: ${error.message}`));
      });
      const every = (options.reloadIntervalSeconds ?? DEFAULT_KEY_RELOAD_INTERVAL_SECONDS) * 1000;
      const tick = () =>
        (options.rotateEverySeconds !== undefined ? rotateWhenDue() : reload()).catch((error: Error) =>
          warn(`Reading the keys failed (the last ones read stay in use): ${error.message}`),
        );
      timers = [setInterval(tick, every)];
      for (const timer of timers) timer.unref();
    },
    current: () => currentView().keySet,
    jwks: () => currentView().jwks,
    async list() {
      await reload();
      return loaded.map((k) => info(k.stored));
    },
    rotate,
    async revoke(kid) {
      await reload();
      const target = loaded.find((k) => k.stored.kid === kid);
      if (target === undefined) throw new KeyringError(`No key has the kid ${kid}`);
      let replacement: StoredKey | null = null;
      if (info(target.stored).state === "active") {
        // Sign with a new key at once: verifiers that cached the JWKS fetch it on its first unknown kid.
        replacement = await add((generation) => newAsymmetricKey(algorithm, generation, now()));
      }
      await options.store.revokeKey(kid, new Date(now()));
      await reload();
      // Described after the revocation, so both show their states as of now.
      const described = (key: StoredKey) => info(loaded.find((k) => k.stored.kid === key.kid)?.stored ?? key);
      return { revoked: described(target.stored), replacement: replacement && described(replacement) };
    },
    reload,
    async close() {
      for (const timer of timers) clearInterval(timer);
      timers = [];
      await stopWatching?.();
      stopWatching = undefined;
    },
  };
}
