import fastifyFormbody from "@fastify/formbody";
import { createMemoryUserStore } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, expectStatus, FORM_HEADERS, getMe, logIn, signUp, tokenFor } from "./fixtures/app.js";
import { createBrokenStore } from "./fixtures/stores.js";

let app: FastifyInstance;
afterEach(() => app?.close());

/** A host route protected by `app.authenticate`, registered after the plugin as a host would. */
function protectedRoute(host: FastifyInstance): void {
  host.get("/private", { onRequest: [host.authenticate] }, async (request) => ({
    username: request.user.username,
    sub: request.user.claims.sub,
  }));
}

describe("app.authenticate on a host route", () => {
  it("lets a valid token through and types request.user", async () => {
    ({ app } = await buildApp({ store: createMemoryUserStore(), after: protectedRoute }));
    const token = await tokenFor(app, "JohnDoe", "johnspassword");
    const response = await app.inject({
      method: "GET",
      url: "/private",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ username: "JohnDoe", sub: "JohnDoe" });
  });

  it("answers 401 itself, with the challenge, even when the host's error handler answers otherwise", async () => {
    ({ app } = await buildApp({
      store: createMemoryUserStore(),
      before: (host) => {
        host.setErrorHandler((_error, _request, reply) => reply.code(418).send({ teapot: true }));
      },
      after: protectedRoute,
    }));
    const missing = await app.inject({ method: "GET", url: "/private" });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    const bad = await app.inject({ method: "GET", url: "/private", headers: { authorization: "Bearer nope" } });
    expect(bad.statusCode).toBe(401);
    expect(bad.headers["www-authenticate"]).toMatch(/^Bearer error="invalid_token"/);
    expect(bad.json().code).toBe("TOKEN_INVALID");
  });

  it("accepts a deleted user's unexpired token by default (stateless), and refuses it with requireExistingUser: true", async () => {
    for (const requireExistingUser of [undefined, true, false]) {
      const store = createMemoryUserStore();
      ({ app } = await buildApp({
        store,
        ...(requireExistingUser !== undefined && { requireExistingUser }),
        after: protectedRoute,
      }));
      const token = await tokenFor(app, "JohnDoe", "johnspassword");
      await store.deleteByUsername("JohnDoe");
      const response = await app.inject({
        method: "GET",
        url: "/private",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode, `requireExistingUser: ${requireExistingUser}`).toBe(requireExistingUser ? 401 : 200);
      // GET /users/me always answers with the stored user, so it refuses either way.
      expect((await getMe(app, `Bearer ${token}`)).statusCode).toBe(401);
      await app.close();
    }
  });

  it("answers 503 with Retry-After when the store is down and it must read the user; without that read it keeps answering", async () => {
    const healthy = await buildApp({ store: createMemoryUserStore() });
    const token = await tokenFor(healthy.app, "JohnDoe", "johnspassword");
    await healthy.app.close();
    for (const requireExistingUser of [true, false]) {
      ({ app } = await buildApp({ store: createBrokenStore("outage"), requireExistingUser, after: protectedRoute }));
      const response = await app.inject({
        method: "GET",
        url: "/private",
        headers: { authorization: `Bearer ${token}` },
      });
      if (requireExistingUser) {
        expect(response.statusCode).toBe(503);
        expect(response.headers["retry-after"]).toBe("5");
      } else {
        expect(response.statusCode).toBe(200);
      }
      await app.close();
    }
  });
});

describe("what the plugin leaves to the host", () => {
  it("makes its decorators visible to the host", async () => {
    const store = createMemoryUserStore();
    ({ app } = await buildApp({ store }));
    expect(app.hasDecorator("authenticate")).toBe(true);
    expect(app.hasDecorator("jwt")).toBe(true);
    expect(app.hasRequestDecorator("user")).toBe(true);
    expect(app.latchkey.store).toBe(store);
  });

  it("keeps its form parser, validator and error handler to its own routes", async () => {
    ({ app } = await buildApp({
      store: createMemoryUserStore(),
      before: (host) => {
        host.post(
          "/host-echo",
          { schema: { body: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] } } },
          async (request) => request.body,
        );
        host.get("/host-boom", async () => {
          throw new Error("host failure");
        });
      },
    }));
    // The host's own Ajv still coerces, as the host configured it.
    const coerced = await app.inject({ method: "POST", url: "/host-echo", payload: { n: "5" } });
    expect(coerced.json()).toEqual({ n: 5 });
    // The host did not ask for form bodies, so its routes still refuse them.
    const form = await app.inject({ method: "POST", url: "/host-echo", headers: FORM_HEADERS, payload: "n=5" });
    expect(form.statusCode).toBe(415);
    expect(form.json().code).toBe("FST_ERR_CTP_INVALID_MEDIA_TYPE");
    // The host's errors keep Fastify's default handler.
    const boom = await app.inject({ method: "GET", url: "/host-boom" });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toMatchObject({ message: "host failure" });
  });

  it("works alongside a host that registered @fastify/formbody itself", async () => {
    ({ app } = await buildApp({ store: createMemoryUserStore(), before: (host) => host.register(fastifyFormbody) }));
    expectStatus(await signUp(app, "JohnDoe", "johnspassword"), 201);
    expectStatus(await logIn(app, "JohnDoe", "johnspassword"), 200);
  });

  it("works on a host with ignoreTrailingSlash", async () => {
    ({ app } = await buildApp({
      store: createMemoryUserStore(),
      routerOptions: { ignoreTrailingSlash: true },
    }));
    expectStatus(await signUp(app, "JohnDoe", "johnspassword", "/users/"), 201);
    expectStatus(await signUp(app, "Other", "johnspassword", "/users"), 201);
  });

  it("works on a host with ignoreTrailingSlash and a prefix", async () => {
    ({ app } = await buildApp({
      store: createMemoryUserStore(),
      prefix: "/auth",
      routerOptions: { ignoreTrailingSlash: true },
    }));
    expectStatus(await signUp(app, "JohnDoe", "johnspassword", "/auth/users/"), 201);
    expectStatus(await signUp(app, "Other", "johnspassword", "/auth/users"), 201);
  });
});
