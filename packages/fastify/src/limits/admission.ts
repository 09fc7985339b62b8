import { availableParallelism } from "node:os";
import type { PasswordHasher } from "@latchkey/core";
import { OverloadedError } from "../errors.js";

/**
 * The size of libuv's thread pool, where bcrypt, file reads, DNS lookups and other crypto run:
 * read from `UV_THREADPOOL_SIZE` the way libuv reads it (default 4; unparsable or 0 means 1; at
 * most 1024).
 */
export function libuvThreadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UV_THREADPOOL_SIZE;
  if (raw === undefined) return 4;
  const threads = Number.parseInt(raw, 10);
  return Math.min(1024, Math.max(1, Number.isNaN(threads) ? 1 : threads));
}

/**
 * Default number of bcrypt operations that run at once: one per core, since bcrypt is CPU-bound
 * and more only adds latency, and at most one less than libuv's thread pool, so file reads and
 * DNS lookups never wait behind a login flood. The event loop keeps answering through the OS
 * scheduler: on 2 cores (apps/bench/RESULTS.md) two at once gave /token 0.97-0.98 of raw
 * bcrypt's throughput with a p99 under 15 ms for token-protected routes during the flood, where
 * one at once (a core kept free) halved logins for a p99 of 6-10 ms.
 */
export function defaultMaxConcurrentHashes(
  cores: number = availableParallelism(),
  threadPoolSize: number = libuvThreadPoolSize(),
): number {
  return Math.max(1, Math.min(cores, threadPoolSize - 1));
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
