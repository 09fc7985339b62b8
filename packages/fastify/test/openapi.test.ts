import fastifySwagger from "@fastify/swagger";
import { createMemorySessionStore, createMemoryUserStore } from "@latchkey/core";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "./fixtures/app.js";

interface Operation {
  requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown>; required?: string[] } }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
}

let app: FastifyInstance;
let paths: Record<string, Record<string, Operation>>;

beforeAll(async () => {
  ({ app } = await buildApp({
    store: createMemoryUserStore(),
    before: (host) => host.register(fastifySwagger, { openapi: { info: { title: "t", version: "1" } } }),
  }));
  paths = (app.swagger() as unknown as { paths: typeof paths }).paths;
});
afterAll(() => app?.close());

const statuses = (operation: Operation | undefined) => Object.keys(operation?.responses ?? {}).sort();

describe("OpenAPI from the route schemas", () => {
  it("documents POST /users/ and /users: a JSON body and every status", () => {
    for (const path of ["/users/", "/users"]) {
      const operation = paths[path]?.post;
      const body = operation?.requestBody?.content["application/json"]?.schema;
      expect(Object.keys(body?.properties ?? {})).toEqual(["username", "password"]);
      expect(body?.required).toEqual(["username", "password"]);
      expect(statuses(operation)).toEqual(["201", "409", "413", "415", "422", "429", "500", "503"]);
    }
  });

  it("documents a 201 body that can hold nothing but the username", () => {
    const schema = paths["/users/"]?.post?.responses["201"]?.content?.["application/json"]?.schema;
    expect(schema).toMatchObject({ additionalProperties: false, properties: { username: { type: "string" } } });
    expect(Object.keys(schema?.properties as object)).toEqual(["username"]);
  });

  it("documents POST /token: a form body and every status", () => {
    const operation = paths["/token"]?.post;
    const form = operation?.requestBody?.content["application/x-www-form-urlencoded"]?.schema;
    expect(Object.keys(form?.properties ?? {})).toEqual([
      "username",
      "password",
      "refresh_token",
      "grant_type",
      "scope",
      "client_id",
      "client_secret",
    ]);
    expect(statuses(operation)).toEqual(["200", "400", "401", "413", "415", "422", "429", "500", "503"]);
    expect(operation?.responses["200"]?.content?.["application/json"]?.schema).toMatchObject({
      additionalProperties: false,
      required: ["access_token", "token_type", "expires_in"],
    });
    expect(Object.keys(operation?.responses["200"]?.content?.["application/json"]?.schema?.properties ?? {})).toEqual([
      "access_token",
      "token_type",
      "expires_in",
      "refresh_token",
      "refresh_expires_in",
    ]);
  });

  it("documents GET /users/me and the error body on every error status", () => {
    expect(statuses(paths["/users/me"]?.get)).toEqual(["200", "401", "500", "503"]);
    for (const [path, method] of [
      ["/users/", "post"],
      ["/token", "post"],
      ["/users/me", "get"],
    ] as const) {
      const responses = paths[path]?.[method]?.responses ?? {};
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) < 400) continue;
        expect(response.description, `${method} ${path} ${status}`).toBeTruthy();
        const schema = response.content?.["application/json"]?.schema;
        expect(Object.keys(schema?.properties as object), `${method} ${path} ${status}`).toEqual([
          "detail",
          "code",
          "field",
          "error",
          "error_description",
        ]);
      }
    }
  });

  it("documents the logout, revocation, account and session routes with their errors (with a session store)", async () => {
    const store = createMemoryUserStore();
    const { app: host } = await buildApp({
      store,
      sessionStore: createMemorySessionStore({ users: store }),
      before: (h) => h.register(fastifySwagger, { openapi: { info: { title: "t", version: "1" } } }),
    });
    const spec = (host.swagger() as unknown as { paths: typeof paths }).paths;
    const expected: [string, string, string[]][] = [
      ["/logout", "post", ["204", "401", "415", "422", "500", "503"]],
      ["/revoke", "post", ["200", "400", "413", "415", "422", "429", "500", "503"]],
      ["/users/me/password", "post", ["200", "401", "413", "415", "422", "429", "500", "503"]],
      ["/users/me", "delete", ["204", "401", "413", "415", "422", "429", "500", "503"]],
      ["/users/me/sessions", "get", ["200", "401", "500", "503"]],
      ["/users/me/sessions/{id}", "delete", ["204", "401", "404", "500", "503"]],
    ];
    for (const [path, method, codes] of expected) {
      const operation = spec[path]?.[method];
      expect(statuses(operation), `${method} ${path}`).toEqual(codes);
      for (const [status, response] of Object.entries(operation?.responses ?? {})) {
        expect(response.description, `${method} ${path} ${status}`).toBeTruthy();
      }
    }
    const revokeForm = spec["/revoke"]?.post?.requestBody?.content["application/x-www-form-urlencoded"]?.schema;
    expect(Object.keys(revokeForm?.properties ?? {})).toEqual([
      "token",
      "token_type_hint",
      "client_id",
      "client_secret",
    ]);
    const session = spec["/users/me/sessions"]?.get?.responses["200"]?.content?.["application/json"]?.schema;
    expect(JSON.stringify(session)).toContain("user_agent");
    // Without a session store there is nothing to log out of: only the account routes exist.
    expect(paths["/logout"]).toBeUndefined();
    expect(paths["/users/me/password"]?.post).toBeDefined();
    await host.close();
  });

  it("documents the JWKS and the RFC 8414 metadata, at the root whatever the prefix", async () => {
    const { app: host } = await buildApp({
      store: createMemoryUserStore(),
      prefix: "/auth",
      before: (h) => h.register(fastifySwagger, { openapi: { info: { title: "t", version: "1" } } }),
    });
    const spec = (host.swagger() as unknown as { paths: typeof paths }).paths;
    expect(statuses(spec["/.well-known/jwks.json"]?.get)).toEqual(["200", "304"]);
    expect(statuses(spec["/.well-known/oauth-authorization-server"]?.get)).toEqual(["200"]);
    const jwk = JSON.stringify(
      spec["/.well-known/jwks.json"]?.get?.responses["200"]?.content?.["application/json"]?.schema,
    );
    expect(jwk).toContain("kid");
    await host.close();
  });

  it("lists no security requirement unless the host names its scheme", () => {
    expect((paths["/users/me"]?.get as { security?: unknown })?.security).toBeUndefined();
  });

  it("puts the host's security scheme on GET /users/me, so Authorize in the docs works", async () => {
    const { app: host } = await buildApp({
      store: createMemoryUserStore(),
      openApiSecurityScheme: "bearerAuth",
      before: (h) =>
        h.register(fastifySwagger, {
          openapi: {
            info: { title: "t", version: "1" },
            components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
          },
        }),
    });
    const spec = host.swagger() as unknown as { paths: Record<string, Record<string, { security?: unknown }>> };
    expect(spec.paths["/users/me"]?.get?.security).toEqual([{ bearerAuth: [] }]);
    expect(spec.paths["/token"]?.post?.security).toBeUndefined();
    await host.close();
  });
});
