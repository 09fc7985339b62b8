import {
  createMemorySessionStore,
  createMemoryUserStore,
  parseRefreshToken,
  StoreUnavailableError,
  verifyAccessToken,
} from "@latchkey/core";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LatchkeyOptions } from "../src/index.js";
import { buildApp, type CapturedLog, FORM_HEADERS, getMe, logIn, SECRET, signUp } from "./fixtures/app.js";
import { useSessionBackends } from "./fixtures/stores.js";

let app: FastifyInstance | undefined;
let log: CapturedLog;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const backends = useSessionBackends();

const refresh = (server: FastifyInstance, refreshToken: string, extra: Record<string, string> = {}) =>
  server.inject({
    method: "POST",
    url: "/token",
    headers: FORM_HEADERS,
    payload: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, ...extra }).toString(),
  });

const GENERIC = {
  detail: "The refresh token is invalid, expired or revoked",
  code: "REFRESH_TOKEN_INVALID",
  error: "invalid_grant",
  error_description: "The refresh token is invalid, expired or revoked",
};

function expectInvalidGrant(response: LightMyRequestResponse): void {
  expect(response.statusCode).toBe(400);
  expect(response.json()).toEqual(GENERIC);
  expect(response.headers["cache-control"]).toBe("no-store");
}

describe.each(backends)("refresh tokens through POST /token (%s)", (_name, open) => {
  async function serve(options: Partial<LatchkeyOptions> = {}) {
    const stores = await open();
    ({ app, log } = await buildApp({ ...stores, ...options }));
    expect((await signUp(app, "JohnDoe", "johnspassword")).statusCode).toBe(201);
    const login = await logIn(app, "JohnDoe", "johnspassword");
    expect(login.statusCode).toBe(200);
    return { server: app, login: login.json() as Record<string, string | number>, ...stores };
  }

  it("starts a session at login: a refresh token, its lifetime, and sid and jti in the access token", async () => {
    const { login } = await serve();
    expect(Object.keys(login).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_expires_in",
      "refresh_token",
      "token_type",
    ]);
    expect(login.refresh_expires_in).toBe(7 * 24 * 3600);
    const claims = await verifyAccessToken(login.access_token as string, { secret: SECRET });
    const parsed = parseRefreshToken(login.refresh_token);
    expect(claims).toMatchObject({ sub: "JohnDoe", sid: parsed?.sessionId, jti: expect.any(String) });
  });

  it("rotates: a refresh answers a new access token and a new refresh token, and the new access token works", async () => {
    const { server, login } = await serve();
    const response = await refresh(server, login.refresh_token as string);
    expect(response.statusCode).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    const body = response.json();
    expect(body.refresh_token).not.toBe(login.refresh_token);
    expect(body.access_token).not.toBe(login.access_token);
    expect((await getMe(server, `Bearer ${body.access_token}`)).json()).toEqual({ username: "JohnDoe" });
    expect((await refresh(server, body.refresh_token)).statusCode).toBe(200);
  });

  it("answers 50 concurrent refreshes with one token all with 200 and one distinct refresh token", async () => {
    // Fifty requests from one address: past the per-address limit of /token (20 a minute) otherwise.
    const { server, login } = await serve({ rateLimit: { tokenPerAddress: false } });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => refresh(server, login.refresh_token as string)),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(50).fill(200));
    expect(new Set(responses.map((response) => response.json().refresh_token)).size).toBe(1);
  });

  it("revokes the session when a rotated-away token comes back after the window, and tells onRefreshReuse", async () => {
    const onRefreshReuse = vi.fn();
    const onRefreshFailed = vi.fn();
    const { server, login } = await serve({
      refreshTokens: { reuseWindowSeconds: 1 },
      onRefreshReuse,
      onRefreshFailed,
    });
    const rotated = (await refresh(server, login.refresh_token as string)).json();
    // Inside the window the old token gets the current one back, byte for byte.
    expect((await refresh(server, login.refresh_token as string)).json().refresh_token).toBe(rotated.refresh_token);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expectInvalidGrant(await refresh(server, login.refresh_token as string));
    const sessionId = parseRefreshToken(login.refresh_token)?.sessionId;
    expect(onRefreshReuse).toHaveBeenCalledWith(expect.objectContaining({ sessionId, userId: expect.any(String) }));
    // The current token died with its session.
    expectInvalidGrant(await refresh(server, rotated.refresh_token));
    expect(onRefreshFailed.mock.calls.map(([event]) => event.reason)).toEqual(["reused", "revoked"]);
    expect(log.text()).toContain("the session is revoked");
  });

  it("answers every unusable token with one byte-identical 400, and reads no session for a malformed one", async () => {
    const { server, login, sessionStore } = await serve();
    const update = vi.spyOn(sessionStore, "updateSessionLocked");
    const token = login.refresh_token as string;
    const flipped = `${token.slice(0, -3)}${token.at(-3) === "A" ? "B" : "A"}${token.slice(-2)}`;
    const bodies = new Set<string>();
    for (const bad of ["garbage", "lkr1.AAAA", flipped, "x".repeat(5000), login.access_token as string]) {
      const response = await refresh(server, bad);
      expectInvalidGrant(response);
      bodies.add(response.body);
    }
    expect(update).not.toHaveBeenCalled();
    expect(bodies.size).toBe(1);
    // And the genuine token still works: nothing above touched its session.
    expect((await refresh(server, token)).statusCode).toBe(200);
    expect(log.text()).not.toContain(token);
  });

  it("needs refresh_token for the refresh grant: 422 invalid_request naming it", async () => {
    const { server } = await serve();
    const response = await server.inject({
      method: "POST",
      url: "/token",
      headers: FORM_HEADERS,
      payload: "grant_type=refresh_token",
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      code: "VALIDATION_FAILED",
      field: "refresh_token",
      error: "invalid_request",
    });
  });

  it("answers 503 with Retry-After when the session store fails mid-refresh, and the same token works after", async () => {
    const { server, login, sessionStore } = await serve({ retryAfterSeconds: 7 });
    const update = vi
      .spyOn(sessionStore, "updateSessionLocked")
      .mockRejectedValueOnce(new StoreUnavailableError("connection lost"));
    const failed = await refresh(server, login.refresh_token as string);
    expect(failed.statusCode).toBe(503);
    expect(failed.headers["retry-after"]).toBe("7");
    expect(failed.json()).toMatchObject({ code: "STORE_UNAVAILABLE", error: "temporarily_unavailable" });
    update.mockRestore();
    expect((await refresh(server, login.refresh_token as string)).statusCode).toBe(200);
  });
});

