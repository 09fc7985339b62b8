import { describe, expect, it } from "vitest";
import { createMemorySessionStore } from "./memory-store.js";
import { encodeRefreshToken, parseRefreshToken, REFRESH_TOKEN_PREFIX } from "./refresh-token.js";
import { createSessionService, type SessionOptions } from "./service.js";
import type { SessionStore } from "./store.js";

const SECRET = "a-session-secret-of-at-least-32-bytes!";
const JOHN = { userId: "1", username: "JohnDoe", ip: "203.0.113.7", userAgent: "test" };

/** A service on a memory store with a clock the test moves. */
function setup(options: Partial<SessionOptions> = {}) {
  let now = Date.parse("2026-03-01T12:00:00Z");
  const store = createMemorySessionStore();
  const sessions = createSessionService({ store, secret: SECRET, now: () => now, ...options });
  return {
    store,
    sessions,
    advance(seconds: number) {
      now += seconds * 1000;
    },
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const { code, reason } = error as { code?: string; reason?: string };
    return code === "REFRESH_TOKEN_INVALID" ? reason : `unexpected: ${String(error)}`;
  }
}

describe("refresh tokens", () => {
  it("are opaque lkr1 strings naming the session, that a one-character change makes unreadable", async () => {
    const { sessions } = setup();
    const { refreshToken, session } = await sessions.start(JOHN);
    expect(refreshToken.startsWith(REFRESH_TOKEN_PREFIX)).toBe(true);
    expect(parseRefreshToken(refreshToken)).toMatchObject({ sessionId: session.id, generation: 0 });
    const last = refreshToken.at(-1) === "A" ? "B" : "A";
    expect(parseRefreshToken(`${refreshToken.slice(0, -1)}${last}`)).toBeUndefined();
    for (const junk of ["", "lkr1.", "lkr1.!!!!", "eyJhbGciOi.x.y", "x".repeat(10_000), 42, null]) {
      expect(parseRefreshToken(junk)).toBeUndefined();
    }
  });

  it("cannot be minted without the server's secret, even from everything a database dump holds", async () => {
    const { sessions, store } = setup();
    const { session } = await sessions.start(JOHN);
    const dumped = await store.findSession(session.id);
    const forged = encodeRefreshToken(Buffer.alloc(32, 7), session.id, dumped?.familySalt as Uint8Array, 0);
    expect(await reasonOf(sessions.refresh(forged))).toBe("forged");
  });
});

