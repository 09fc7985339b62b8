import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateSigningKey } from "../keys/key-material.js";
import type { KeyStore, StoredKey } from "../keys/store.js";

/** A fresh, empty key store for one test and how to dispose of it. */
export interface KeyStoreFixture {
  store: KeyStore;
  cleanup?: () => Promise<void> | void;
}

function storedKey(generation: number, overrides: Partial<StoredKey> = {}): StoredKey {
  const generated = generateSigningKey("ES256");
  return {
    kid: generated.kid,
    alg: "ES256",
    generation,
    createdAt: new Date("2026-03-01T00:00:00.000Z"),
    activatesAt: new Date("2026-03-01T00:06:00.000Z"),
    revokedAt: null,
    publicJwk: generated.publicJwk,
    sealedPrivateKey: "v1.sealed-for-the-test.x",
    ...overrides,
  };
}

/** What every {@link KeyStore} must do; run it on yours with a factory of empty stores. */
export function describeKeyStoreContract(name: string, makeFixture: () => Promise<KeyStoreFixture>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let fixture: KeyStoreFixture;
    beforeEach(async () => {
      fixture = await makeFixture();
    });
    afterEach(async () => {
      await fixture.cleanup?.();
    });

    it("keeps every field of a key exactly and lists keys in generation order", async () => {
      const second = storedKey(2);
      const first = storedKey(1, { alg: "HS256", publicJwk: null, sealedPrivateKey: null });
      expect(await fixture.store.insertKey(second)).toBe(true);
      expect(await fixture.store.insertKey(first)).toBe(true);
      expect(await fixture.store.listKeys()).toEqual([first, second]);
    });

    it("refuses a second key for a generation another instance took, changing nothing", async () => {
      const winner = storedKey(1);
      expect(await fixture.store.insertKey(winner)).toBe(true);
      expect(await fixture.store.insertKey(storedKey(1))).toBe(false);
      expect(await fixture.store.listKeys()).toEqual([winner]);
    });

    it("lets only one of many concurrent inserts of one generation win", async () => {
      const results = await Promise.all(Array.from({ length: 10 }, () => fixture.store.insertKey(storedKey(7))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await fixture.store.listKeys()).toHaveLength(1);
    });

    it("revokes a key once: a second revocation keeps the first time", async () => {
      const key = storedKey(1);
      await fixture.store.insertKey(key);
      const first = new Date("2026-03-02T00:00:00.000Z");
      expect(await fixture.store.revokeKey(key.kid, first)).toBe(true);
      expect(await fixture.store.revokeKey(key.kid, new Date("2026-03-03T00:00:00.000Z"))).toBe(true);
      expect((await fixture.store.listKeys())[0]?.revokedAt).toEqual(first);
      expect(await fixture.store.revokeKey("no-such-kid", first)).toBe(false);
    });

    it("announces changes to watchers, when it can watch", async () => {
      if (fixture.store.watchKeys === undefined) return;
      let calls = 0;
      const stop = await fixture.store.watchKeys(() => {
        calls += 1;
      });
      try {
        await fixture.store.insertKey(storedKey(1));
        await expect.poll(() => calls, { timeout: 5000 }).toBeGreaterThan(0);
      } finally {
        await stop();
      }
    });
  });
}
