import { performance } from "node:perf_hooks";
import { revocationKey, revocationRefuses } from "./revocation-rules.js";
import type { RevocableClaims, Revocation, RevocationWatch, SessionStore } from "./store.js";

/** Default: a view of the revocation feed older than this is not trusted; checks read the store. */
export const DEFAULT_MAX_STALENESS_MS = 4000;
/** Default interval of the feed reads (catch-up and proof of freshness), listener or not. */
export const DEFAULT_POLL_INTERVAL_MS = 1000;
/**
 * Each read starts this long before the previous one did (by the store's clock), so a revocation
 * whose transaction committed after a read but started before it is still seen by the next.
 */
const READ_OVERLAP_MS = 30_000;

const strength = (revocation: Revocation) =>
  revocation.kind === "user" ? revocation.notBefore.getTime() : revocation.expiresAt.getTime();

/** Options of {@link createRevocationCache}. */
export interface RevocationCacheOptions {
  store: SessionStore;
  maxStalenessMs?: number;
  pollIntervalMs?: number;
  /** Told about failed reads and listener changes (once per change, not per retry). */
  onEvent?: (event: { type: "read_failed"; error: unknown } | { type: "listening"; listening: boolean }) => void;
  /** The monotonic clock in ms (tests). Default `performance.now`. */
  monotonic?: () => number;
}

/** What {@link RevocationCache.check} knows: refused, allowed, or too stale to say (ask the store). */
export type RevocationVerdict = "revoked" | "allowed" | "stale";

/** An in-process copy of the revocation feed; see {@link createRevocationCache}. */
export interface RevocationCache {
  /** Reads the whole feed once and starts listening and polling. Rejects if the first read fails. */
  start(): Promise<void>;
  check(claims: RevocableClaims): RevocationVerdict;
  /** Applies revocations this process wrote, at once. */
  add(revocations: readonly Revocation[]): void;
  /** True while the store's listener (if it has one) is connected. */
  readonly listening: boolean;
  /** How many revocations it holds. */
  readonly size: number;
  close(): Promise<void>;
}

/**
 * Keeps every live revocation in memory, so the `session` access-token checks cost a few map
 * lookups. Fresh within milliseconds through the store's listener (PostgreSQL `LISTEN/NOTIFY`)
 * when it has one, and within `pollIntervalMs` through reads of the feed either way. Each
 * successful read proves the view current as of its start; when no read has succeeded for
 * `maxStalenessMs` (database or network down, a listener silently dead), `check` answers `stale`
 * and the caller reads the store per request instead. So a revocation recorded anywhere is
 * enforced here within `maxStalenessMs` plus one read, or the check fails closed.
 */
export function createRevocationCache(options: RevocationCacheOptions): RevocationCache {
  const { store } = options;
  const maxStalenessMs = options.maxStalenessMs ?? DEFAULT_MAX_STALENESS_MS;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const monotonic = options.monotonic ?? (() => performance.now());
  const entries = new Map<string, Revocation>();
  let since: Date | null = null;
  let freshAsOf = Number.NEGATIVE_INFINITY;
  let listening = false;
  let watch: RevocationWatch | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reading: Promise<void> | undefined;
  let readAgain = false;
  let failing = false;
  let closed = false;

  // Reads overlap, so an older revocation of a user may arrive after a newer one: keep the stronger.
  const add = (revocations: readonly Revocation[]) => {
    for (const revocation of revocations) {
      const key = revocationKey(revocation);
      const held = entries.get(key);
      if (held === undefined || strength(revocation) >= strength(held)) entries.set(key, revocation);
    }
  };

  const prune = (now: number) => {
    for (const [key, revocation] of entries) if (revocation.expiresAt.getTime() <= now) entries.delete(key);
  };

  async function readOnce(): Promise<void> {
    const startedAt = monotonic();
    const page = await store.readRevocations(since);
    add(page.revocations);
    since = new Date(page.readAt.getTime() - READ_OVERLAP_MS);
    freshAsOf = Math.max(freshAsOf, startedAt);
    prune(Date.now());
  }

  /** One read at a time; a request for another while one runs makes one more after it. */
  function read(): Promise<void> {
    if (reading !== undefined) {
      readAgain = true;
      return reading;
    }
    reading = (async () => {
      do {
        readAgain = false;
        try {
          await readOnce();
          failing = false;
        } catch (error) {
          if (!failing) options.onEvent?.({ type: "read_failed", error });
          failing = true;
          return;
        }
      } while (readAgain && !closed);
    })().finally(() => {
      reading = undefined;
    });
    return reading;
  }

  return {
    async start() {
      await readOnce();
      if (store.watchRevocations !== undefined) {
        try {
          watch = await store.watchRevocations(
            () => void read(),
            (up) => {
              listening = up;
              options.onEvent?.({ type: "listening", listening: up });
              if (up) void read();
            },
          );
        } catch (error) {
          options.onEvent?.({ type: "read_failed", error });
        }
      }
      timer = setInterval(() => void read(), pollIntervalMs);
      timer.unref();
    },

    check(claims) {
      if (monotonic() - freshAsOf > maxStalenessMs) return "stale";
      const bySession = claims.sid === undefined ? undefined : entries.get(`s:${claims.sid}`);
      if (bySession !== undefined && revocationRefuses(bySession, claims)) return "revoked";
      const byToken = claims.jti === undefined ? undefined : entries.get(`t:${claims.jti}`);
      if (byToken !== undefined && revocationRefuses(byToken, claims)) return "revoked";
      if (claims.sid === undefined) {
        const byUser = entries.get(`u:${claims.sub}`);
        if (byUser !== undefined && revocationRefuses(byUser, claims)) return "revoked";
      }
      return "allowed";
    },

    add,

    get listening() {
      return listening;
    },

    get size() {
      return entries.size;
    },

    async close() {
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await watch?.close();
      await reading;
    },
  };
}
