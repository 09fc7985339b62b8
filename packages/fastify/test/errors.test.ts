import {
  createBcryptHasher,
  createMemoryUserStore,
  InvalidCredentialsError,
  InvalidOptionsError,
  registerUser,
  TokenExpiredError,
  type UserStore,
} from "@latchkey/core";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { Static } from "typebox";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { type ErrorBody, toErrorReply } from "../src/errors.js";
import type { ErrorBodySchema } from "../src/schemas.js";
import { buildApp, type CapturedLog, getMe, logIn, signUp, tokenFor } from "./fixtures/app.js";
import { createBrokenStore, DRIVER_PARAMS_HASH } from "./fixtures/stores.js";

let app: FastifyInstance;
let log: CapturedLog;
afterEach(() => app?.close());

const SETTINGS = { retryAfterSeconds: 5 };

async function everyRoute(token: string): Promise<[string, LightMyRequestResponse][]> {
  return [
    ["POST /users/", await signUp(app, "JohnDoe", "johnspassword")],
    ["POST /token", await logIn(app, "JohnDoe", "johnspassword")],
    ["GET /users/me", await getMe(app, `Bearer ${token}`)],
  ];
}

async function validToken(): Promise<string> {
  const healthy = await buildApp({ store: createMemoryUserStore() });
  const token = await tokenFor(healthy.app, "JohnDoe", "johnspassword");
  await healthy.app.close();
  return token;
}

describe("store failures", () => {
  it("answers 503 STORE_UNAVAILABLE with Retry-After on every route, without the store's message", async () => {
    const token = await validToken();
    ({ app, log } = await buildApp({ store: createBrokenStore("outage"), retryAfterSeconds: 30 }));
    for (const [route, response] of await everyRoute(token)) {
      expect(response.statusCode, route).toBe(503);
      expect(response.headers["retry-after"], route).toBe("30");
      const detail = "The service is temporarily unavailable, please retry later";
      // The token endpoint adds RFC 6749 section 5.2's fields; every other route keeps its body.
      const oauth = route.endsWith("/token") ? { error: "temporarily_unavailable", error_description: detail } : {};
      expect(response.json(), route).toEqual({ detail, code: "STORE_UNAVAILABLE", ...oauth });
      expect(response.body).not.toContain("10.0.0.5");
    }
    expect(log.lines.filter((line) => line.level === 40 && /store unavailable/.test(String(line.msg)))).toHaveLength(3);
    expect(log.text()).not.toContain(DRIVER_PARAMS_HASH);
  });

  it("answers a bare 500 to an unexpected error and logs its cause", async () => {
    const token = await validToken();
    ({ app, log } = await buildApp({ store: createBrokenStore("bug", "db-detail-xyz") }));
    for (const [route, response] of await everyRoute(token)) {
      expect(response.statusCode, route).toBe(500);
      const oauth = route.endsWith("/token")
        ? ',"error":"server_error","error_description":"Internal Server Error"'
        : "";
      expect(response.body, route).toBe(`{"detail":"Internal Server Error","code":"INTERNAL_ERROR"${oauth}}`);
    }
    const logged = log.lines.filter((line) => line.level === 50);
    expect(logged).toHaveLength(3);
    for (const line of logged) {
      expect((line.err as { message: string; stack: string }).message).toBe("driver exploded near db-detail-xyz");
      expect((line.err as { stack: string }).stack).toMatch(/TypeError/);
    }
    // Drivers attach the query's parameters (a hash, on sign-up) to their errors: never logged.
    expect(log.text()).not.toContain(DRIVER_PARAMS_HASH);
  });
});

describe("invalidGrantStatus", () => {
  it("answers a failed password grant with 400 invalid_grant and no challenge when set to 400", async () => {
    ({ app, log } = await buildApp({ store: createMemoryUserStore(), invalidGrantStatus: 400 }));
    expect((await signUp(app, "JohnDoe", "johnspassword")).statusCode).toBe(201);
    for (const response of [await logIn(app, "JohnDoe", "wrong-password"), await logIn(app, "Nobody", "x")]) {
      expect(response.statusCode).toBe(400);
      expect(response.headers["www-authenticate"]).toBeUndefined();
      expect(response.json()).toEqual({
        detail: "Incorrect username or password",
        code: "INVALID_CREDENTIALS",
        error: "invalid_grant",
        error_description: "Incorrect username or password",
      });
    }
    // Only the token endpoint's invalid grant moves: a bad bearer token stays a 401 challenge.
    const me = await getMe(app, "Bearer not-a-token");
    expect(me.statusCode).toBe(401);
    expect(me.headers["www-authenticate"]).toMatch(/^Bearer /);
  });
});

