import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { revocationRefuses } from "../sessions/revocation-rules.js";
import type { NewSession, SessionStore, StoredSession } from "../sessions/store.js";
import type { UserStore } from "../users/store.js";

/** A fresh store for one test, the id of a user sessions may belong to, and how to dispose of it. */
export interface SessionStoreFixture {
  store: SessionStore;
  /** An existing user (in `users`), for stores whose sessions reference their users. */
  user: { id: string; username: string; passwordHash: string };
  /** The user store the session store works with (password changes and deletions go through both). */
  users: UserStore;
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
 * describeSessionStoreContract("my store", async () => ({ store, users, user: { id, username, passwordHash }, cleanup }));
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
    const create = async (input: NewSession): Promise<StoredSession> => {
      const created = await store.createSession(input);
      if (created === null) throw new Error("createSession resolved to null without ifPasswordHash");
      return created;
    };
    afterEach(async () => {
      await fixture?.cleanup?.();
    });

    it("creates a session at generation 0, unrotated and unrevoked, and finds it again as it was", async () => {
      const input = newSession(fixture.user);
      const created = await create(input);
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
      await create(input);
      expect(await store.findSession(input.id)).toMatchObject({ ip: null, userAgent: null });
    });

    it("finds nothing for an unknown id, and hands decide null for it", async () => {
      const id = randomUUID();
      expect(await store.findSession(id)).toBeNull();
      expect(await store.updateSessionLocked(id, (session) => ({ result: session }))).toBeNull();
    });

    it("writes the change decide returns, and resolves to its result", async () => {
      const { id } = await create(newSession(fixture.user));
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
      const { id } = await create(newSession(fixture.user));
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
      const { id } = await create(newSession(fixture.user));
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
      const a = await create(newSession(fixture.user));
      const b = await create(newSession(fixture.user));
      await store.updateSessionLocked(a.id, () => ({ change: { generation: 5 }, result: null }));
      expect((await store.findSession(b.id))?.generation).toBe(0);
    });

    const later = (ms: number) => new Date(Date.now() + ms);

    it("lists a user's unrevoked sessions, newest first", async () => {
      const old = await create(newSession(fixture.user, { createdAt: at("2026-01-01T00:00:00.000Z") }));
      const young = await create(newSession(fixture.user, { createdAt: at("2026-01-05T00:00:00.000Z") }));
      const gone = await create(newSession(fixture.user));
      await store.updateSessionLocked(gone.id, () => ({
        change: { revokedAt: new Date(), revokeReason: "x" },
        result: 0,
      }));
      expect((await store.listSessions(fixture.user.id)).map((session) => session.id)).toEqual([young.id, old.id]);
    });

    it("creates a session with ifPasswordHash only while the user has that hash", async () => {
      const ok = newSession(fixture.user, { ifPasswordHash: fixture.user.passwordHash });
      expect((await store.createSession(ok))?.id).toBe(ok.id);
      const stale = newSession(fixture.user, { ifPasswordHash: `${fixture.user.passwordHash}x` });
      expect(await store.createSession(stale)).toBeNull();
      expect(await store.findSession(stale.id)).toBeNull();
    });

    it("ends one session, every other, or all, recording a revocation for each", async () => {
      const [a, b, c] = [
        await create(newSession(fixture.user)),
        await create(newSession(fixture.user)),
        await create(newSession(fixture.user)),
      ];
      const base = { userId: fixture.user.id, username: fixture.user.username, revocationsExpireAt: later(60_000) };
      const one = await store.endUserAccess({ ...base, sessions: { only: a.id }, reason: "logout_local" });
      expect(one).toMatchObject({ applied: true, endedSessionIds: [a.id] });
      expect(one.revocations).toEqual([expect.objectContaining({ kind: "session", sessionId: a.id })]);
      expect(await store.findSession(a.id)).toMatchObject({ revokeReason: "logout_local" });
      expect((await store.findSession(a.id))?.revokedAt).toBeInstanceOf(Date);
      const others = await store.endUserAccess({ ...base, sessions: { keep: b.id }, reason: "logout_others" });
      expect(others.endedSessionIds).toEqual([c.id]);
      expect((await store.findSession(b.id))?.revokedAt).toBeNull();
      const all = await store.endUserAccess({ ...base, sessions: "all", reason: "logout_global" });
      expect(all.endedSessionIds).toEqual([b.id]);
      // Another user's session id ends nothing.
      const stranger = await store.endUserAccess({
        ...base,
        userId: `${fixture.user.id}0`,
        sessions: { only: b.id },
        reason: "x",
      });
      expect(stranger.endedSessionIds).toEqual([]);
    });

