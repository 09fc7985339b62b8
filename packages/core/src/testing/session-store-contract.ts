import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NewSession, SessionStore } from "../sessions/store.js";

/** A fresh store for one test, the id of a user sessions may belong to, and how to dispose of it. */
export interface SessionStoreFixture {
  store: SessionStore;
  /** The id (and name) of an existing user, for stores whose sessions reference their users. */
  user: { id: string; username: string };
  /** Called after the test, even when it failed. */
  cleanup?: () => Promise<void> | void;
}

/** Options of {@link describeSessionStoreContract}. */
export interface SessionStoreContractOptions {
  /** How many concurrent updates race for one session. Default 50. */
  concurrentUpdates?: number;
}

// Whole milliseconds: what every store can hold exactly.
const at = (iso: string) => new Date(iso);

function newSession(user: { id: string; username: string }, overrides: Partial<NewSession> = {}): NewSession {
  return {
    id: randomUUID(),
    userId: user.id,
    username: user.username,
    familySalt: randomBytes(16),
    createdAt: at("2026-01-02T03:04:05.678Z"),
    lastUsedAt: at("2026-01-02T03:04:05.678Z"),
    absoluteExpiresAt: at("2026-02-01T03:04:05.678Z"),
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0 (contract test)",
    ...overrides,
  };
}

/**
 * The behaviour every {@link SessionStore} must have, as a vitest suite. Run it against your store:
 *
 * ```ts
 * import { describeSessionStoreContract } from "@latchkey/core/testing";
 * describeSessionStoreContract("my store", async () => ({ store, user: { id, username }, cleanup }));
 * ```
 */
export function describeSessionStoreContract(
  name: string,
  setup: () => Promise<SessionStoreFixture> | SessionStoreFixture,
  options: SessionStoreContractOptions = {},
): void {
  const concurrentUpdates = options.concurrentUpdates ?? 50;

  describe(`SessionStore contract: ${name}`, () => {
    let fixture: SessionStoreFixture;
    let store: SessionStore;

    beforeEach(async () => {
      fixture = await setup();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture?.cleanup?.();
    });

    it("creates a session at generation 0, unrotated and unrevoked, and finds it again as it was", async () => {
      const input = newSession(fixture.user);
      const created = await store.createSession(input);
      expect(created).toMatchObject({
        id: input.id,
        userId: fixture.user.id,
        username: fixture.user.username,
        generation: 0,
        rotatedAt: null,
        revokedAt: null,
        revokeReason: null,
        ip: "203.0.113.7",
        userAgent: "Mozilla/5.0 (contract test)",
      });
      const found = await store.findSession(input.id);
      expect(found).toEqual(created);
      expect(Buffer.from(found?.familySalt ?? []).equals(Buffer.from(input.familySalt))).toBe(true);
      expect(found?.createdAt.toISOString()).toBe("2026-01-02T03:04:05.678Z");
      expect(found?.absoluteExpiresAt.toISOString()).toBe("2026-02-01T03:04:05.678Z");
    });

    it("keeps a missing address and user agent as null", async () => {
      const input = newSession(fixture.user, { ip: null, userAgent: null });
      await store.createSession(input);
      expect(await store.findSession(input.id)).toMatchObject({ ip: null, userAgent: null });
    });

    it("finds nothing for an unknown id, and hands decide null for it", async () => {
      const id = randomUUID();
      expect(await store.findSession(id)).toBeNull();
      expect(await store.updateSessionLocked(id, (session) => ({ result: session }))).toBeNull();
    });

    it("writes the change decide returns, and resolves to its result", async () => {
      const { id } = await store.createSession(newSession(fixture.user));
      const rotatedAt = at("2026-01-03T00:00:00.001Z");
      const result = await store.updateSessionLocked(id, (session) => ({
        change: { generation: (session?.generation ?? 0) + 1, rotatedAt, lastUsedAt: rotatedAt },
        result: "rotated",
      }));
      expect(result).toBe("rotated");
      expect(await store.findSession(id)).toMatchObject({ generation: 1, rotatedAt, lastUsedAt: rotatedAt });
      const revokedAt = at("2026-01-04T00:00:00.002Z");
      await store.updateSessionLocked(id, () => ({ change: { revokedAt, revokeReason: "reuse" }, result: null }));
      expect(await store.findSession(id)).toMatchObject({ generation: 1, revokedAt, revokeReason: "reuse" });
    });

    it("writes nothing when decide returns no change, or throws", async () => {
      const { id } = await store.createSession(newSession(fixture.user));
      const before = await store.findSession(id);
      expect(await store.updateSessionLocked(id, () => ({ result: 7 }))).toBe(7);
      await expect(
        store.updateSessionLocked(id, () => {
          throw new Error("decided to fail");
        }),
      ).rejects.toThrow("decided to fail");
      expect(await store.findSession(id)).toEqual(before);
      // The session is not left locked.
      expect(await store.updateSessionLocked(id, (session) => ({ result: session?.generation }))).toBe(0);
    });

    it(`runs ${concurrentUpdates} concurrent decisions on one session one at a time`, async () => {
      const { id } = await store.createSession(newSession(fixture.user));
      const seen = await Promise.all(
        Array.from({ length: concurrentUpdates }, () =>
          store.updateSessionLocked(id, (session) => {
            const generation = session?.generation ?? -1;
            return { change: { generation: generation + 1 }, result: generation };
          }),
        ),
      );
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: concurrentUpdates }, (_, i) => i));
      expect((await store.findSession(id))?.generation).toBe(concurrentUpdates);
    });

    it("keeps sessions apart", async () => {
      const a = await store.createSession(newSession(fixture.user));
      const b = await store.createSession(newSession(fixture.user));
      await store.updateSessionLocked(a.id, () => ({ change: { generation: 5 }, result: null }));
      expect((await store.findSession(b.id))?.generation).toBe(0);
    });
  });
}
