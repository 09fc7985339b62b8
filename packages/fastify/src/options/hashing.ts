import { createBcryptHasher, DEFAULT_BCRYPT_COST, type PasswordHasher } from "@latchkey/core";
import {
  type AdmissionHasher,
  createAdmissionHasher,
  defaultMaxConcurrentHashes,
  QUEUED_HASHES_PER_SLOT,
} from "../limits/admission.js";
import { fail, hasMethods, isPositiveInteger, rethrowWithPrefix } from "./checks.js";

const HASHER_METHODS = ["hash", "verify", "needsRehash"] as const;

/** What the hashing options say: either a custom hasher or a bcrypt cost. */
export interface HashingOptions {
  hasher?: PasswordHasher | undefined;
  bcryptCost?: number | undefined;
  maxConcurrentHashes?: number | undefined;
  maxQueuedHashes?: number | undefined;
}

export function resolveHasher(options: HashingOptions): PasswordHasher {
  if (options.hasher !== undefined) {
    if (options.bcryptCost !== undefined) fail("give either `hasher` or `bcryptCost`, not both");
    if (!hasMethods(options.hasher, HASHER_METHODS)) {
      fail("option `hasher` must implement PasswordHasher (hash, verify, needsRehash)");
    }
    return options.hasher;
  }
  try {
    return createBcryptHasher({ cost: options.bcryptCost ?? DEFAULT_BCRYPT_COST });
  } catch (error) {
    return rethrowWithPrefix(error, "bcryptCost");
  }
}

export function resolveAdmission(options: HashingOptions, inner: PasswordHasher): AdmissionHasher {
  const maxConcurrent = options.maxConcurrentHashes ?? defaultMaxConcurrentHashes();
  if (!isPositiveInteger(maxConcurrent)) {
    fail(`option \`maxConcurrentHashes\` must be a positive integer, got ${String(maxConcurrent)}`);
  }
  const maxQueued = options.maxQueuedHashes ?? maxConcurrent * QUEUED_HASHES_PER_SLOT;
  if (!(maxQueued === 0 || isPositiveInteger(maxQueued))) {
    fail(`option \`maxQueuedHashes\` must be a whole number (0 or more), got ${String(maxQueued)}`);
  }
  return createAdmissionHasher(inner, maxConcurrent, maxQueued);
}
