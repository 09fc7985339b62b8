import { describe, expect, it, vi } from "vitest";
import { createTokenService } from "./tokens.js";
import { ADMIT_ONE_IN, createVerifiedTokenCache, deepFreeze } from "./verified-token-cache.js";

const claims = (sub: string) => ({ sub, exp: 2_000_000_000 });

describe("createVerifiedTokenCache", () => {
  it("answers until the expiry, inclusive, and forgets the entry after it", () => {
    const cache = createVerifiedTokenCache(10);
    cache.set("a", claims("alice"), 1000);
    expect(cache.get("a", 1000)?.sub).toBe("alice");
    expect(cache.get("a", 1001)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("drops the least recently used entry when full, for one new token in ADMIT_ONE_IN", () => {
    const cache = createVerifiedTokenCache(2);
    cache.set("a", claims("alice"), 1000);
    cache.set("b", claims("bob"), 1000);
    expect(cache.get("a", 0)?.sub).toBe("alice"); // a is now more recent than b
    // A stream of new tokens is mostly turned away; the ADMIT_ONE_IN-th gets in.
    for (let i = 1; i < ADMIT_ONE_IN; i += 1) cache.set(`x${i}`, claims("stranger"), 1000);
    expect(cache.get("b", 0)?.sub).toBe("bob");
    expect(cache.get("a", 0)?.sub).toBe("alice");
    cache.set("c", claims("carol"), 1000);
    expect(cache.size).toBe(2);
    expect(cache.get("b", 0)).toBeUndefined();
    expect(cache.get("a", 0)?.sub).toBe("alice");
    expect(cache.get("c", 0)?.sub).toBe("carol");
    // Re-verifying a token already held is no new admission.
    cache.set("c", claims("carol"), 2000);
    expect(cache.get("c", 1500)?.sub).toBe("carol");
  });

  it("keys by the exact token text", () => {
    const cache = createVerifiedTokenCache(10);
    cache.set("a.b.c", claims("alice"), 1000);
    expect(cache.get("a.b.C", 0)).toBeUndefined();
    expect(cache.get("a.b.c ", 0)).toBeUndefined();
  });
});

describe("deepFreeze", () => {
  it("freezes nested objects and arrays", () => {
    const value = deepFreeze({ sub: "alice", aud: ["x"], nested: { role: "admin" } });
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.aud)).toBe(true);
    expect(Object.isFrozen(value.nested)).toBe(true);
  });
});

// Counts the signature checks of the service's keys, to see which verifications the cache answered.
const signatureChecks = vi.hoisted(() => ({ count: 0 }));
vi.mock("./jws.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("./jws.js")>();
  return {
    ...original,
    hmacJwsKey: ((...args: Parameters<typeof original.hmacJwsKey>) => {
      const key = original.hmacJwsKey(...args);
      return {
        ...key,
        verify(signingInput: string, signature: string) {
          signatureChecks.count += 1;
          return key.verify(signingInput, signature);
        },
      };
    }) as typeof original.hmacJwsKey,
  };
});

describe("the token service's cache", () => {
  it("checks a signature once per token while it is cached, and every time when turned off", async () => {
    const secret = "k".repeat(32);
    for (const [verifiedTokenCacheSize, expected] of [
      [1000, 2],
      // Full with alice, the cache turns bob away instead of evicting her: alice is checked once.
      [1, 4],
      [0, 6],
    ] as const) {
      const tokens = createTokenService({ secret, verifiedTokenCacheSize });
      const [alice, bob] = await Promise.all([
        tokens.createAccessToken({ sub: "alice" }),
        tokens.createAccessToken({ sub: "bob" }),
      ]);
      signatureChecks.count = 0;
      // Alternating two tokens through a cache of one entry.
      for (const token of [alice, bob, alice, bob, alice, bob]) await tokens.verifyAccessToken(token);
      expect(signatureChecks.count, `cache size ${verifiedTokenCacheSize}`).toBe(expected);
    }
  });
});
