import { availableParallelism } from "node:os";
import type { PasswordHasher } from "@latchkey/core";
import { OverloadedError } from "../errors.js";

/**
 * Default number of bcrypt operations that run at once: one per core but one, so a login flood
 * always leaves a core to the event loop, which parses requests and verifies tokens.
 */
export function defaultMaxConcurrentHashes(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Default number of bcrypt operations that may wait for a slot: 8 per slot. */
export const QUEUED_HASHES_PER_SLOT = 8;

/** What the admission gate is doing now; `app.latchkey.admission` reads it. */
export interface AdmissionState {
  /** Hash or verify operations running now. */
  readonly active: number;
  /** Operations waiting for a slot. */
  readonly queued: number;
  readonly maxConcurrent: number;
  readonly maxQueued: number;
  /** Operations refused with `OVERLOADED` since start. */
  readonly rejected: number;
}

/** A {@link PasswordHasher} whose `hash` and `verify` pass an admission gate, and the gate's state. */
export interface AdmissionHasher extends PasswordHasher {
  readonly admission: AdmissionState;
}

/**
 * Wraps a hasher so that at most `maxConcurrent` hash/verify calls run at once and at most
 * `maxQueued` wait. A call beyond that is refused at once with `OVERLOADED` instead of waiting:
 * a queue without a bound turns a login flood into minutes of latency for everyone, and bcrypt's
 * thread pool has no bound of its own. `needsRehash` is cheap and never waits.
 *
 * @throws {OverloadedError} `OVERLOADED` (from `hash`/`verify`) when every slot and queue place is taken.
 */
export function createAdmissionHasher(
  inner: PasswordHasher,
  maxConcurrent: number,
  maxQueued: number,
): AdmissionHasher {
  const waiting: (() => void)[] = [];
  let active = 0;
  let rejected = 0;

  const acquire = async (): Promise<void> => {
    if (active < maxConcurrent) {
      active += 1;
      return;
    }
    if (waiting.length >= maxQueued) {
      rejected += 1;
      throw new OverloadedError();
    }
    // The releasing call hands its slot over, so `active` stays counted.
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active -= 1;
    else next();
  };
  const gated = async <T>(work: () => Promise<T>): Promise<T> => {
    await acquire();
    try {
      return await work();
    } finally {
      release();
    }
  };

  return {
    hash: (password) => gated(() => inner.hash(password)),
    verify: (password, hash) => gated(() => inner.verify(password, hash)),
    needsRehash: (hash) => inner.needsRehash(hash),
    maxPasswordBytes: inner.maxPasswordBytes,
    admission: {
      get active() {
        return active;
      },
      get queued() {
        return waiting.length;
      },
      maxConcurrent,
      maxQueued,
      get rejected() {
        return rejected;
      },
    },
  };
}
