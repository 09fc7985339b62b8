import { createHash } from "node:crypto";
import { isIP } from "node:net";
import fastifyRateLimit, { type FastifyRateLimitStore } from "@fastify/rate-limit";
import { normalizeLoginName, type UsernameUniqueness, usernameKey } from "@latchkey/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Address6 } from "ip-address";
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

/** Bits of an IPv6 address that name one client: a /64 is what one site or one phone is handed. */
const IPV6_CLIENT_PREFIX = 64;

/**
 * The group an address belongs to for per-address limits: IPv4 as it is (also when written
 * IPv4-mapped, `::ffff:10.0.0.1`), IPv6 cut to its /64, since anyone holding one IPv6 address
 * holds the 2^64 around it; `unknown` for anything that is not an IP address. Fixed in size.
 */
export function addressGroup(address: string | undefined): string {
  const family = address === undefined ? 0 : isIP(address);
  if (family === 4) return address as string;
  if (family === 6) {
    const parsed = new Address6(address as string);
    if (parsed.is4()) return parsed.to4().correctForm();
    return new Address6(`${parsed.correctForm()}/${IPV6_CLIENT_PREFIX}`).startAddress().correctForm();
  }
  // No address at all (a unix socket, a test's inject without one): one shared bucket.
  return "unknown";
}

/**
 * The per-address counter key of a client: the {@link addressGroup} of `request.ip` (the client
 * as far as the host's `trustProxy` says) when that is an IP address, else of the socket's peer.
 * A value forwarded by a proxy is never used as it is, so a header cannot mint a fresh key per
 * request or make a key of any size.
 */
export function clientAddressKey(request: Pick<FastifyRequest, "ip" | "socket">): string {
  const forwarded = request.ip;
  return addressGroup(isIP(forwarded) !== 0 ? forwarded : request.socket?.remoteAddress);
}

/**
 * Registers `@fastify/rate-limit` in the routes' scope, counting in Latchkey's counters, with
 * refusals as `RATE_LIMITED` errors so they leave through the plugin's error table. The key is
 * {@link clientAddressKey}.
 */
export async function registerRateLimit(scope: FastifyInstance, limits: ResolvedRateLimits): Promise<void> {
  await scope.register(fastifyRateLimit, {
    global: false,
    keyGenerator: clientAddressKey,
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
 * The counter key of a login name: the name as login reads it (trimmed, NFC) turned into its
 * uniqueness key, so every spelling that reaches one account shares one counter, then hashed, so
 * keys have a fixed size whatever is sent and names are not written to Redis in clear.
 */
export function loginNameCounterKey(username: string, uniqueness: UsernameUniqueness): string {
  const name = typeof username === "string" ? usernameKey(normalizeLoginName(username), uniqueness) : "";
  return `user:${createHash("sha256").update(name).digest("base64url")}`;
}

/**
 * Failed logins per username. `takeAttempt` runs before any bcrypt work and counts the attempt
 * in the same atomic step as it checks the limit, so guesses sent at once (to one instance or,
 * through Redis, to several) cannot all pass the check: at most `max` reach bcrypt per window.
 * A success clears the count; an attempt that ended without a verdict (the store or the hasher
 * refused to work) is given back; a failure stays counted.
 */
export function createLoginFailureGuard(limits: ResolvedRateLimits, uniqueness: UsernameUniqueness) {
  const rule = limits.loginFailuresPerUsername;
  const { counters } = limits;
  const keyOf = (username: string) => loginNameCounterKey(username, uniqueness);
  async function take(username: string): Promise<void> {
    if (rule === undefined) return;
    const { taken, resetInMs } = await counters.take(keyOf(username), rule.max, rule.timeWindowSeconds * 1000);
    if (!taken) throw new RateLimitedError("failed logins for this username", resetInMs / 1000);
  }
  return {
    /** Counts an attempt for `username`; refuses it with `RATE_LIMITED` when the budget is spent. */
    take,
    /** {@link take} for the form's `username`, as a pre-handler. */
    async takeAttempt(request: FastifyRequest): Promise<void> {
      const username = (request.body as { username?: unknown } | undefined)?.username;
      if (typeof username === "string") await take(username);
    },
    async giveBack(username: string): Promise<void> {
      if (rule !== undefined) await counters.giveBack(keyOf(username));
    },
    async clear(username: string): Promise<void> {
      if (rule !== undefined) await counters.reset(keyOf(username));
    },
  };
}

/** What {@link createLoginFailureGuard} returns. */
export type LoginFailureGuard = ReturnType<typeof createLoginFailureGuard>;
