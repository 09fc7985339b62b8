import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UserStore } from "../users/store.js";
import { usernameKey, usernameKeyScheme } from "../users/username-keys.js";

/** A fresh, empty store for one test, and how to dispose of it. */
export interface UserStoreFixture {
  store: UserStore;
  /** Called after the test, even when it failed. */
  cleanup?: () => Promise<void> | void;
}

/** Options of {@link describeUserStoreContract}. */
export interface UserStoreContractOptions {
  /** How many concurrent `create` calls race for one username. Default 50. */
  concurrentCreates?: number;
  /**
   * Whether the store keeps username keys (`findByUsernameKey`, `prepareUsernameKeys`), which the
   * `case-insensitive` and `confusable` uniqueness policies need. Default `true`; with `false` the
   * suite checks that the store offers neither method, so core refuses those policies for it.
   */
  usernameKeys?: boolean;
}

const HASH = "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci";
const OTHER_HASH = "$2b$04$KG//e9dEwJfUYumfatFIXu4Oi3QXwDe61mNiLXZ841HhXjKwewIU2";

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? `not a LatchkeyError: ${String(error)}`;
  }
}

/**
 * The behaviour every {@link UserStore} must have, as a vitest suite. Run it against your store:
 *
 * ```ts
 * import { describeUserStoreContract } from "@latchkey/core/testing";
 * describeUserStoreContract("my store", async () => ({ store: await makeEmptyStore(), cleanup }));
 * ```
 *
 * `setup` is called before every test and must return an empty store.
 */
