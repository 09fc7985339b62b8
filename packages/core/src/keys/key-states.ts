import type { StoredKey } from "./store.js";

/**
 * next: published, not signing yet · active: the one that signs · retiring: superseded, published and
 * verifying until the last token it signed has expired · retired: gone · revoked: refused at once.
 */
export type KeyState = "next" | "active" | "retiring" | "retired" | "revoked";

export interface KeyStatus {
  state: KeyState;
  /** When a retiring key stops verifying (its successor's activation + the longest token lifetime). */
  verifiesUntil: Date | null;
}

/**
 * The state of every key at `now` (ms), from the stored times alone: the active key is the latest
 * generation that has activated and is not revoked; an earlier one is retiring for `retainMs` after
 * a later one activated. `nextChangeAt` is the first moment a state changes without any write, so a
 * caller can keep the answer until then.
 */
export function keyStates(
  keys: readonly StoredKey[],
  now: number,
  retainMs: number,
): { states: Map<string, KeyStatus>; active: StoredKey | undefined; nextChangeAt: number } {
  const isRevoked = (key: StoredKey) => key.revokedAt !== null && key.revokedAt.getTime() <= now;
  const live = keys.filter((key) => !isRevoked(key)).sort((a, b) => a.generation - b.generation);
  const activated = live.filter((key) => key.activatesAt.getTime() <= now);
  const active = activated.at(-1);
  const states = new Map<string, KeyStatus>();
  let nextChangeAt = Number.POSITIVE_INFINITY;
  const changeAt = (time: number) => {
    if (time > now) nextChangeAt = Math.min(nextChangeAt, time);
  };
  for (const key of keys) {
    if (key.revokedAt !== null) changeAt(key.revokedAt.getTime());
    if (isRevoked(key)) {
      states.set(key.kid, { state: "revoked", verifiesUntil: null });
      continue;
    }
    changeAt(key.activatesAt.getTime());
    if (key === active) {
      states.set(key.kid, { state: "active", verifiesUntil: null });
      continue;
    }
    const supersededAt = activated
      .filter((later) => later.generation > key.generation)
      .reduce((first, later) => Math.min(first, later.activatesAt.getTime()), Number.POSITIVE_INFINITY);
    if (supersededAt === Number.POSITIVE_INFINITY) {
      states.set(key.kid, { state: "next", verifiesUntil: null });
      continue;
    }
    const until = supersededAt + retainMs;
    changeAt(until);
    states.set(key.kid, { state: now < until ? "retiring" : "retired", verifiesUntil: new Date(until) });
  }
  return { states, active, nextChangeAt };
}

/** States whose keys verify tokens and are published (when public). */
export const VERIFYING_STATES: ReadonlySet<KeyState> = new Set(["next", "active", "retiring"]);
