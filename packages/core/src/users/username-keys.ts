import unhomoglyph from "unhomoglyph";
import { InvalidOptionsError } from "../errors.js";
import type { UserStore } from "./store.js";

/**
 * When two usernames count as the same account. The stored name always keeps the case and form
 * the user typed; only the uniqueness key (see {@link usernameKey}) differs.
 *
 * - `exact`: the same NFC string (the original app's rule; `JohnDoe` and `johndoe` are two users).
 * - `case-insensitive`: the same after compatibility normalization (NFKC: fullwidth `Ｊ` is `J`)
 *   and case folding (`JohnDoe` = `JOHNDOE`).
 * - `confusable`: also the same when they look alike: Unicode UTS #39 skeletons of the folded
 *   names (Cyrillic `Јоhn` = Latin `John`, `rn` = `m`, `l` = `I` = `1`).
 */
export type UsernameUniqueness = "exact" | "case-insensitive" | "confusable";

/** The uniqueness rules, from the loosest to the strictest. */
export const USERNAME_UNIQUENESS_POLICIES: readonly UsernameUniqueness[] = ["exact", "case-insensitive", "confusable"];

/**
 * The name a store records for the keys it holds: the policy and the version of its key function,
 * so a store notices when keys must be made again (a policy change, or new confusables data).
 */
export function usernameKeyScheme(uniqueness: UsernameUniqueness): string {
  return `${uniqueness}:1`;
}

/**
 * The groups of `usernames` that share a key under `keyOf`: what makes a policy impossible to
 * adopt. Empty when every key is unique. Stores call it from `prepareUsernameKeys`.
 */
export function findUsernameKeyConflicts(usernames: Iterable<string>, keyOf: (username: string) => string): string[][] {
  const byKey = new Map<string, string[]>();
  for (const username of usernames) {
    const key = keyOf(username);
    const group = byKey.get(key);
    if (group === undefined) byKey.set(key, [username]);
    else group.push(username);
  }
  return [...byKey.values()].filter((group) => group.length > 1);
}

/** @throws {InvalidOptionsError} `INVALID_OPTIONS` for anything but one of {@link USERNAME_UNIQUENESS_POLICIES}. */
export function resolveUsernameUniqueness(uniqueness: unknown = "exact"): UsernameUniqueness {
  if (!USERNAME_UNIQUENESS_POLICIES.includes(uniqueness as UsernameUniqueness)) {
    throw new InvalidOptionsError(
      `Username uniqueness must be one of ${USERNAME_UNIQUENESS_POLICIES.join(", ")}, got ${String(uniqueness)}`,
    );
  }
  return uniqueness as UsernameUniqueness;
}

/** NFKC, then full case folding as far as JavaScript offers it (upper then lower: `ß` = `SS` = `ss`). */
function foldCase(name: string): string {
  return name.normalize("NFKC").toUpperCase().toLowerCase().normalize("NFKC");
}

/**
 * UTS #39 section 4's skeleton: NFD, each character replaced by its prototype from Unicode's
 * confusables.txt (through `unhomoglyph`, which carries that table), NFD again.
 */
function skeleton(name: string): string {
  return unhomoglyph(name.normalize("NFD")).normalize("NFD");
}

/**
 * The key that decides whether a username is taken, under `uniqueness`: two names with the same
 * key are one account. `name` is an already normalized username (see `normalizeUsername`).
 *
 * The `confusable` key is a function of the case-folded name, so it never separates names that
 * `case-insensitive` unites. Confusables.txt maps capitals and small letters apart (`I` is `l`,
 * but `i` is `i`), so the folded name is skeletonized in capitals (`PAYPAI` meets `PAYPAL`), folded
 * again, and skeletonized again (small `ε` meets `e`). This errs on the strict side (`i`, `l`,
 * `1` and `I` are one letter here), as a spoofing guard should. The key is for comparing only; it
 * is never shown.
 */
export function usernameKey(name: string, uniqueness: UsernameUniqueness): string {
  if (uniqueness === "exact") return name;
  if (uniqueness === "case-insensitive") return foldCase(name);
  return skeleton(foldCase(skeleton(foldCase(name).toUpperCase())));
}

/**
 * @throws {InvalidOptionsError} `INVALID_OPTIONS` when the policy needs username keys the store
 *   does not keep.
 */
export function assertStoreSupportsUniqueness(store: UserStore, uniqueness: string): void {
  if (uniqueness !== "exact" && (typeof store.findByUsernameKey !== "function" || !store.prepareUsernameKeys)) {
    throw new InvalidOptionsError(
      `Username uniqueness "${uniqueness}" needs a store with username keys (findByUsernameKey and prepareUsernameKeys)`,
    );
  }
}
