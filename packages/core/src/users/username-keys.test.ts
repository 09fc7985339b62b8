import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  findUsernameKeyConflicts,
  resolveUsernameUniqueness,
  USERNAME_UNIQUENESS_POLICIES,
  usernameKey,
  usernameKeyScheme,
} from "./username-keys.js";
import { normalizeUsername } from "./usernames.js";

const sameAccount = (a: string, b: string, policy: Parameters<typeof usernameKey>[1]) =>
  usernameKey(normalizeUsername(a), policy) === usernameKey(normalizeUsername(b), policy);

describe("usernameKey", () => {
  it("is the name itself under exact, the original's rule", () => {
    expect(usernameKey("JohnDoe", "exact")).toBe("JohnDoe");
    expect(sameAccount("JohnDoe", "johndoe", "exact")).toBe(false);
  });

  it.each([
    ["JohnDoe", "johndoe"],
    ["JohnDoe", "JOHNDOE"],
    ["JohnDoe", "\uff2a\uff4f\uff48\uff4e\uff24\uff4f\uff45"],
    ["Stra\u00dfe", "STRASSE"],
    ["\u0395\u03bb\u03ad\u03bd\u03b7", "\u03b5\u03bb\u03ad\u03bd\u03b7"],
  ])("joins %j and %j under case-insensitive (and confusable)", (a, b) => {
    expect(sameAccount(a, b, "case-insensitive")).toBe(true);
    expect(sameAccount(a, b, "confusable")).toBe(true);
  });

  it.each([
    ["JohnDoe", "\u0408\u043ehnDoe", "Cyrillic Je and o"],
    ["JohnDoe", "J\u03bfhnDoe", "Greek omicron"],
    ["PayPal", "PayPaI", "capital I for small l"],
    ["paypal", "\u0440aypal", "Cyrillic er"],
    ["mary", "rnary", "rn for m"],
    ["admin1", "adminl", "1 for l"],
  ])("joins %j and %j under confusable only (%s)", (a, b) => {
    expect(sameAccount(a, b, "case-insensitive")).toBe(false);
    expect(sameAccount(a, b, "confusable")).toBe(true);
  });

  it("keeps names that only look different apart under every policy", () => {
    for (const policy of USERNAME_UNIQUENESS_POLICIES) {
      expect(sameAccount("alice", "bob", policy)).toBe(false);
      expect(sameAccount("\u00c5sa", "asa", policy)).toBe(false);
      expect(sameAccount("\u540d\u524d", "\u540d", policy)).toBe(false);
    }
  });

  it("never separates what a looser policy joins", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }), (raw) => {
        let name: string;
        try {
          name = normalizeUsername(raw);
        } catch {
          return;
        }
        for (const variant of [name.toUpperCase(), name.toLowerCase(), name.normalize("NFKC")]) {
          let other: string;
          try {
            other = normalizeUsername(variant);
          } catch {
            continue;
          }
          if (usernameKey(name, "case-insensitive") === usernameKey(other, "case-insensitive")) {
            expect(usernameKey(name, "confusable")).toBe(usernameKey(other, "confusable"));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("the policy names", () => {
  it("are checked", () => {
    expect(resolveUsernameUniqueness(undefined)).toBe("exact");
    expect(resolveUsernameUniqueness("confusable")).toBe("confusable");
    expect(() => resolveUsernameUniqueness("fuzzy")).toThrow(expect.objectContaining({ code: "INVALID_OPTIONS" }));
  });

  it("name their key scheme with a version", () => {
    expect(usernameKeyScheme("case-insensitive")).toBe("case-insensitive:1");
  });
});

describe("findUsernameKeyConflicts", () => {
  it("lists the groups of names that share a key", () => {
    const keyOf = (name: string) => usernameKey(name, "case-insensitive");
    expect(findUsernameKeyConflicts(["JohnDoe", "alice", "johndoe", "ALICE", "bob"], keyOf)).toEqual([
      ["JohnDoe", "johndoe"],
      ["alice", "ALICE"],
    ]);
    expect(findUsernameKeyConflicts(["a", "b"], keyOf)).toEqual([]);
  });
});