describe("a failed hash upgrade", () => {
  it("keeps the login working and logs the failure without the driver's parameters", async () => {
    const inner = createMemoryUserStore();
    await registerUser(inner, "JohnDoe", "johnspassword", { hasher: createBcryptHasher({ cost: 4 }) });
    const store: UserStore = {
      ...inner,
      updatePasswordHash: async () => {
        throw Object.assign(new Error("deadlock detected"), { params: ["JohnDoe", DRIVER_PARAMS_HASH] });
      },
    };
    ({ app, log } = await buildApp({ store, bcryptCost: 5 }));
    expect((await logIn(app, "JohnDoe", "johnspassword")).statusCode).toBe(200);
    const warning = log.lines.find((line) => line.msg === "latchkey: upgrading a password hash failed");
    expect((warning?.err as { message?: string })?.message).toBe("deadlock detected");
    expect(log.text()).not.toContain(DRIVER_PARAMS_HASH);
  });
});

describe("toErrorReply", () => {
  it("maps a 4xx from Fastify or another plugin to its status with a generic text", () => {
    const error = Object.assign(new Error("route /secret-path not found for user bob"), { statusCode: 404 });
    expect(toErrorReply(error, SETTINGS)).toEqual({
      statusCode: 404,
      headers: {},
      body: { detail: "Not Found", code: "BAD_REQUEST" },
    });
  });

  it("maps Fastify's content-length mismatch to MALFORMED_BODY", () => {
    const error = Object.assign(new Error("Request body size did not match Content-Length"), {
      code: "FST_ERR_CTP_INVALID_CONTENT_LENGTH",
      statusCode: 400,
    });
    expect(toErrorReply(error, SETTINGS).body.code).toBe("MALFORMED_BODY");
  });

  it("maps a Latchkey error without an HTTP meaning, and a thrown non-error, to 500", () => {
    expect(toErrorReply(new InvalidOptionsError("bad"), SETTINGS).statusCode).toBe(500);
    expect(toErrorReply("a string", SETTINGS).statusCode).toBe(500);
    expect(toErrorReply(null, SETTINGS).statusCode).toBe(500);
  });

  it("maps errors by code, so errors from another copy of core map too", () => {
    const foreign = Object.assign(new Error("Username already registered"), { code: "USERNAME_TAKEN" });
    expect(toErrorReply(foreign, SETTINGS)).toMatchObject({ statusCode: 409, body: { field: "username" } });
    expect(toErrorReply(new TokenExpiredError(), SETTINGS).headers["www-authenticate"]).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    );
  });

  it("names the field of a schema failure", () => {
    const failure = (issue: object) => Object.assign(new Error("x"), { validation: [issue] });
    expect(
      toErrorReply(
        failure({ keyword: "required", instancePath: "", params: { requiredProperties: ["password"] } }),
        SETTINGS,
      ).body,
    ).toEqual({ detail: "Field required: password", code: "VALIDATION_FAILED", field: "password" });
    expect(
      toErrorReply(failure({ keyword: "type", instancePath: "/a~1b", message: "must be string" }), SETTINGS).body,
    ).toEqual({
      detail: "a/b must be string",
      code: "VALIDATION_FAILED",
      field: "a/b",
    });
  });

  it("adds OAuth fields only for an OAuth route, with a description RFC 6749 section 5.2 allows", () => {
    const failure = Object.assign(new Error("x"), {
      validation: [{ keyword: "type", instancePath: "/pässwort", message: 'must be "string" \\ text' }],
    });
    expect(toErrorReply(failure, SETTINGS).body.error).toBeUndefined();
    const oauth = toErrorReply(failure, SETTINGS, { oauth: true });
    expect(oauth.body).toEqual({
      detail: 'pässwort must be "string" \\ text',
      code: "VALIDATION_FAILED",
      field: "pässwort",
      error: "invalid_request",
      error_description: "p?sswort must be 'string' ? text",
    });
    expect(oauth.headers["cache-control"]).toBe("no-store");
    expect(toErrorReply(new InvalidCredentialsError(), SETTINGS, { oauth: true }).body.error).toBe("invalid_grant");
    expect(toErrorReply(new Error("bug"), SETTINGS, { oauth: true }).body.error).toBe("server_error");
  });

  it("describes ErrorBody and its schema alike", () => {
    expectTypeOf<Static<typeof ErrorBodySchema>>().toEqualTypeOf<ErrorBody>();
  });
});
