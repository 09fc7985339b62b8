import { describe, expect, it, vi } from "vitest";
import { countingHasher } from "../../test/fixtures/counting-hasher.js";
import { pythonFixtures } from "../../test/fixtures/python.js";
import { StoreUnavailableError } from "../errors.js";
import { createBcryptHasher } from "../passwords/bcrypt-hasher.js";
import { authenticateUser } from "./authenticate.js";
import { createMemoryUserStore } from "./memory-store.js";
import { registerUser } from "./register.js";
import type { UserStore } from "./store.js";

const fast = createBcryptHasher({ cost: 4 });

async function storeWithJohn(hasher = fast) {
  const store = createMemoryUserStore();
  await registerUser(store, "JohnDoe", "johnspassword", { hasher });
  return store;
}

describe("authenticateUser", () => {
  it("returns the user for the right username and password", async () => {
    const store = await storeWithJohn();
    expect(await authenticateUser(store, "JohnDoe", "johnspassword", { hasher: fast })).toMatchObject({
      username: "JohnDoe",
    });
  });

  it("returns null for a wrong password, an unknown user, or another case of the username", async () => {
    const store = await storeWithJohn();
    expect(await authenticateUser(store, "JohnDoe", "wrong-password", { hasher: fast })).toBeNull();
    expect(await authenticateUser(store, "JaneDoe", "johnspassword", { hasher: fast })).toBeNull();
    expect(await authenticateUser(store, "johndoe", "johnspassword", { hasher: fast })).toBeNull();
  });

  it("logs in a user stored with the original app's passlib hash", async () => {
    const store = createMemoryUserStore();
    await store.create({ username: "JohnDoe", passwordHash: pythonFixtures.hashes[0]?.hash as string });
    expect(await authenticateUser(store, "JohnDoe", "johnspassword")).toMatchObject({ username: "JohnDoe" });
  });

  it("finds a user whatever Unicode form the username is typed in", async () => {
    const store = createMemoryUserStore();
    await registerUser(store, "Jose\u0301", "johnspassword", { hasher: fast });
    expect(await authenticateUser(store, "Jos\u00e9", "johnspassword", { hasher: fast })).not.toBeNull();
    expect(await authenticateUser(store, "Jose\u0301", "johnspassword", { hasher: fast })).not.toBeNull();
  });

  describe("does the same hashing work whether or not the username exists", () => {
    it("compares an unknown user's password against a dummy hash of the configured cost", async () => {
      const { hasher, calls } = countingHasher(createBcryptHasher({ cost: 5 }));
      const store = createMemoryUserStore();
      expect(await authenticateUser(store, "nobody", "johnspassword", { hasher })).toBeNull();
      expect(calls.verify).toHaveLength(1);
      expect(calls.verify[0]?.hash).toMatch(/^\$2b\$05\$[./A-Za-z0-9]{53}$/);
    });

    it("spends exactly one comparison for an unknown user and for a wrong password", async () => {
      const { hasher, calls } = countingHasher(fast);
      const store = await storeWithJohn(hasher);
      calls.verify.length = 0;
      await authenticateUser(store, "nobody", "johnspassword", { hasher });
      const unknownUserWork = calls.verify.length;
      calls.verify.length = 0;
      await authenticateUser(store, "JohnDoe", "wrong-password", { hasher });
      expect(unknownUserWork).toBe(1);
      expect(calls.verify.length).toBe(unknownUserWork);
    });

    it("also spends one comparison for usernames that cannot exist", async () => {
      const { hasher, calls } = countingHasher(fast);
      const store = createMemoryUserStore();
      const findByUsername = vi.spyOn(store, "findByUsername");
      for (const name of ["", "a".repeat(151), "John\ud800", "John\u0000Doe", 12345 as unknown as string]) {
        expect(await authenticateUser(store, name, "johnspassword", { hasher })).toBeNull();
      }
      expect(calls.verify).toHaveLength(5);
      expect(findByUsername).not.toHaveBeenCalled();
    });

    it("makes the dummy hash once per hasher", async () => {
      const { hasher, calls } = countingHasher(fast);
      const store = createMemoryUserStore();
      await authenticateUser(store, "a", "p", { hasher });
      await authenticateUser(store, "b", "p", { hasher });
      expect(calls.hash).toHaveLength(1);
    });
  });

  describe("upgrades a weak hash after a successful login", () => {
    it("re-hashes at the configured cost and stores the new hash", async () => {
      const store = await storeWithJohn(fast); // cost 4
      const stronger = createBcryptHasher({ cost: 6 });
      const user = await authenticateUser(store, "JohnDoe", "johnspassword", { hasher: stronger });
      const stored = await store.findByUsername("JohnDoe");
      expect(stored?.passwordHash).toMatch(/^\$2b\$06\$/);
      expect(user?.passwordHash).toBe(stored?.passwordHash);
      expect(await stronger.verify("johnspassword", stored?.passwordHash as string)).toBe(true);
    });

    it("leaves a hash of the configured cost alone", async () => {
      const store = await storeWithJohn(fast);
      const before = (await store.findByUsername("JohnDoe"))?.passwordHash;
      await authenticateUser(store, "JohnDoe", "johnspassword", { hasher: fast });
      expect((await store.findByUsername("JohnDoe"))?.passwordHash).toBe(before);
    });

    it("does not re-hash after a failed login", async () => {
      const store = await storeWithJohn(fast);
      const update = vi.spyOn(store, "updatePasswordHash");
      await authenticateUser(store, "JohnDoe", "wrong-password", { hasher: createBcryptHasher({ cost: 6 }) });
      expect(update).not.toHaveBeenCalled();
    });

    it("only replaces the hash it verified, never a password changed meanwhile", async () => {
      const store = await storeWithJohn(fast);
      const verified = (await store.findByUsername("JohnDoe"))?.passwordHash;
      const update = vi.spyOn(store, "updatePasswordHash");
      await authenticateUser(store, "JohnDoe", "johnspassword", { hasher: createBcryptHasher({ cost: 5 }) });
      expect(update).toHaveBeenCalledWith("JohnDoe", expect.stringMatching(/^\$2b\$05\$/), { ifCurrentHash: verified });
    });

    it("still logs the user in when storing the new hash fails, and reports the failure", async () => {
      const store = await storeWithJohn(fast);
      vi.spyOn(store, "updatePasswordHash").mockRejectedValue(new StoreUnavailableError());
      const onRehashError = vi.fn();
      const user = await authenticateUser(store, "JohnDoe", "johnspassword", {
        hasher: createBcryptHasher({ cost: 5 }),
        onRehashError,
      });
      expect(user).toMatchObject({ username: "JohnDoe" });
      expect(onRehashError).toHaveBeenCalledWith(expect.objectContaining({ code: "STORE_UNAVAILABLE" }));
    });
  });

  it("lets a store outage surface as STORE_UNAVAILABLE rather than as a failed login", async () => {
    const store: UserStore = {
      ...createMemoryUserStore(),
      findByUsername: () => Promise.reject(new StoreUnavailableError()),
    };
    await expect(authenticateUser(store, "JohnDoe", "johnspassword", { hasher: fast })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
  });

  describe("forgives what typing changes", () => {
    it("logs in with white space around the username (mobile autocomplete)", async () => {
      const store = await storeWithJohn();
      for (const typed of ["JohnDoe ", " JohnDoe", "JohnDoe\u00a0"]) {
        expect(await authenticateUser(store, typed, "johnspassword", { hasher: fast })).toMatchObject({
          username: "JohnDoe",
        });
      }
    });

    it("logs in with a password typed in another Unicode form than at sign-up (NFD against NFC)", async () => {
      const store = createMemoryUserStore();
      await registerUser(store, "Zoe", "cr\u00e8me br\u00fbl\u00e9e", { hasher: fast });
      const typed = "cre\u0300me bru\u0302le\u0301e";
      expect(await authenticateUser(store, "Zoe", typed, { hasher: fast })).not.toBeNull();
      expect(await authenticateUser(store, "Zoe", "creme brulee", { hasher: fast })).toBeNull();
    });

    it("keeps a hash of an unnormalized password working and upgrades it to the NFKC form", async () => {
      const store = createMemoryUserStore();
      const typed = "\uff50\uff41\uff53\uff53word-1"; // fullwidth "pass", as hashed before normalization
      await store.create({ username: "Old", passwordHash: await fast.hash(typed) });
      expect(await authenticateUser(store, "Old", typed, { hasher: fast })).not.toBeNull();
      const upgraded = (await store.findByUsername("Old"))?.passwordHash as string;
      expect(await fast.verify("password-1", upgraded)).toBe(true);
      expect(await authenticateUser(store, "Old", "password-1", { hasher: fast })).not.toBeNull();
    });
  });

  describe("finds the user by the uniqueness policy's key", () => {
    it("logs JohnDoe in as johndoe under case-insensitive, and not under exact", async () => {
      const store = createMemoryUserStore();
      const usernamePolicy = { uniqueness: "case-insensitive" as const };
      await registerUser(store, "JohnDoe", "johnspassword", { hasher: fast, usernamePolicy });
      const user = await authenticateUser(store, "johndoe", "johnspassword", { hasher: fast, usernamePolicy });
      expect(user?.username).toBe("JohnDoe");
      await expect(
        registerUser(store, "JOHNDOE", "another password", { hasher: fast, usernamePolicy }),
      ).rejects.toMatchObject({ code: "USERNAME_TAKEN" });
    });

    it("refuses a non-exact policy on a store that keeps no username keys", async () => {
      const { findByUsernameKey: _f, prepareUsernameKeys: _p, ...exactOnly } = createMemoryUserStore();
      const usernamePolicy = { uniqueness: "confusable" as const };
      await expect(authenticateUser(exactOnly, "a", "b", { hasher: fast, usernamePolicy })).rejects.toMatchObject({
        code: "INVALID_OPTIONS",
      });
      await expect(registerUser(exactOnly, "a", "bbbbbbbb", { hasher: fast, usernamePolicy })).rejects.toMatchObject({
        code: "INVALID_OPTIONS",
      });
    });
  });

  describe("takes as long to fail whatever the stored hash", () => {
    // Real bcrypt at three costs: the configured 8, a weaker 6 (a user from before a cost change)
    // and a stronger 10 (4x the configured work). Medians of a few tries each, side by side.
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

    async function failureTimes(equalizeFailureTime: boolean) {
      const hasher = createBcryptHasher({ cost: 8 });
      const store = createMemoryUserStore();
      for (const cost of [6, 8, 10]) {
        const hash = await createBcryptHasher({ cost }).hash("the right one");
        await store.create({ username: `cost${cost}`, passwordHash: hash });
      }
      const names = ["nobody", "cost6", "cost8", "cost10"];
      const times = new Map(names.map((name) => [name, [] as number[]]));
      for (let round = 0; round < 8; round += 1) {
        for (const name of names) {
          const started = performance.now();
          expect(await authenticateUser(store, name, "a wrong one", { hasher, equalizeFailureTime })).toBeNull();
          // The first round meets every hash class once; the timer learns from it.
          if (round > 0) times.get(name)?.push(performance.now() - started);
        }
      }
      return Object.fromEntries(names.map((name) => [name, median(times.get(name) ?? [])]));
    }

    // The margins leave room for a loaded machine: padded, every class lands near the slowest
    // (ratios ~1); unpadded, cost 6 takes 1/16 of cost 10's work.
    it("pads every failure to the slowest hash class seen", async () => {
      const padded = await failureTimes(true);
      const slowest = padded.cost10 as number;
      for (const name of ["nobody", "cost6", "cost8"]) expect((padded[name] as number) / slowest).toBeGreaterThan(0.7);
    });

    it("(without padding the costs show: the check above can fail)", async () => {
      const raw = await failureTimes(false);
      expect((raw.cost6 as number) / (raw.cost10 as number)).toBeLessThan(0.35);
    });
  });
});
