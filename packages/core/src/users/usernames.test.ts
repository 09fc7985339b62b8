import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeLoginName, normalizeUsername } from "./usernames.js";

const problemOf = (input: unknown, policy = {}) => {
  try {
    normalizeUsername(input, policy);
    return undefined;
  } catch (error) {
    return (error as { code: string; problem: string }).code === "USERNAME_INVALID"
      ? (error as { problem: string }).problem
      : "wrong error";
  }
};

describe("normalizeUsername", () => {
  it("keeps the original's example and its case", () => {
    expect(normalizeUsername("JohnDoe")).toBe("JohnDoe");
    expect(normalizeUsername("johndoe")).not.toBe(normalizeUsername("JohnDoe"));
  });

  it("turns the decomposed spelling of a name into the composed one (NFC)", () => {
    const decomposed = "Jose\u0301";
    const composed = "Jos\u00e9";
    expect(normalizeUsername(decomposed)).toBe(composed);
    expect(normalizeUsername(composed)).toBe(composed);
  });

  it("allows letters of any script, digits, punctuation, inner spaces and emoji", () => {
    for (const name of ["名前", "Ελένη", "o'brien-smith_2", "John Doe", "🔑", "user@example.com"]) {
      expect(normalizeUsername(name)).toBe(name);
    }
  });

  it("refuses leading and trailing white space of any kind", () => {
    for (const name of [" JohnDoe", "JohnDoe ", "\u00a0JohnDoe", "JohnDoe\u3000", "\tJohnDoe"]) {
      expect(problemOf(name)).toMatch(/surrounding_whitespace|forbidden_character/);
    }
    expect(problemOf(" JohnDoe")).toBe("surrounding_whitespace");
  });

  it("refuses control characters, zero-width and bidi characters, and lone surrogates", () => {
    for (const name of [
      "John\u0000Doe",
      "John\nDoe",
      "John\u007fDoe",
      "John\u200bDoe",
      "John\u202eDoe",
      "\ufeffJohn",
      "John\ud800",
    ]) {
      expect(problemOf(name)).toBe("forbidden_character");
    }
  });

  it.each([
    ["U+034F combining grapheme joiner", "\u034f"],
    ["U+FE0F variation selector 16", "\ufe0f"],
    ["U+FE00 variation selector 1", "\ufe00"],
    ["U+3164 Hangul filler", "\u3164"],
    ["U+115F Hangul choseong filler", "\u115f"],
    ["U+FFA0 halfwidth Hangul filler", "\uffa0"],
    ["U+2800 braille pattern blank", "\u2800"],
    ["U+180B Mongolian free variation selector", "\u180b"],
    ["U+17B4 Khmer vowel inherent AQ", "\u17b4"],
  ])("refuses %s, which renders as nothing (a second JohnDoe)", (_name, character) => {
    expect(problemOf(`John${character}Doe`)).toBe("forbidden_character");
    expect(problemOf(`JohnDoe${character}`)).toBe("forbidden_character");
  });

  it("limits length to 1..150 characters by default, counting code points", () => {
    expect(problemOf("")).toBe("too_short");
    expect(normalizeUsername("🔑".repeat(150))).toHaveLength(300);
    expect(problemOf("🔑".repeat(151))).toBe("too_long");
    expect(problemOf("a".repeat(10_000))).toBe("too_long");
  });

  it("applies a configured length policy", () => {
    expect(problemOf("ab", { minLength: 3 })).toBe("too_short");
    expect(problemOf("abcd", { maxLength: 3 })).toBe("too_long");
    expect(() => normalizeUsername("abc", { minLength: 5, maxLength: 2 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTIONS" }),
    );
  });

  it("refuses what is not a string", () => {
    for (const value of [12345, null, undefined, ["JohnDoe"], { name: "JohnDoe" }]) {
      expect(problemOf(value)).toBe("not_a_string");
    }
  });

  it("is idempotent and maps canonically equivalent names to one name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), (name) => {
        let normalized: string;
        try {
          normalized = normalizeUsername(name);
        } catch {
          return;
        }
        expect(normalizeUsername(normalized)).toBe(normalized);
        expect(normalizeUsername(name.normalize("NFD"))).toBe(normalized);
      }),
      { numRuns: 500 },
    );
  });
});

describe("normalizeLoginName", () => {
  it("trims the white space a keyboard or autocomplete adds around a typed name", () => {
    for (const typed of ["JohnDoe ", " JohnDoe", "JohnDoe\u00a0", "\tJohnDoe\n", "JohnDoe\u3000 "]) {
      expect(normalizeLoginName(typed)).toBe("JohnDoe");
    }
    expect(normalizeLoginName("John Doe")).toBe("John Doe");
  });

  it("normalizes to NFC, as stored names are", () => {
    expect(normalizeLoginName(" Jose\u0301")).toBe("Jos\u00e9");
  });
});
