import { setTimeout as sleep } from "node:timers/promises";

/** Hash classes (algorithm and parameters) whose verification times are remembered, at most. */
const MAX_CLASSES = 64;
/** Weight of a new sample in a class's moving average. */
const SMOOTHING = 0.2;
/** The longest a failed login is held back, whatever a planted hash of absurd cost would ask. */
const MAX_PADDING_MS = 5000;

// Salts and digests are long runs of base64-ish characters; parameters are short. What remains
// once the long runs are cut away names the algorithm and its cost: "$2b$12$",
// "$argon2id$v=19$m=65536,t=3,p=4$$", "pbkdf2_sha256$600000$$".
const LONG_RUN = /[A-Za-z0-9./+=_-]{16,}/g;

/** The class of a stored hash: its algorithm and parameters, without salt or digest. */
export function hashClass(hash: string): string {
  return hash.slice(0, 200).replace(LONG_RUN, "");
}

/**
 * Makes a failed login take as long as the slowest verification this process has seen, so its
 * time tells nothing about whether the user exists or how their hash is stored.
 *
 * Without it, an unknown user costs a comparison against a dummy hash of the configured cost,
 * but a stored hash keeps the cost it was made with until its next login: after a `BCRYPT_COST`
 * change (and for every imported hash) a wrong password against a cost-10 user answers 4× faster,
 * against a cost-13 user 2× slower, than against a user who does not exist.
 *
 * Each verification's duration is averaged per hash class (the dummy hash has its own). A failure
 * is then held back, by a timer that uses no CPU, until the largest class average has passed
 * since its verification began. The slowest class needs to be met once before it counts; the hold
 * is capped at 5 s, so a planted hash of absurd cost cannot hold every failure for minutes.
 */
export interface FailureTimer {
  /** Records how long verifying against a hash of `hashClass` took, in ms. */
  record(hashClass: string, elapsedMs: number): void;
  /**
   * Resolves once `verifications` × the budget have passed since `startedAt` (a
   * `performance.now()` reading). The count depends on the typed password only (see
   * `passwordCandidates`), never on the user.
   */
  padFailure(startedAt: number, verifications: number): Promise<void>;
  /** The time a failure is padded to now, in ms. */
  readonly budgetMs: number;
}

export function createFailureTimer(): FailureTimer {
  const averages = new Map<string, number>();
  let budget = 0;
  const recompute = () => {
    budget = 0;
    for (const average of averages.values()) budget = Math.max(budget, average);
  };
  return {
    record(cls, elapsedMs) {
      const previous = averages.get(cls);
      // Re-inserted so the map's order is least recently seen first.
      averages.delete(cls);
      averages.set(cls, previous === undefined ? elapsedMs : previous + SMOOTHING * (elapsedMs - previous));
      if (averages.size > MAX_CLASSES) averages.delete(averages.keys().next().value as string);
      recompute();
    },
    async padFailure(startedAt, verifications) {
      const remaining = Math.min(budget * verifications, MAX_PADDING_MS) - (performance.now() - startedAt);
      if (remaining >= 1) await sleep(remaining);
    },
    get budgetMs() {
      return budget;
    },
  };
}
