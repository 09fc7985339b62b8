import { createMemoryUserStore, createTokenService } from "@latchkey/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { latchkeyRedactPaths, latchkeySerializers, redactUrl } from "../src/index.js";
import { buildApp, type CapturedLog, expectStatus, getMe, logIn, SECRET, signUp } from "./fixtures/app.js";

const PASSWORD = "correct-horse-battery-staple";
const WRONG_PASSWORD = "wrong-horse-battery-staple";
const LONG_PASSWORD = `${"long-password-".repeat(6)}!`; // over 72 bytes

let app: FastifyInstance;
let log: CapturedLog;
afterEach(() => app?.close());

/** Sign-up, login, /users/me and a protected host route, with their failures. Resolves to the secrets used. */
async function fullFlow(): Promise<string[]> {
  expectStatus(await signUp(app, "JohnDoe", PASSWORD), 201);
  expectStatus(await signUp(app, "JohnDoe", PASSWORD), 409);
  expectStatus(await signUp(app, "Jane", LONG_PASSWORD), 422);
  expectStatus(await signUp(app, 12345, PASSWORD), 422);
  const login = await logIn(app, "JohnDoe", PASSWORD, { client_secret: "client-secret-value" });
  expectStatus(login, 200);
  expectStatus(await logIn(app, "JohnDoe", WRONG_PASSWORD), 401);
  expectStatus(await logIn(app, "Nobody", PASSWORD), 401);
  expectStatus(await logIn(app, "JohnDoe", PASSWORD, { grant_type: "client_credentials" }), 400);
  const token = login.json().access_token as string;
  expectStatus(await getMe(app, `Bearer ${token}`), 200);
  expectStatus(await getMe(app, `Bearer ${token.slice(0, -2)}xx`), 401);
  const expired = await createTokenService({ secret: SECRET }).createAccessToken(
    { sub: "JohnDoe" },
    { now: new Date(Date.now() - 7200_000) },
  );
  expectStatus(await getMe(app, `Bearer ${expired}`), 401);
  expectStatus(
    await app.inject({ method: "GET", url: "/private", headers: { authorization: `Bearer ${token}` } }),
    200,
  );
  const hash = (await app.latchkey.store.findByUsername("JohnDoe"))?.passwordHash as string;
  const signature = token.split(".")[2] as string;
  return [PASSWORD, WRONG_PASSWORD, LONG_PASSWORD, "client-secret-value", hash, token, signature, expired];
}

function protectedRoute(host: FastifyInstance): void {
  host.get("/private", { onRequest: [host.authenticate] }, async (request) => ({ username: request.user.username }));
}

describe("logs", () => {
  it("never hold a password, hash or token, even when the host logs headers and bodies, given latchkeyRedactPaths", async () => {
    ({ app, log } = await buildApp({
      store: createMemoryUserStore(),
      logger: {
        redact: [...latchkeyRedactPaths],
        // A chatty host: request logs with every header.
        serializers: {
          req: (request: FastifyRequest) => ({ method: request.method, url: request.url, headers: request.headers }),
        },
      },
      before: (host) => {
        // ...and a hook that logs every body, the way hosts debug.
        host.addHook("preHandler", async (request) => {
          request.log.debug({ body: request.body }, "host: request body");
        });
        host.addHook("onSend", async (request, _reply, payload) => {
          request.log.debug({ res: { body: typeof payload === "string" ? JSON.parse(payload) : null } }, "host: reply");
        });
      },
      after: protectedRoute,
      onLogin: () => {
        throw new Error("audit sink down");
      },
    }));
    const secrets = await fullFlow();
    const text = log.text();
    expect(log.lines.length).toBeGreaterThan(30);
    expect(text).toContain("[Redacted]");
    expect(text).toContain("audit sink down");
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it("never hold a password, hash or token from the plugin itself, with no redaction at all", async () => {
    ({ app, log } = await buildApp({ store: createMemoryUserStore(), logger: { redact: [] }, after: protectedRoute }));
    const secrets = await fullFlow();
    expect(log.lines.filter((line) => line.msg === "latchkey: request refused").length).toBeGreaterThan(5);
    for (const secret of secrets) expect(log.text()).not.toContain(secret);
  });
});

describe("redactUrl", () => {
  it("hides the values of query parameters named like credentials, and JWTs anywhere", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJKb2huIn0.c2lnbmF0dXJl";
    expect(redactUrl(`/users/me?access_token=${jwt}&page=2`)).toBe("/users/me?access_token=[redacted]&page=2");
    expect(redactUrl("/reset?code=123456&Password=hunter2&api_key=k&client_secret=s")).toBe(
      "/reset?code=[redacted]&Password=[redacted]&api_key=[redacted]&client_secret=[redacted]",
    );
    expect(redactUrl(`/callback?state=abc&x=${jwt}`)).toBe("/callback?state=abc&x=[redacted]");
    expect(redactUrl(`/t/${jwt}`)).toBe("/t/[redacted]");
    expect(redactUrl("/users/me?sort=name")).toBe("/users/me?sort=name");
    expect(redactUrl("/a?access%5Ftoken=x&%E0%A4%A=1")).toBe("/a?access%5Ftoken=[redacted]&%E0%A4%A=1");
  });
});

describe("latchkeySerializers", () => {
  it("log a request's URL redacted and an error without the raw bytes Node attached", () => {
    const logged = latchkeySerializers.req({ method: "GET", url: "/users/me?access_token=secret-value", ip: "::1" });
    expect(logged).toMatchObject({ method: "GET", url: "/users/me?access_token=[redacted]", remoteAddress: "::1" });
    const parseError = Object.assign(new Error("Parse Error: Invalid header value char"), {
      code: "HPE_INVALID_HEADER_TOKEN",
      rawPacket: Buffer.from("POST /token HTTP/1.1\r\nAuthorization: Bearer secret-token\r\n\r\npassword=hunter2"),
    });
    const text = JSON.stringify(latchkeySerializers.err(parseError));
    expect(text).toContain("HPE_INVALID_HEADER_TOKEN");
    expect(text).not.toContain("secret-token");
    expect(text).not.toContain("hunter2");
  });
});
