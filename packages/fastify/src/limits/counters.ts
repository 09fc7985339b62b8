/** A counter's value and how long until its window ends. */
export interface Count {
  count: number;
  /** Milliseconds until the counter resets; 0 when there is no counter. */
  resetInMs: number;
}

/**
 * Fixed-window counters keyed by string: what the rate limits and the per-username failure
 * count are built on. Implementations never reject: a limiter that fails must degrade, not
 * turn logins into 500s.
 */
export interface CounterStore {
  /** Adds one and returns the new count; the first increment starts a window of `windowMs`. */
  increment(key: string, windowMs: number): Promise<Count>;
  /** The count without changing it. */
  peek(key: string): Promise<Count>;
  /** Forgets the key. */
  reset(key: string): Promise<void>;
}

/**
 * The subset of an `ioredis` client Latchkey uses (`new Redis(url)` fits). `status` is read
 * before every command, so a disconnected client is never waited on.
 */
export interface RedisClientLike {
  readonly status: string;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

/** Most keys an in-memory store holds; beyond it the oldest window is dropped first. */
export const MEMORY_COUNTER_CAPACITY = 100_000;

/**
 * Counters in this process's memory, bounded to `capacity` keys, so a flood of distinct usernames
 * or addresses costs bounded memory (dropping the oldest window errs on the side of letting one
 * more request through, never of locking someone out).
 */
export function createMemoryCounterStore(capacity = MEMORY_COUNTER_CAPACITY): CounterStore {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const live = (key: string, now: number) => {
    const entry = windows.get(key);
    if (entry === undefined) return undefined;
    if (entry.resetAt <= now) {
      windows.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    async increment(key, windowMs) {
      const now = Date.now();
      let entry = live(key, now);
      if (entry === undefined) {
        if (windows.size >= capacity) {
          const oldest = windows.keys().next().value;
          if (oldest !== undefined) windows.delete(oldest);
        }
        entry = { count: 0, resetAt: now + windowMs };
        windows.set(key, entry);
      }
      entry.count += 1;
      return { count: entry.count, resetInMs: entry.resetAt - now };
    },
    async peek(key) {
      const now = Date.now();
      const entry = live(key, now);
      return entry === undefined ? { count: 0, resetInMs: 0 } : { count: entry.count, resetInMs: entry.resetAt - now };
    },
    async reset(key) {
      windows.delete(key);
    },
  };
}

// INCR and PEXPIRE in one script, so a crash between them cannot leave a counter without expiry.
const INCREMENT = `local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end
return {c, t}`;
const PEEK = `local c = redis.call('GET', KEYS[1])
if not c then return {0, 0} end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then t = 0 end
return {tonumber(c), t}`;

/** Options of {@link createRedisCounterStore}. */
export interface RedisCounterStoreOptions {
  /** Prefix of every key. */
  namespace: string;
  /** Where counting goes while Redis is unreachable: this instance's own memory. */
  fallback: CounterStore;
  /** A command slower than this counts as an outage. */
  timeoutMs: number;
  /** Called when Redis stops answering (`error`) and when it answers again (`undefined`). */
  onAvailabilityChange?: (error: Error | undefined) => void;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function toCount(reply: unknown): Count {
  const [count, ttl] = Array.isArray(reply) ? reply : [];
  return { count: Number(count) || 0, resetInMs: Math.max(0, Number(ttl) || 0) };
}

/**
 * Counters shared by every instance through Redis. While Redis is down (client not `ready`, a
 * command failing or slower than `timeoutMs`) each call is answered by `fallback`, this
 * instance's memory: the limits keep holding per instance, so an outage neither locks every user
 * out (fail closed) nor lifts the limits (fail open). Counts made during the outage are not
 * carried over to Redis when it returns.
 */
export function createRedisCounterStore(redis: RedisClientLike, options: RedisCounterStoreOptions): CounterStore {
  const { namespace, fallback, timeoutMs, onAvailabilityChange } = options;
  let down = false;
  const run = async <T>(command: () => Promise<T>, otherwise: () => Promise<T>): Promise<T> => {
    try {
      if (redis.status !== "ready") throw new Error(`Redis connection is ${redis.status}`);
      const result = await withTimeout(command(), timeoutMs);
      if (down) {
        down = false;
        onAvailabilityChange?.(undefined);
      }
      return result;
    } catch (error) {
      if (!down) {
        down = true;
        onAvailabilityChange?.(error instanceof Error ? error : new Error(String(error)));
      }
      return otherwise();
    }
  };
  return {
    increment: (key, windowMs) =>
      run(
        async () => toCount(await redis.eval(INCREMENT, 1, namespace + key, windowMs)),
        () => fallback.increment(key, windowMs),
      ),
    peek: (key) =>
      run(
        async () => toCount(await redis.eval(PEEK, 1, namespace + key)),
        () => fallback.peek(key),
      ),
    reset: async (key) => {
      // Both: a failure counted in memory during an outage must be cleared by a later success too.
      await fallback.reset(key);
      await run(
        async () => void (await redis.del(namespace + key)),
        async () => undefined,
      );
    },
  };
}
