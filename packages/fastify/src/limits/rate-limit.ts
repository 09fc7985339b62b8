import { createHash } from "node:crypto";
import fastifyRateLimit, { type FastifyRateLimitStore } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { RateLimitedError } from "../errors.js";
import type { ResolvedRateLimits } from "../options.js";
import type { CounterStore } from "./counters.js";

/** A limit: at most `max` in a window of `timeWindowSeconds`. */
export interface RateLimitRule {
  max: number;
  timeWindowSeconds: number;
}

/** `@fastify/rate-limit`'s store interface over Latchkey's counters (which degrade instead of failing). */
function rateLimitStoreOver(counters: CounterStore): new () => FastifyRateLimitStore {
  return class LatchkeyRateLimitStore implements FastifyRateLimitStore {
    incr(
      key: string,
      callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
      timeWindow: number,
    ) {
      counters.increment(`ip:${key}`, timeWindow).then(
        ({ count, resetInMs }) => callback(null, { current: count, ttl: resetInMs }),
        (error: Error) => callback(error),
      );
    }
    child(): FastifyRateLimitStore {
      // Routes are told apart by their `groupId`, which @fastify/rate-limit appends to the key.
      return this;
    }
  };
}

/**
 * Registers `@fastify/rate-limit` in the routes' scope, counting in Latchkey's counters, with
 * refusals as `RATE_LIMITED` errors so they leave through the plugin's error table. The key is
 * `request.ip`, which is the client only as far as the host's `trustProxy` says so.
 */
export async function registerRateLimit(scope: FastifyInstance, limits: ResolvedRateLimits): Promise<void> {
  await scope.register(fastifyRateLimit, {
    global: false,
    store: rateLimitStoreOver(limits.counters),
    errorResponseBuilder: (_request, context) =>
      new RateLimitedError("requests from this address", Math.ceil(context.ttl / 1000)),
  });
}

/** The `config.rateLimit` of a route limited by `rule`, or `undefined` when that limit is off. */
export function routeRateLimit(rule: RateLimitRule | undefined, groupId: string) {
  if (rule === undefined) return undefined;
  return { rateLimit: { max: rule.max, timeWindow: rule.timeWindowSeconds * 1000, groupId } };
}

/**
 * The counter key of a username: NFC-normalized (as the store does) and hashed, so every spelling
 * of one user shares a counter, keys have a fixed size whatever is sent, and usernames are not
 * written to Redis in clear.
 */
export function usernameKey(username: string): string {
  const name = typeof username === "string" ? username.normalize("NFC") : "";
  return `user:${createHash("sha256").update(name).digest("base64url")}`;
}

/**
 * Failed logins per username. `refuseIfLocked` runs before any bcrypt work, so guessing at a
 * locked username costs the server one counter read. Checking and counting are separate steps:
 * concurrent guesses may overshoot `max` by the number in flight, which the per-address limit
 * and the hashing queue bound.
 */
export function createLoginFailureGuard(limits: ResolvedRateLimits) {
  const rule = limits.loginFailuresPerUsername;
  const { counters } = limits;
  return {
    async refuseIfLocked(request: FastifyRequest): Promise<void> {
      if (rule === undefined) return;
      const username = (request.body as { username?: unknown } | undefined)?.username;
      if (typeof username !== "string") return;
      const { count, resetInMs } = await counters.peek(usernameKey(username));
      if (count >= rule.max) throw new RateLimitedError("failed logins for this username", resetInMs / 1000);
    },
    async recordFailure(username: string): Promise<void> {
      if (rule !== undefined) await counters.increment(usernameKey(username), rule.timeWindowSeconds * 1000);
    },
    async recordSuccess(username: string): Promise<void> {
      if (rule !== undefined) await counters.reset(usernameKey(username));
    },
  };
}

/** What {@link createLoginFailureGuard} returns. */
export type LoginFailureGuard = ReturnType<typeof createLoginFailureGuard>;
