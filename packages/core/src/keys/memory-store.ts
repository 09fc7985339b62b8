import type { KeyStore, StoredKey } from "./store.js";

/** A {@link KeyStore} in memory: tests, and single-process demos that may lose their keys on restart. */
export function createMemoryKeyStore(): KeyStore & { readonly keys: readonly StoredKey[] } {
  const keys: StoredKey[] = [];
  const watchers = new Set<() => void>();
  const changed = () => {
    for (const watcher of watchers) queueMicrotask(watcher);
  };
  const copy = (key: StoredKey): StoredKey => structuredClone(key);
  return {
    get keys() {
      return keys.map(copy);
    },
    async listKeys() {
      return keys.map(copy).sort((a, b) => a.generation - b.generation);
    },
    async insertKey(key) {
      if (keys.some((k) => k.generation === key.generation || k.kid === key.kid)) return false;
      keys.push(copy(key));
      changed();
      return true;
    },
    async revokeKey(kid, at) {
      const key = keys.find((k) => k.kid === kid);
      if (key === undefined) return false;
      if (key.revokedAt === null) {
        key.revokedAt = new Date(at);
        changed();
      }
      return true;
    },
    async watchKeys(onChange) {
      watchers.add(onChange);
      return async () => {
        watchers.delete(onChange);
      };
    },
  };
}
