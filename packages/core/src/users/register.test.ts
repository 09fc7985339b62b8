import { describe, expect, it, vi } from "vitest";
import { countingHasher } from "../../test/fixtures/counting-hasher.js";
import { createBcryptHasher } from "../passwords/bcrypt-hasher.js";
import { createMemoryUserStore } from "./memory-store.js";
import { registerUser } from "./register.js";

const fast = createBcryptHasher({ cost: 4 });

describe("registerUser", () => {
  it("stores the NFC-normalized username and a bcrypt hash, never the password", async () => {
    const store = createMemoryUserStore();
    const user = await registerUser(store, "Jose\u0301", "johnspassword", { hasher: fast });
    expect(user.username).toBe("Jos\u00e9");
    expect(user.passwordHash).toMatch(/^\$2b\$04\$/);
    expect(JSON.stringify(await store.findByUsername("Jos\u00e9"))).not.toContain("johnspassword");
  });

  it("refuses a taken username with USERNAME_TAKEN, also when typed in another Unicode form", async () => {
    const store = createMemoryUserStore();
    await registerUser(store, "Jos\u00e9", "johnspassword", { hasher: fast });
    await expect(registerUser(store, "Jose\u0301", "otherpassword", { hasher: fast })).rejects.toMatchObject({
      code: "USERNAME_TAKEN",
    });
  });

  it.each([
    ["an invalid username", " JohnDoe", "johnspassword", "USERNAME_INVALID"],
    ["a short password", "JohnDoe", "short", "PASSWORD_TOO_SHORT"],
    ["a password over 72 bytes", "JohnDoe", "p".repeat(73), "PASSWORD_TOO_LONG"],
  ])("refuses %s before hashing or storing anything", async (_, username, password, code) => {
    const store = createMemoryUserStore();
    const create = vi.spyOn(store, "create");
    const { hasher, calls } = countingHasher(fast);
    await expect(registerUser(store, username, password, { hasher })).rejects.toMatchObject({ code });
    expect(calls.hash).toHaveLength(0);
    expect(create).not.toHaveBeenCalled();
  });

  it("applies the configured username and password policies", async () => {
    const store = createMemoryUserStore();
    const options = { hasher: fast, usernamePolicy: { maxLength: 5 }, passwordPolicy: { minLength: 15 } };
    await expect(registerUser(store, "JohnDoe", "a-long-enough-password", options)).rejects.toMatchObject({
      code: "USERNAME_INVALID",
      problem: "too_long",
    });
    await expect(registerUser(store, "John", "johnspassword", options)).rejects.toMatchObject({
      code: "PASSWORD_TOO_SHORT",
    });
  });
});
