import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pythonFixtures } from "../../test/fixtures/python.js";
import { BCRYPT_MAX_PASSWORD_BYTES, createBcryptHasher, DEFAULT_BCRYPT_COST } from "./bcrypt-hasher.js";

// Cost 4 keeps tests fast wherever the cost itself is not what is tested.
const fast = createBcryptHasher({ cost: 4 });

describe("createBcryptHasher", () => {
  it("makes $2b$ hashes at cost 12 by default, as passlib does", async () => {
    expect(DEFAULT_BCRYPT_COST).toBe(12);
    const hash = await createBcryptHasher().hash("johnspassword");
    expect(hash).toMatch(/^\$2b\$12\$[./A-Za-z0-9]{53}$/);
  });

  it("uses the configured cost", async () => {
    expect(await createBcryptHasher({ cost: 5 }).hash("johnspassword")).toMatch(/^\$2b\$05\$/);
  });

  it.each([3, 32, 4.5, Number.NaN])("refuses cost %s with INVALID_OPTIONS", (cost) => {
    expect(() => createBcryptHasher({ cost })).toThrow(expect.objectContaining({ code: "INVALID_OPTIONS" }));
  });

  it.each(pythonFixtures.hashes)("verifies a hash made by $made_with", async ({ password, hash }) => {
    expect(await fast.verify(password, hash)).toBe(true);
    expect(await fast.verify(`${password}x`, hash)).toBe(false);
  });

  it("salts every hash", async () => {
    expect(await fast.hash("johnspassword")).not.toBe(await fast.hash("johnspassword"));
  });

  it.each([
    ["empty", ""],
    ["not a hash", "johnspassword"],
    ["truncated", "$2b$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z"],
    ["the buggy $2x$ variant", "$2x$04$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci"],
    ["cost out of range", "$2b$99$ykOe2isXSerd0ctNDkndoekUd7qxmq80Z.ykAaKZFzkfUyQb6tvci"],
    ["argon2", "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"],
    ["plain-text password column", "johnspassword"],
  ])("resolves false, never throws, for a %s hash", async (_, hash) => {
    await expect(fast.verify("johnspassword", hash)).resolves.toBe(false);
  });

  it("resolves false for non-string input instead of throwing", async () => {
    await expect(fast.verify(undefined as unknown as string, "$2b$04$x")).resolves.toBe(false);
    await expect(fast.verify("x", null as unknown as string)).resolves.toBe(false);
  });

  describe("the 72-byte limit", () => {
    const exactly72 = "é".repeat(36); // 2 bytes each in UTF-8
    const over72 = `${exactly72}a`;

    it("is 72 UTF-8 bytes", () => {
      expect(BCRYPT_MAX_PASSWORD_BYTES).toBe(72);
      expect(Buffer.byteLength(exactly72)).toBe(72);
    });

    it("hashes a password of exactly 72 bytes", async () => {
      expect(await fast.verify(exactly72, await fast.hash(exactly72))).toBe(true);
    });

    it("refuses to hash a password over 72 bytes with PASSWORD_TOO_LONG instead of truncating it", async () => {
      await expect(fast.hash(over72)).rejects.toMatchObject({ code: "PASSWORD_TOO_LONG", maxBytes: 72 });
      await expect(fast.hash("🔑".repeat(19))).rejects.toMatchObject({ code: "PASSWORD_TOO_LONG" }); // 76 bytes
    });

    it("never lets a longer password match the hash of its first 72 bytes", async () => {
      const hash = await fast.hash(exactly72);
      expect(await fast.verify(over72, hash)).toBe(false);
    });
  });

  it("keeps characters after a NUL byte significant", async () => {
    const hash = await fast.hash("pass\u0000word-one");
    expect(await fast.verify("pass\u0000word-two", hash)).toBe(false);
    expect(await fast.verify("pass", hash)).toBe(false);
    expect(await fast.verify("pass\u0000word-one", hash)).toBe(true);
  });

  describe("needsRehash", () => {
    const hasher = createBcryptHasher({ cost: 12 });
    it("is true for a bcrypt hash of lower cost", () => {
      expect(hasher.needsRehash(pythonFixtures.hashes[2]?.hash as string)).toBe(true); // $2b$04$
      expect(hasher.needsRehash(pythonFixtures.hashes[1]?.hash as string)).toBe(true); // $2a$10$
    });
    it("is false at the same or a higher cost", () => {
      expect(hasher.needsRehash(pythonFixtures.hashes[0]?.hash as string)).toBe(false); // $2b$12$
      expect(hasher.needsRehash(pythonFixtures.hashes[4]?.hash as string)).toBe(false); // $2b$13$
    });
    it("is false for something that is not a bcrypt hash", () => {
      expect(hasher.needsRehash("not a hash")).toBe(false);
    });
  });

  it("round-trips any Unicode password of at most 72 bytes, and rejects any other password", async () => {
    const password = fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 20 })
      .filter((p) => Buffer.byteLength(p) <= 72);
    await fc.assert(
      fc.asyncProperty(password, password, async (chosen, other) => {
        const hash = await fast.hash(chosen);
        expect(await fast.verify(chosen, hash)).toBe(true);
        expect(await fast.verify(other, hash)).toBe(chosen === other);
      }),
      { numRuns: 60 },
    );
  });
});