export function describeUserStoreContract(
  name: string,
  setup: () => Promise<UserStoreFixture> | UserStoreFixture,
  options: UserStoreContractOptions = {},
): void {
  const concurrentCreates = options.concurrentCreates ?? 50;
  const usernameKeys = options.usernameKeys ?? true;
  const folded = (name: string) => usernameKey(name, "case-insensitive");

  describe(`UserStore contract: ${name}`, () => {
    let fixture: UserStoreFixture;
    let store: UserStore;

    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture?.cleanup?.();
    });

    it("finds nothing for an unknown username", async () => {
      expect(await store.findByUsername("nobody")).toBeNull();
    });

    it("creates a user and finds it again with the same id, username and hash", async () => {
      const created = await store.create({ username: "JohnDoe", passwordHash: HASH });
      expect(created).toMatchObject({ username: "JohnDoe", passwordHash: HASH });
      expect(typeof created.id).toBe("string");
      expect(created.id.length).toBeGreaterThan(0);
      expect(await store.findByUsername("JohnDoe")).toEqual(created);
    });

    it("gives different users different ids", async () => {
      const first = await store.create({ username: "first", passwordHash: HASH });
      const second = await store.create({ username: "second", passwordHash: HASH });
      expect(first.id).not.toBe(second.id);
    });

    it("refuses a second user with the same username with USERNAME_TAKEN and keeps the first", async () => {
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      expect(await codeOf(store.create({ username: "JohnDoe", passwordHash: OTHER_HASH }))).toBe("USERNAME_TAKEN");
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(HASH);
    });

    it("compares usernames exactly: case and Unicode form both matter", async () => {
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      expect(await store.findByUsername("johndoe")).toBeNull();
      expect(await store.findByUsername("JohnDoe ")).toBeNull();
      const composed = "Jos\u00e9";
      await store.create({ username: composed, passwordHash: HASH });
      expect(await store.findByUsername("Jose\u0301")).toBeNull();
      expect((await store.findByUsername(composed))?.username).toBe(composed);
    });

    it("stores Unicode, long and SQL-shaped usernames literally", async () => {
      const names = ["名前🔑ユーザー", "🔑".repeat(150), "x'; DROP TABLE users; --", "100%_match\\"];
      for (const username of names) await store.create({ username, passwordHash: HASH });
      for (const username of names) expect((await store.findByUsername(username))?.username).toBe(username);
      expect(await store.findByUsername("100%")).toBeNull();
      expect(await store.findByUsername("x")).toBeNull();
    });

    it("stores hashes of other algorithms unchanged", async () => {
      const argon2 = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
      await store.create({ username: "argon", passwordHash: argon2 });
      expect((await store.findByUsername("argon"))?.passwordHash).toBe(argon2);
    });

    it("updates a password hash and says whether a row changed", async () => {
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      expect(await store.updatePasswordHash("JohnDoe", OTHER_HASH)).toBe(true);
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(OTHER_HASH);
      expect(await store.updatePasswordHash("nobody", OTHER_HASH)).toBe(false);
      expect(await store.findByUsername("nobody")).toBeNull();
    });

    it("updates with ifCurrentHash only while the stored hash is still that one", async () => {
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      expect(await store.updatePasswordHash("JohnDoe", "replacement", { ifCurrentHash: OTHER_HASH })).toBe(false);
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(HASH);
      expect(await store.updatePasswordHash("JohnDoe", OTHER_HASH, { ifCurrentHash: HASH })).toBe(true);
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(OTHER_HASH);
    });

    it("deletes a user, after which the username is free again", async () => {
      await store.create({ username: "JohnDoe", passwordHash: HASH });
      expect(await store.deleteByUsername("JohnDoe")).toBe(true);
      expect(await store.findByUsername("JohnDoe")).toBeNull();
      expect(await store.deleteByUsername("JohnDoe")).toBe(false);
      await store.create({ username: "JohnDoe", passwordHash: OTHER_HASH });
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(OTHER_HASH);
    });

    it(`lets exactly one of ${concurrentCreates} concurrent creates of one username win`, async () => {
      const results = await Promise.allSettled(
        Array.from({ length: concurrentCreates }, (_, i) =>
          store.create({ username: "race", passwordHash: `${HASH.slice(0, -2)}${String(i).padStart(2, "0")}` }),
        ),
      );
      const winners = results.filter((result) => result.status === "fulfilled");
      const codes = results.flatMap((result) =>
        result.status === "rejected" ? [(result.reason as { code?: string }).code] : [],
      );
      expect(winners).toHaveLength(1);
      expect(codes).toEqual(Array(concurrentCreates - 1).fill("USERNAME_TAKEN"));
      const stored = await store.findByUsername("race");
      expect(stored).toEqual((winners[0] as PromiseFulfilledResult<unknown>).value);
    });

    if (!usernameKeys) {
      it("offers no username keys, so only exact uniqueness is allowed with it", () => {
        expect(store.findByUsernameKey).toBeUndefined();
        expect(store.prepareUsernameKeys).toBeUndefined();
      });
      return;
    }

    describe("username keys (for case-insensitive and confusable uniqueness)", () => {
      const keyed = () => store as Required<UserStore>;

      it("finds a user by its key, and refuses a second user with the same key", async () => {
        const created = await store.create({ username: "JohnDoe", passwordHash: HASH, usernameKey: "johndoe" });
        expect(await keyed().findByUsernameKey("johndoe")).toEqual(created);
        expect(await keyed().findByUsernameKey("JohnDoe")).toBeNull();
        expect(
          await codeOf(store.create({ username: "JOHNDOE", passwordHash: OTHER_HASH, usernameKey: "johndoe" })),
        ).toBe("USERNAME_TAKEN");
        expect(await store.findByUsername("JOHNDOE")).toBeNull();
      });

      it("frees the key when the user is deleted", async () => {
        await store.create({ username: "JohnDoe", passwordHash: HASH, usernameKey: "johndoe" });
        await store.deleteByUsername("JohnDoe");
        expect(await keyed().findByUsernameKey("johndoe")).toBeNull();
        await store.create({ username: "johndoe", passwordHash: HASH, usernameKey: "johndoe" });
        expect((await keyed().findByUsernameKey("johndoe"))?.username).toBe("johndoe");
      });

      it(`lets one of ${concurrentCreates} concurrent creates of names with one key win`, async () => {
        const results = await Promise.allSettled(
          Array.from({ length: concurrentCreates }, (_, i) =>
            store.create({ username: `Race${i}`, passwordHash: HASH, usernameKey: "race" }),
          ),
        );
        expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
        for (const result of results) {
          if (result.status === "rejected") expect((result.reason as { code?: string }).code).toBe("USERNAME_TAKEN");
        }
      });

      it("re-keys every stored user for a new scheme, and does nothing for the current one", async () => {
        await store.create({ username: "JohnDoe", passwordHash: HASH });
        await store.create({ username: "alice", passwordHash: HASH });
        await keyed().prepareUsernameKeys(usernameKeyScheme("case-insensitive"), folded);
        expect((await keyed().findByUsernameKey("johndoe"))?.username).toBe("JohnDoe");
        expect((await keyed().findByUsernameKey("alice"))?.username).toBe("alice");
        const neverCalled = () => {
          throw new Error("keys were made again for the scheme they already have");
        };
        await keyed().prepareUsernameKeys(usernameKeyScheme("case-insensitive"), neverCalled);
        await keyed().prepareUsernameKeys(usernameKeyScheme("exact"), (name) => name);
        expect((await keyed().findByUsernameKey("JohnDoe"))?.username).toBe("JohnDoe");
        expect(await keyed().findByUsernameKey("johndoe")).toBeNull();
      });

      it("refuses a scheme under which two users would be one, with USERNAME_KEY_CONFLICT, changing nothing", async () => {
        await store.create({ username: "JohnDoe", passwordHash: HASH });
        await store.create({ username: "johndoe", passwordHash: OTHER_HASH });
        await keyed().prepareUsernameKeys(usernameKeyScheme("exact"), (name) => name);
        const error = await keyed()
          .prepareUsernameKeys(usernameKeyScheme("case-insensitive"), folded)
          .then(
            () => undefined,
            (reason: { code?: string; conflicts?: string[][] }) => reason,
          );
        expect(error?.code).toBe("USERNAME_KEY_CONFLICT");
        expect(error?.conflicts?.map((group) => [...group].sort())).toEqual([["JohnDoe", "johndoe"]]);
        expect((await keyed().findByUsernameKey("JohnDoe"))?.passwordHash).toBe(HASH);
        expect((await keyed().findByUsernameKey("johndoe"))?.passwordHash).toBe(OTHER_HASH);
      });
    });
  });
}