describe("createSessionService", () => {
  it("starts a session at login with a refresh token, and says how long it lasts", async () => {
    const { sessions } = setup();
    const issued = await sessions.start(JOHN);
    expect(issued.session).toMatchObject({ userId: "1", username: "JohnDoe", generation: 0, ip: "203.0.113.7" });
    expect(issued.refreshExpiresInSeconds).toBe(7 * 24 * 3600);
  });

  it("rotates on every refresh: the new token works, the old one stops working", async () => {
    const { sessions, advance } = setup();
    const first = await sessions.start(JOHN);
    advance(60);
    const second = await sessions.refresh(first.refreshToken);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.session.generation).toBe(1);
    advance(60);
    const third = await sessions.refresh(second.refreshToken);
    expect(third.session.generation).toBe(2);
    expect(await reasonOf(sessions.refresh(first.refreshToken))).toBe("reused");
  });

  it("answers a token rotated away within the window with the same current token, changing nothing", async () => {
    const { sessions, store, advance } = setup();
    const first = await sessions.start(JOHN);
    const second = await sessions.refresh(first.refreshToken);
    advance(9);
    const before = await store.findSession(first.session.id);
    const replay = await sessions.refresh(first.refreshToken);
    expect(replay.refreshToken).toBe(second.refreshToken);
    expect(replay.replayed).toBe(true);
    expect(await store.findSession(first.session.id)).toEqual(before);
    // The current token still rotates normally.
    expect((await sessions.refresh(second.refreshToken)).session.generation).toBe(2);
  });

  it("lets 50 concurrent refreshes with one token all succeed with exactly one distinct new token", async () => {
    const { sessions } = setup();
    const { refreshToken } = await sessions.start(JOHN);
    const results = await Promise.all(Array.from({ length: 50 }, () => sessions.refresh(refreshToken)));
    expect(new Set(results.map((result) => result.refreshToken)).size).toBe(1);
    expect(results.filter((result) => !result.replayed)).toHaveLength(1);
  });

  it("revokes the whole session when a rotated-away token comes back after the window", async () => {
    const { sessions, store, advance } = setup();
    const first = await sessions.start(JOHN);
    const second = await sessions.refresh(first.refreshToken);
    advance(11);
    const error = await sessions.refresh(first.refreshToken).catch((reason: unknown) => reason);
    expect(error).toMatchObject({ reason: "reused", sessionId: first.session.id, userId: "1" });
    expect(await store.findSession(first.session.id)).toMatchObject({ revokeReason: "reuse" });
    // The thief's token and the owner's current one are both dead now.
    expect(await reasonOf(sessions.refresh(second.refreshToken))).toBe("revoked");
  });

  it("refuses a generation it never issued without revoking anything", async () => {
    const { sessions, store } = setup();
    const { session } = await sessions.start(JOHN);
    const stored = await store.findSession(session.id);
    // A correctly tagged future generation can only come from a key leak; it must not end the session.
    const key = (await import("node:crypto")).hkdfSync(
      "sha256",
      SECRET,
      "latchkey",
      "latchkey refresh-token tags v1",
      32,
    );
    const future = encodeRefreshToken(Buffer.from(key), session.id, stored?.familySalt as Uint8Array, 5);
    expect(await reasonOf(sessions.refresh(future))).toBe("future_generation");
    expect((await store.findSession(session.id))?.revokedAt).toBeNull();
  });

  it("ends a session after its idle timeout, and after its absolute lifetime however often it is used", async () => {
    const idle = setup({ idleTimeoutSeconds: 100, absoluteTimeoutSeconds: 1000 });
    const a = await idle.sessions.start(JOHN);
    idle.advance(101);
    expect(await reasonOf(idle.sessions.refresh(a.refreshToken))).toBe("expired_idle");

    const absolute = setup({ idleTimeoutSeconds: 100, absoluteTimeoutSeconds: 250 });
    let token = (await absolute.sessions.start(JOHN)).refreshToken;
    for (let step = 0; step < 2; step += 1) {
      absolute.advance(90);
      const refreshed = await absolute.sessions.refresh(token);
      token = refreshed.refreshToken;
      expect(refreshed.refreshExpiresInSeconds).toBe(step === 0 ? 100 : 70);
    }
    absolute.advance(90);
    expect(await reasonOf(absolute.sessions.refresh(token))).toBe("expired_absolute");
  });

  it("refuses malformed tokens and unknown sessions without asking the store to change anything", async () => {
    const { sessions } = setup();
    expect(await reasonOf(sessions.refresh("not a token"))).toBe("malformed");
    const other = setup();
    const foreign = (await other.sessions.start(JOHN)).refreshToken;
    expect(await reasonOf(sessions.refresh(foreign))).toBe("unknown_session");
  });

  it("consumes no generation when the store fails mid-refresh: the same token works afterwards", async () => {
    const inner = createMemorySessionStore();
    let failing = true;
    const store: SessionStore = {
      ...inner,
      updateSessionLocked: (id, decide) =>
        failing ? Promise.reject(new Error("connection lost")) : inner.updateSessionLocked(id, decide),
    };
    const sessions = createSessionService({ store, secret: SECRET });
    const { refreshToken } = await sessions.start(JOHN);
    await expect(sessions.refresh(refreshToken)).rejects.toThrow("connection lost");
    failing = false;
    expect((await sessions.refresh(refreshToken)).session.generation).toBe(1);
  });

  it.each([
    [{ reuseWindowSeconds: 61 }, /reuseWindowSeconds must be a whole number of seconds from 0 to 60/],
    [{ reuseWindowSeconds: -1 }, /reuseWindowSeconds/],
    [{ idleTimeoutSeconds: 0 }, /idleTimeoutSeconds/],
    [{ absoluteTimeoutSeconds: 1.5 }, /absoluteTimeoutSeconds/],
    [{ secret: "short" }, /at least 32 bytes/],
  ])("refuses %o", (override, message) => {
    expect(() => createSessionService({ store: createMemorySessionStore(), secret: SECRET, ...override })).toThrow(
      message,
    );
  });
});