describe("without sessions", () => {
  it("answers access tokens only, as the original, when no session store is given", async () => {
    ({ app } = await buildApp({ store: createMemoryUserStore() }));
    await signUp(app, "JohnDoe", "johnspassword");
    const login = await logIn(app, "JohnDoe", "johnspassword");
    expect(Object.keys(login.json()).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    const response = await refresh(app, "lkr1.anything");
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "unsupported_grant_type" });
  });

  it("answers access tokens only with refreshTokens: false, even with a session store", async () => {
    ({ app } = await buildApp({
      store: createMemoryUserStore(),
      sessionStore: createMemorySessionStore(),
      refreshTokens: false,
    }));
    await signUp(app, "JohnDoe", "johnspassword");
    expect((await logIn(app, "JohnDoe", "johnspassword")).json().refresh_token).toBeUndefined();
  });

  it.each([
    [{ refreshTokens: { reuseWindowSeconds: 61 } }, /reuseWindowSeconds/],
    [{ refreshTokens: { reuseWindow: 5 } }, /unknown option\(s\) `refreshTokens.reuseWindow`/],
    [{ sessionStore: { createSession: () => {} } }, /option `sessionStore` must implement SessionStore/],
  ])("refuses %o at registration", async (options, message) => {
    const store = createMemoryUserStore();
    await expect(buildApp({ store, sessionStore: createMemorySessionStore(), ...(options as object) })).rejects.toThrow(
      message,
    );
  });

  it("refuses refreshTokens settings without a session store", async () => {
    await expect(buildApp({ store: createMemoryUserStore(), refreshTokens: {} })).rejects.toThrow(
      /`refreshTokens` needs a `sessionStore`/,
    );
  });
});
