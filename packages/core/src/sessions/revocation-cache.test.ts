import { describe, expect, it, vi } from "vitest";
import { createMemoryUserStore } from "../users/memory-store.js";
import { createAccessControl } from "./access-control.js";
import { createMemorySessionStore } from "./memory-store.js";
import { createRevocationCache } from "./revocation-cache.js";
import { createSessionService } from "./service.js";
import type { Revocation, SessionStore } from "./store.js";

const later = (ms: number) => new Date(Date.now() + ms);

function clock() {
  let now = 0;
  return { monotonic: () => now, advance: (ms: number) => (now += ms) };
}

describe("createRevocationCache", () => {
  it("refuses what the feed holds and what this process added, by session, token and user", async () => {
    const store = createMemorySessionStore();
    await store.revokeAccessToken("jti-1", later(60_000));
    const cache = createRevocationCache({ store });
    await cache.start();
    try {
      expect(cache.check({ sub: "a", jti: "jti-1" })).toBe("revoked");
      expect(cache.check({ sub: "a", jti: "jti-2", sid: "s-1" })).toBe("allowed");
      cache.add([{ kind: "session", sessionId: "s-1", expiresAt: later(60_000) }]);
      expect(cache.check({ sub: "a", sid: "s-1" })).toBe("revoked");
      cache.add([{ kind: "user", username: "a", notBefore: new Date(10_000), expiresAt: later(60_000) }]);
      expect(cache.check({ sub: "a", iat: 9 })).toBe("revoked");
      expect(cache.check({ sub: "a", iat: 10 })).toBe("allowed");
      // A user revocation never applies to a token with a session: that one is ended through its sid.
      expect(cache.check({ sub: "a", iat: 9, sid: "s-2" })).toBe("allowed");
    } finally {
      await cache.close();
    }
  });

  it("keeps the later of two user revocations whatever order the overlapping reads bring them in", () => {
    const cache = createRevocationCache({ store: createMemorySessionStore() });
    const at = (ms: number): Revocation => ({
      kind: "user",
      username: "a",
      notBefore: new Date(ms),
      expiresAt: later(60_000),
    });
    cache.add([at(20_000)]);
    cache.add([at(10_000)]);
    expect(cache.check({ sub: "a", iat: 15 })).not.toBe("allowed");
  });

  it("answers stale when no read succeeded within maxStalenessMs, and fresh again after one", async () => {
    const store = createMemorySessionStore();
    const time = clock();
    const cache = createRevocationCache({
      store,
      maxStalenessMs: 4000,
      pollIntervalMs: 60_000,
      monotonic: time.monotonic,
    });
    await cache.start();
    try {
      time.advance(3999);
      expect(cache.check({ sub: "a" })).toBe("allowed");
      time.advance(2);
      expect(cache.check({ sub: "a" })).toBe("stale");
    } finally {
      await cache.close();
    }
  });

  it("reads the feed when the listener reports a revocation or comes back, and reports its state", async () => {
    const store = createMemorySessionStore();
    let notify: () => void = () => {};
    let state: (up: boolean) => void = () => {};
    const watched: SessionStore = {
      ...store,
      watchRevocations: async (onRevocation, onState) => {
        notify = onRevocation;
        state = onState;
        onState(true);
        return { close: async () => {} };
      },
    };
    const onEvent = vi.fn();
    const cache = createRevocationCache({ store: watched, pollIntervalMs: 60_000, onEvent });
    await cache.start();
    try {
      expect(cache.listening).toBe(true);
      await store.revokeAccessToken("pushed", later(60_000));
      notify();
      await vi.waitFor(() => expect(cache.check({ sub: "a", jti: "pushed" })).toBe("revoked"));
      state(false);
      expect(cache.listening).toBe(false);
      await store.revokeAccessToken("missed", later(60_000));
      state(true);
      await vi.waitFor(() => expect(cache.check({ sub: "a", jti: "missed" })).toBe("revoked"));
      expect(onEvent).toHaveBeenCalledWith({ type: "listening", listening: false });
    } finally {
      await cache.close();
    }
  });
});

describe("createAccessControl", () => {
  async function setup(failReads = false) {
    const users = createMemoryUserStore();
    const store = createMemorySessionStore({ users });
    const time = clock();
    const reads = vi.spyOn(store, "readRevocations");
    const sessions = createSessionService({ store, secret: "k".repeat(32) });
    const access = createAccessControl({
      sessions,
      users,
      checks: "session",
      sessionsAtLogin: true,
      cache: { maxStalenessMs: 4000, pollIntervalMs: 60_000, monotonic: time.monotonic },
    });
    await access.start();
    if (failReads) reads.mockRejectedValue(new Error("database down"));
    return { access, store, time };
  }

  it("checks in memory while fresh, and falls back to the store (failing closed) once stale", async () => {
    const { access, store, time } = await setup(true);
    try {
      const revokedInStore = vi.spyOn(store, "isAccessRevoked");
      expect(access.isAllowed({ sub: "a", exp: 0 })).toBe(true);
      expect(revokedInStore).not.toHaveBeenCalled();
      time.advance(5000);
      await expect(access.isAllowed({ sub: "a", exp: 0 })).resolves.toBe(true);
      expect(revokedInStore).toHaveBeenCalledTimes(1);
      revokedInStore.mockRejectedValueOnce(new Error("down"));
      await expect(access.isAllowed({ sub: "a", exp: 0 })).rejects.toThrow("down");
    } finally {
      await access.close();
    }
  });

  it("deletes ended sessions in batches until a batch comes back short", async () => {
    const users = createMemoryUserStore();
    const store = createMemorySessionStore({ users });
    const deleted = vi.spyOn(store, "deleteEndedSessions");
    deleted.mockResolvedValueOnce(2).mockResolvedValueOnce(2).mockResolvedValueOnce(1);
    const sessions = createSessionService({ store, secret: "k".repeat(32) });
    const access = createAccessControl({
      sessions,
      users,
      checks: "stateless",
      sessionsAtLogin: true,
      cleanup: { batchSize: 2 },
    });
    expect(await access.cleanup()).toBe(5);
    expect(deleted).toHaveBeenCalledTimes(3);
    expect(deleted.mock.calls[0]?.[0]).toMatchObject({ limit: 2 });
  });
});