    it("records a user revocation that refuses only session-less tokens issued before it", async () => {
      const notBefore = at("2026-03-01T00:00:10.000Z");
      const { revocations } = await store.endUserAccess({
        userId: fixture.user.id,
        username: fixture.user.username,
        sessions: "none",
        reason: "logout_global",
        tokensNotBefore: notBefore,
        revocationsExpireAt: later(60_000),
      });
      const user = revocations.find((revocation) => revocation.kind === "user");
      expect(user).toMatchObject({ kind: "user", username: fixture.user.username, notBefore });
      const sub = fixture.user.username;
      const before = { sub, iat: notBefore.getTime() / 1000 - 1 };
      expect(await store.isAccessRevoked(before)).toBe(true);
      expect(await store.isAccessRevoked({ sub, iat: notBefore.getTime() / 1000 })).toBe(false);
      expect(await store.isAccessRevoked({ sub: `${sub}2`, iat: 1 })).toBe(false);
      if (user) expect(revocationRefuses(user, before)).toBe(true);
    });

    it("changes the password and ends every session in one step, or does nothing when the hash moved on", async () => {
      const session = await create(newSession(fixture.user));
      const { username, passwordHash } = fixture.user;
      const request = {
        userId: fixture.user.id,
        username,
        sessions: "all" as const,
        reason: "password_change",
        revocationsExpireAt: later(60_000),
      };
      const moved = await store.endUserAccess({
        ...request,
        passwordChange: { from: `${passwordHash}x`, to: "$2b$04$new" },
      });
      expect(moved).toEqual({ applied: false, endedSessionIds: [], revocations: [] });
      expect((await store.findSession(session.id))?.revokedAt).toBeNull();
      expect((await fixture.users.findByUsername(username))?.passwordHash).toBe(passwordHash);
      const changed = await store.endUserAccess({
        ...request,
        passwordChange: { from: passwordHash, to: `${passwordHash}2` },
      });
      expect(changed).toMatchObject({ applied: true, endedSessionIds: [session.id] });
      expect((await fixture.users.findByUsername(username))?.passwordHash).toBe(`${passwordHash}2`);
      expect(await store.isAccessRevoked({ sub: username, sid: session.id })).toBe(true);
    });

    it("deletes the user with every session, and still refuses their tokens", async () => {
      const session = await create(newSession(fixture.user));
      const { username } = fixture.user;
      const ended = await store.endUserAccess({
        userId: fixture.user.id,
        username,
        sessions: "all",
        reason: "user_deleted",
        deleteUser: true,
        revocationsExpireAt: later(60_000),
      });
      expect(ended).toMatchObject({ applied: true, endedSessionIds: [session.id] });
      expect(await fixture.users.findByUsername(username)).toBeNull();
      expect(await store.findSession(session.id)).toBeNull();
      expect(await store.isAccessRevoked({ sub: username, sid: session.id })).toBe(true);
      const again = await store.endUserAccess({
        userId: fixture.user.id,
        username,
        sessions: "all",
        reason: "user_deleted",
        deleteUser: true,
        revocationsExpireAt: later(60_000),
      });
      expect(again.applied).toBe(false);
    });

    it("revokes an access token by jti, and feeds every revocation to readers, from a point on", async () => {
      const session = await create(newSession(fixture.user));
      const first = await store.readRevocations(null);
      const jti = randomUUID();
      await store.revokeAccessToken(jti, later(60_000));
      await store.updateSessionLocked(session.id, () => ({
        change: { revokedAt: new Date(), revokeReason: "reuse", revocationExpiresAt: later(60_000) },
        result: null,
      }));
      expect(await store.isAccessRevoked({ sub: "anyone", jti })).toBe(true);
      expect(await store.isAccessRevoked({ sub: "anyone", jti: randomUUID() })).toBe(false);
      const page = await store.readRevocations(new Date(first.readAt.getTime() - 1000));
      expect(page.revocations).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: "token", jti }),
          expect.objectContaining({ kind: "session", sessionId: session.id }),
        ]),
      );
      expect(page.readAt.getTime()).toBeGreaterThanOrEqual(first.readAt.getTime());
    });

    it("counts a session that is missing or revoked as revoked, a live one as not", async () => {
      const session = await create(newSession(fixture.user));
      const sub = fixture.user.username;
      expect(await store.isAccessRevoked({ sub, sid: session.id })).toBe(false);
      expect(await store.isAccessRevoked({ sub, sid: randomUUID() })).toBe(true);
      expect(await store.isAccessRevoked({ sub })).toBe(false);
    });

    it("deletes ended sessions in batches, keeping live ones", async () => {
      const live = await create(
        newSession(fixture.user, { lastUsedAt: new Date(), absoluteExpiresAt: later(3_600_000) }),
      );
      const expired = [0, 1, 2].map(() =>
        newSession(fixture.user, { absoluteExpiresAt: at("2026-01-01T00:00:00.000Z") }),
      );
      for (const session of expired) await create(session);
      const cleanup = { endedBefore: new Date(), lastUsedBefore: at("2000-01-01T00:00:00.000Z"), limit: 2 };
      expect(await store.deleteEndedSessions(cleanup)).toBe(2);
      expect(await store.deleteEndedSessions(cleanup)).toBe(1);
      expect(await store.deleteEndedSessions(cleanup)).toBe(0);
      expect(await store.findSession(live.id)).not.toBeNull();
    });
  });
}
