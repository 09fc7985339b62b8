/** A counter's value and how long until its window ends. */
export interface Count {
  count: number;
  /** Milliseconds until the counter resets; 0 when there is no counter. */
  resetInMs: number;
}

/** What {@link CounterStore.take} did. */
export interface Taken extends Count {
  /** Whether one was taken (the count was below `max`); when not, nothing changed. */
  taken: boolean;
}

/**
 * Fixed-window counters keyed by string: what the rate limits and the per-username failure
 * count are built on. Implementations never reject: a limiter that fails must degrade, not
 * turn logins into 500s.
 */
export interface CounterStore {
  /** Adds one and returns the new count; the first increment starts a window of `windowMs`. */
  increment(key: string, windowMs: number): Promise<Count>;
  /**
   * Adds one only if the count is below `max`, in one atomic step, so that attempts sent at the
   * same moment cannot all pass a check made before any of them was counted.
   */
  take(key: string, max: number, windowMs: number): Promise<Taken>;
  /** Gives one back (an attempt that ended without a verdict); never below zero, window unchanged. */
  giveBack(key: string): Promise<void>;
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
  const open = (key: string, windowMs: number, now: number) => {
    let entry = live(key, now);
    if (entry === undefined) {
      if (windows.size >= capacity) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      entry = { count: 0, resetAt: now + windowMs };
      windows.set(key, entry);
    }
    return entry;
  };
  return {
    async increment(key, windowMs) {
      const now = Date.now();
      const entry = open(key, windowMs, now);
      entry.count += 1;
      return { count: entry.count, resetInMs: entry.resetAt - now };
    },
    // No await between the check and the count: atomic within the process.
    async take(key, max, windowMs) {
      const now = Date.now();
      const current = live(key, now);
      if (current !== undefined && current.count >= max) {
        return { taken: false, count: current.count, resetInMs: current.resetAt - now };
      }
      const entry = current ?? open(key, windowMs, now);
      entry.count += 1;
      return { taken: true, count: entry.count, resetInMs: entry.resetAt - now };
    },
    async giveBack(key) {
      const entry = live(key, Date.now());
      if (entry !== undefined && entry.count > 0) entry.count -= 1;
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
// The check and the count in one script: Redis runs scripts one at a time, so this is atomic across
// every instance. Returns {taken (0/1), count, ttl}.
const TAKE = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c >= tonumber(ARGV[2]) then
  local t = redis.call('PTTL', KEYS[1])
  if t < 0 then t = 0 end
  return {0, c, t}
end
c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end
return {1, c, t}`;
// DECR keeps the key's expiry; a key that has expired meanwhile is left alone.
const GIVE_BACK = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c > 0 then redis.call('DECR', KEYS[1]) end
return 1`;
const PING = "return 1";
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
  /** While Redis is out, how often to try it again in the background. Default 1000 ms. */
  probeIntervalMs?: number;
  /** Called when Redis stops answering (`error`) and when it answers again (`undefined`). */
  onAvailabilityChange?: (error: Error | undefined) => void;
}

function toCount(reply: unknown): Count {
  const [count, ttl] = Array.isArray(reply) ? reply : [];
  return { count: Number(count) || 0, resetInMs: Math.max(0, Number(ttl) || 0) };
}

function toTaken(reply: unknown): Taken {
  const [taken, count, ttl] = Array.isArray(reply) ? reply : [];
  return { taken: Number(taken) === 1, count: Number(count) || 0, resetInMs: Math.max(0, Number(ttl) || 0) };
}

const TIMED_OUT = Symbol("timed out");

/** Resolves with the promise's value, or with {@link TIMED_OUT} after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Counters shared by every instance through Redis. While Redis is out (client not `ready`, a
 * command failing, or one slower than `timeoutMs`) every call is answered at once by `fallback`,
 * this instance's memory: the limits keep holding per instance, so an outage neither locks every
 * user out (fail closed) nor lifts the limits (fail open). Counts made during the outage are not
 * carried over to Redis when it returns.
 *
 * A Redis that accepts connections but stops answering costs one `timeoutMs` wait, once: after
 * the first timeout no request waits on Redis again until a background probe (every
 * `probeIntervalMs`) gets an answer. A command that timed out may still run when Redis resumes;
 * if it reports that it counted, the count is given back, so an attempt counted in memory
 * is never counted in Redis as well.
 */
export function createRedisCounterStore(redis: RedisClientLike, options: RedisCounterStoreOptions): CounterStore {
  const { namespace, fallback, timeoutMs, onAvailabilityChange } = options;
  const probeIntervalMs = options.probeIntervalMs ?? 1000;
  let out = false;
  let probe: NodeJS.Timeout | undefined;

  const goOut = (error: Error) => {
    if (out) return;
    out = true;
    onAvailabilityChange?.(error);
    probe = setInterval(() => void tryAgain(), probeIntervalMs);
    probe.unref();
  };
  const tryAgain = async () => {
    if (redis.status !== "ready") return;
    const answer = await within(
      redis.eval(PING, 0).then(
        () => true,
        () => false,
      ),
      timeoutMs,
    );
    if (answer === true && out) {
      out = false;
      clearInterval(probe);
      onAvailabilityChange?.(undefined);
    }
  };

  /**
   * Runs `command` on Redis unless it is out, else (or on failure or timeout) `otherwise`.
   * `undo`, when given, reverses a command that timed out but completed later.
   */
  const run = async <T>(
    command: () => Promise<T>,
    otherwise: () => Promise<T>,
    undo?: (late: T) => Promise<unknown> | undefined,
  ): Promise<T> => {
    if (out) return otherwise();
    if (redis.status !== "ready") {
      goOut(new Error(`Redis connection is ${redis.status}`));
      return otherwise();
    }
    const pending = command();
    let result: T | typeof TIMED_OUT;
    try {
      result = await within(pending, timeoutMs);
    } catch (error) {
      goOut(error instanceof Error ? error : new Error(String(error)));
      return otherwise();
    }
    if (result !== TIMED_OUT) return result;
    goOut(new Error(`Redis did not answer within ${timeoutMs} ms`));
    if (undo !== undefined) {
      pending.then(
        (late) => undo(late)?.catch(() => {}),
        () => {},
      );
    }
    return otherwise();
  };

  const giveBackInRedis = (key: string) => redis.eval(GIVE_BACK, 1, namespace + key);
  return {
    increment: (key, windowMs) =>
      run(
        async () => toCount(await redis.eval(INCREMENT, 1, namespace + key, windowMs)),
        () => fallback.increment(key, windowMs),
        () => giveBackInRedis(key),
      ),
    take: (key, max, windowMs) =>
      run(
        async () => toTaken(await redis.eval(TAKE, 1, namespace + key, windowMs, max)),
        () => fallback.take(key, max, windowMs),
        (late) => (late.taken ? giveBackInRedis(key) : undefined),
      ),
    giveBack: (key) =>
      run(
        async () => void (await giveBackInRedis(key)),
        () => fallback.giveBack(key),
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
