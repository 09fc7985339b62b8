import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countingHasher } from "../../test/fixtures/counting-hasher.js";
import { pythonFixtures } from "../../test/fixtures/python.js";
import { createBcryptHasher } from "./bcrypt-hasher.js";
import { hashPassword, verifyPassword } from "./password.js";
import { DEFAULT_MIN_PASSWORD_LENGTH } from "./password-policy.js";

const fast = createBcryptHasher({ cost: 4 });

describe("hashPassword", () => {
  it("hashes with bcrypt at cost 12 by default, and verifyPassword accepts the result", async () => {
    const hash = await hashPassword("johnspassword");
    expect(hash).toMatch(/^\$2b\$12\$/);
    expect(await verifyPassword("johnspassword", hash)).toBe(true);
    expect(await verifyPassword("johnspasswore", hash)).toBe(false);
  });

  it("has a default minimum length of 8 characters, which the original's example meets", async () => {
    expect(DEFAULT_MIN_PASSWORD_LENGTH).toBe(8);
    await expect(hashPassword("johnspassword", { hasher: fast })).resolves.toMatch(/^\$2b\$04\$/);
    await expect(hashPassword("12345678", { hasher: fast })).resolves.toBeTypeOf("string");
    await expect(hashPassword("1234567", { hasher: fast })).rejects.toMatchObject({
      code: "PASSWORD_TOO_SHORT",
      minLength: 8,
    });
  });

  it("refuses an empty password even with the smallest minimum", async () => {
    await expect(hashPassword("", { hasher: fast, minLength: 1 })).rejects.toMatchObject({
      code: "PASSWORD_TOO_SHORT",
    });
  });

  it("counts characters, not bytes or UTF-16 units, for the minimum", async () => {
    await expect(hashPassword("🔑🔑🔑🔑🔑🔑🔑🔑", { hasher: fast })).resolves.toBeTypeOf("string");
    await expect(hashPassword("🔑🔑🔑🔑", { hasher: fast })).rejects.toMatchObject({ code: "PASSWORD_TOO_SHORT" });
  });

  it("applies a configured minimum such as NIST's 15 for single-factor use", async () => {
    await expect(hashPassword("johnspassword", { hasher: fast, minLength: 15 })).rejects.toMatchObject({
      code: "PASSWORD_TOO_SHORT",
      minLength: 15,
    });
  });

  it("refuses a password over 72 bytes without spending any hashing work", async () => {
    const { hasher, calls } = countingHasher(fast);
    await expect(hashPassword("a".repeat(73), { hasher })).rejects.toMatchObject({ code: "PASSWORD_TOO_LONG" });
    expect(calls.hash).toHaveLength(0);
  });

  it("refuses a password that is not a string with PASSWORD_INVALID", async () => {
    await expect(hashPassword(12345678 as unknown as string, { hasher: fast })).rejects.toMatchObject({
      code: "PASSWORD_INVALID",
    });
  });

  it("refuses a minimum length that is not a positive integer", async () => {
    await expect(hashPassword("johnspassword", { hasher: fast, minLength: 0 })).rejects.toMatchObject({
      code: "INVALID_OPTIONS",
    });
  });
});

describe("verifyPassword", () => {
  it("accepts the original app's passlib hash", async () => {
    const [original] = pythonFixtures.hashes;
    expect(await verifyPassword("johnspassword", original?.hash as string)).toBe(true);
  });

  it("never throws, whatever the hash string", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), async (password, hash) => {
        expect(await verifyPassword(password, hash, { hasher: fast })).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
