import { verifyAccessToken } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LatchkeyOptions } from "../src/index.js";
import {
  buildApp,
  type CapturedLog,
  FORM_HEADERS,
  getMe,
  JSON_HEADERS,
  logIn,
  SECRET,
  signUp,
} from "./fixtures/app.js";
import { useSessionBackends } from "./fixtures/stores.js";

let app: FastifyInstance | undefined;
let log: CapturedLog;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const backends = useSessionBackends();

type Tokens = { access_token: string; refresh_token: string };
const bearer = (tokens: Tokens) => `Bearer ${tokens.access_token}`;

describe.each(backends)("logout, revocation and account changes (%s)", (_name, open) => {
  async function serve(options: Partial<LatchkeyOptions> = {}) {
    const stores = await open();
    ({ app, log } = await buildApp({ ...stores, ...options }));
    expect((await signUp(app, "JohnDoe", "johnspassword")).statusCode).toBe(201);
    const login = async (username = "JohnDoe", password = "johnspassword"): Promise<Tokens> => {
      const response = await logIn(app as FastifyInstance, username, password, {});
      expect(response.statusCode).toBe(200);
      return response.json();
    };
    return { server: app, login, ...stores };
  }
  const post = (server: FastifyInstance, url: string, authorization: string, payload?: unknown) =>
    server.inject({
      method: "POST",
      url,
      headers: payload === undefined ? { authorization } : { ...JSON_HEADERS, authorization },
      ...(payload !== undefined && { payload: payload as Record<string, string> }),
    });
  const refresh = (server: FastifyInstance, refreshToken: string) =>
    server.inject({
      method: "POST",
      url: "/token",
      headers: FORM_HEADERS,
      payload: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
    });
  const revoke = (server: FastifyInstance, form: Record<string, string>) =>
    server.inject({
      method: "POST",
      url: "/revoke",
      headers: FORM_HEADERS,
      payload: new URLSearchParams(form).toString(),
    });

  it("logs out this session: 204, again 204, and its access and refresh tokens stop working at once", async () => {
    const onLogout = vi.fn();
    const onSessionEnded = vi.fn();
    const { server, login } = await serve({ onLogout, onSessionEnded });
    const phone = await login();
    const laptop = await login();
    expect((await post(server, "/logout", bearer(phone))).statusCode).toBe(204);
    expect((await post(server, "/logout", bearer(phone))).statusCode).toBe(204);
    const me = await getMe(server, bearer(phone));
    expect(me.statusCode).toBe(401);
    expect(me.headers["www-authenticate"]).toContain('error="invalid_token"');
    expect((await refresh(server, phone.refresh_token)).statusCode).toBe(400);
    // The other session is untouched.
    expect((await getMe(server, bearer(laptop))).statusCode).toBe(200);
    expect((await refresh(server, laptop.refresh_token)).statusCode).toBe(200);
    expect(onLogout).toHaveBeenCalledWith(expect.objectContaining({ username: "JohnDoe", scope: "local" }));
    expect(onSessionEnded).toHaveBeenCalledWith(expect.objectContaining({ reason: "logout" }));
  });

  it("logs out every other session (query string) or all of them (JSON body)", async () => {
    const { server, login } = await serve();
    const [a, b, c] = [await login(), await login(), await login()];
    expect((await post(server, "/logout?scope=others", bearer(a))).statusCode).toBe(204);
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
    expect((await getMe(server, bearer(b))).statusCode).toBe(401);
    expect((await getMe(server, bearer(c))).statusCode).toBe(401);
    // An ended token may log its own session out again, but not end the sessions made since.
    expect((await post(server, "/logout", bearer(b))).statusCode).toBe(204);
    const ended = await post(server, "/logout?scope=global", bearer(b));
    expect(ended.statusCode).toBe(401);
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
    expect((await post(server, "/logout", bearer(a), { scope: "global" })).statusCode).toBe(204);
    expect((await getMe(server, bearer(a))).statusCode).toBe(401);
    expect((await refresh(server, a.refresh_token)).statusCode).toBe(400);
  });

  it("takes scope in a form body too, and refuses an unknown scope with 422 changing nothing", async () => {
    const { server, login } = await serve();
    const a = await login();
    const bad = await post(server, "/logout", bearer(a), { scope: "everything" });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({ code: "VALIDATION_FAILED", field: "scope" });
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
    const form = await server.inject({
      method: "POST",
      url: "/logout",
      headers: { ...FORM_HEADERS, authorization: bearer(a) },
      payload: "scope=local",
    });
    expect(form.statusCode).toBe(204);
    expect((await getMe(server, bearer(a))).statusCode).toBe(401);
    expect((await post(server, "/logout", "Bearer nonsense")).statusCode).toBe(401);
    expect((await server.inject({ method: "POST", url: "/logout" })).statusCode).toBe(401);
  });

  it("revokes a refresh token (RFC 7009): its session ends; unknown, invalid and repeated tokens get 200 too", async () => {
    const { server, login } = await serve();
    const a = await login();
    expect((await revoke(server, { token: a.refresh_token, token_type_hint: "refresh_token" })).statusCode).toBe(200);
    expect((await refresh(server, a.refresh_token)).statusCode).toBe(400);
    expect((await getMe(server, bearer(a))).statusCode).toBe(401);
    for (const token of [a.refresh_token, "lkr1.garbage", "not-a-token", a.refresh_token.slice(0, -2)]) {
      const response = await revoke(server, { token });
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe("");
    }
  });

  it("revokes an access token: refused from then on, while its session's refresh token still works", async () => {
    const { server, login } = await serve();
    const a = await login();
    expect((await revoke(server, { token: a.access_token, token_type_hint: "access_token" })).statusCode).toBe(200);
    expect((await getMe(server, bearer(a))).statusCode).toBe(401);
    const renewed = await refresh(server, a.refresh_token);
    expect(renewed.statusCode).toBe(200);
    expect((await getMe(server, `Bearer ${renewed.json().access_token}`)).statusCode).toBe(200);
  });

  it("answers an unknown token_type_hint with 400 unsupported_token_type, and a missing token with invalid_request", async () => {
    const { server, login } = await serve();
    const a = await login();
    const hinted = await revoke(server, { token: a.refresh_token, token_type_hint: "id_token" });
    expect(hinted.statusCode).toBe(400);
    expect(hinted.json()).toMatchObject({ error: "unsupported_token_type", code: "UNSUPPORTED_TOKEN_TYPE" });
    expect((await refresh(server, a.refresh_token)).statusCode).toBe(200);
    const missing = await revoke(server, {});
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ error: "invalid_request", field: "token" });
    const json = await server.inject({
      method: "POST",
      url: "/revoke",
      headers: JSON_HEADERS,
      payload: { token: "x" },
    });
    expect(json.statusCode).toBe(415);
  });

  it("changes the password: every session ends, older access tokens die, the answer carries working fresh tokens", async () => {
    const onPasswordChange = vi.fn();
    const { server, login } = await serve({ onPasswordChange });
    const [here, elsewhere] = [await login(), await login()];
    const changed = await post(server, "/users/me/password", bearer(here), {
      current_password: "johnspassword",
      new_password: "a-new-long-password",
    });
    expect(changed.statusCode).toBe(200);
    const fresh = changed.json();
    expect(Object.keys(fresh).sort()).toEqual([
      "access_token",
      "expires_in",
      "refresh_expires_in",
      "refresh_token",
      "token_type",
    ]);
    for (const old of [here, elsewhere]) {
      expect((await getMe(server, bearer(old))).statusCode).toBe(401);
      expect((await refresh(server, old.refresh_token)).statusCode).toBe(400);
    }
    expect((await getMe(server, bearer(fresh))).statusCode).toBe(200);
    expect((await refresh(server, fresh.refresh_token)).statusCode).toBe(200);
    expect((await logIn(server, "JohnDoe", "johnspassword")).statusCode).toBe(401);
    expect((await logIn(server, "JohnDoe", "a-new-long-password")).statusCode).toBe(200);
    expect(onPasswordChange).toHaveBeenCalledWith(
      expect.objectContaining({ username: "JohnDoe", endedSessionIds: expect.any(Array) }),
    );
    expect(JSON.stringify(log.lines)).not.toContain("a-new-long-password");
  });

  it("refuses a wrong current password with 401 like a wrong login, and a weak new one with 422, changing nothing", async () => {
    const { server, login } = await serve();
    const a = await login();
    const wrong = await post(server, "/users/me/password", bearer(a), {
      current_password: "nope-nope",
      new_password: "another-password",
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: "INVALID_CREDENTIALS" });
    const weak = await post(server, "/users/me/password", bearer(a), {
      current_password: "johnspassword",
      new_password: "short",
    });
    expect(weak.statusCode).toBe(422);
    expect(weak.json()).toMatchObject({ field: "password" });
    const typed = await post(server, "/users/me/password", bearer(a), {
      current_password: 12345678,
      new_password: "x",
    });
    expect(typed.statusCode).toBe(422);
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
    expect((await logIn(server, "JohnDoe", "johnspassword")).statusCode).toBe(200);
  });

  it("deletes the account: its tokens stop at once, and a new user of the same name is not opened by them", async () => {
    const onUserDeleted = vi.fn();
    const { server, login } = await serve({ onUserDeleted, requireExistingUser: false });
    const old = await login();
    const wrong = await server.inject({
      method: "DELETE",
      url: "/users/me",
      headers: { ...JSON_HEADERS, authorization: bearer(old) },
      payload: { password: "wrong-password" },
    });
    expect(wrong.statusCode).toBe(401);
    const deleted = await server.inject({
      method: "DELETE",
      url: "/users/me",
      headers: { ...JSON_HEADERS, authorization: bearer(old) },
      payload: { password: "johnspassword" },
    });
    expect(deleted.statusCode).toBe(204);
    expect(onUserDeleted).toHaveBeenCalledWith(expect.objectContaining({ username: "JohnDoe" }));
    expect((await signUp(server, "JohnDoe", "another-password")).statusCode).toBe(201);
    expect((await getMe(server, bearer(old))).statusCode).toBe(401);
    expect((await refresh(server, old.refresh_token)).statusCode).toBe(400);
    const newcomer = await login("JohnDoe", "another-password");
    expect((await getMe(server, bearer(newcomer))).statusCode).toBe(200);
  });

  it("lists the user's sessions with the current one marked, and ends one by id; another user's id is a 404", async () => {
    const { server, login } = await serve();
    const a = await login();
    const b = await login();
    expect((await signUp(server, "JaneRoe", "janespassword")).statusCode).toBe(201);
    const jane = await login("JaneRoe", "janespassword");
    const listed = await server.inject({
      method: "GET",
      url: "/users/me/sessions",
      headers: { authorization: bearer(a) },
    });
    expect(listed.statusCode).toBe(200);
    const { sessions } = listed.json() as {
      sessions: { id: string; current: boolean; ip: string; user_agent: string | null }[];
    };
    expect(sessions).toHaveLength(2);
    const claimsA = await verifyAccessToken(a.access_token, { secret: SECRET });
    const claimsB = await verifyAccessToken(b.access_token, { secret: SECRET });
    expect(sessions.find((s) => s.current)?.id).toBe(claimsA.sid);
    expect(Object.keys(sessions[0] ?? {}).sort()).toEqual([
      "created_at",
      "current",
      "id",
      "ip",
      "last_used_at",
      "user_agent",
    ]);
    const janes = (await verifyAccessToken(jane.access_token, { secret: SECRET })).sid;
    const stranger = await server.inject({
      method: "DELETE",
      url: `/users/me/sessions/${janes}`,
      headers: { authorization: bearer(a) },
    });
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toMatchObject({ code: "SESSION_NOT_FOUND" });
    expect((await getMe(server, bearer(jane))).statusCode).toBe(200);
    for (const id of ["nonsense", "00000000-0000-4000-8000-000000000000"]) {
      const unknown = await server.inject({
        method: "DELETE",
        url: `/users/me/sessions/${id}`,
        headers: { authorization: bearer(a) },
      });
      expect(unknown.statusCode).toBe(404);
    }
    const ended = await server.inject({
      method: "DELETE",
      url: `/users/me/sessions/${claimsB.sid}`,
      headers: { authorization: bearer(a) },
    });
    expect(ended.statusCode).toBe(204);
    expect((await getMe(server, bearer(b))).statusCode).toBe(401);
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
  });

  it("in stateless mode leaves a logged-out access token working until it expires (as documented)", async () => {
    const { server, login } = await serve({ accessTokenChecks: "stateless" });
    const a = await login();
    expect((await post(server, "/logout", bearer(a))).statusCode).toBe(204);
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
    expect((await refresh(server, a.refresh_token)).statusCode).toBe(400);
  });

  it("in strict mode reads the store on every request, and refuses what it says is ended", async () => {
    const { server, login, sessionStore } = await serve({ accessTokenChecks: "strict" });
    const a = await login();
    const reads = vi.spyOn(sessionStore, "isAccessRevoked");
    expect((await getMe(server, bearer(a))).statusCode).toBe(200);
    expect(reads).toHaveBeenCalledTimes(1);
    expect((await post(server, "/logout", bearer(a))).statusCode).toBe(204);
    expect((await getMe(server, bearer(a))).statusCode).toBe(401);
  });

  it("ends session-less tokens too (refresh tokens off): logout everywhere and password changes refuse them", async () => {
    const { server, login } = await serve({ refreshTokens: false });
    const a = await login();
    expect(Object.keys(a)).not.toContain("refresh_token");
    expect((await verifyAccessToken(a.access_token, { secret: SECRET })).sid).toBeUndefined();
    // `iat` has whole seconds: tokens from earlier seconds, as a stolen one would be.
    const earlier = (seconds: number) =>
      server.latchkey.tokens.createAccessToken({ sub: "JohnDoe" }, { now: new Date(Date.now() - seconds * 1000) });
    const stolen = await earlier(5);
    expect((await getMe(server, `Bearer ${stolen}`)).statusCode).toBe(200);
    const changed = await post(server, "/users/me/password", `Bearer ${stolen}`, {
      current_password: "johnspassword",
      new_password: "a-new-long-password",
    });
    expect(changed.statusCode).toBe(200);
    expect((await getMe(server, `Bearer ${stolen}`)).statusCode).toBe(401);
    const fresh = `Bearer ${changed.json().access_token}`;
    expect((await getMe(server, fresh)).statusCode).toBe(200);
    // A login right after, even within the same second, works; logging it out ends it alone (by jti).
    const later = await login("JohnDoe", "a-new-long-password");
    const other = await login("JohnDoe", "a-new-long-password");
    expect((await post(server, "/logout", bearer(later))).statusCode).toBe(204);
    expect((await getMe(server, bearer(later))).statusCode).toBe(401);
    expect((await getMe(server, bearer(other))).statusCode).toBe(200);
  });

  it("logs out everywhere with refresh tokens off: session-less tokens of earlier seconds are refused", async () => {
    const { server, login } = await serve({ refreshTokens: false });
    const copied = await server.latchkey.tokens.createAccessToken(
      { sub: "JohnDoe" },
      { now: new Date(Date.now() - 3000) },
    );
    expect((await getMe(server, `Bearer ${copied}`)).statusCode).toBe(200);
    const a = await login();
    expect((await post(server, "/logout?scope=global", bearer(a))).statusCode).toBe(204);
    expect((await getMe(server, `Bearer ${copied}`)).statusCode).toBe(401);
    // The next login works at once, in the same second or not.
    expect((await getMe(server, bearer(await login()))).statusCode).toBe(200);
  });
});
